//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
public import IterCore

/// Owned, page-aligned memory that test doubles describe.
final class _DoubleStorage: @unchecked Sendable {
  // Safe because the storage is written only through the cursors a test builds.
  let base: UnsafeMutableRawPointer
  let size: Int

  init(bytes: [UInt8], extra: Int) {
    let pageSize = IterPage.size
    let needed = max(pageSize, (bytes.count + extra + pageSize - 1) / pageSize * pageSize)
    var p: UnsafeMutableRawPointer? = nil
    precondition(posix_memalign(&p, pageSize, needed) == 0, "posix_memalign(\(needed)) failed")
    base = p!
    size = needed
    memset(base, 0, needed)
  }

  deinit { free(base) }
}

/// A source with caller-chosen segment boundaries over memory it owns, for
/// testing code that must not depend on where one segment ends and the next
/// begins (after swift-collections' `StaccatoContainer`).
///
/// ```swift
/// let source = StaccatoSource(contents: Array(0..<10), segmentSizes: [3, 0, 1, 6])
/// ```
///
/// Segments are laid out back to back unless `gaps` asks for a gap after
/// each, so that neighbouring segments are not virtually contiguous.
///
/// Sendable (checked by hand): its storage is written once, when it is made, and only read after.
public struct StaccatoSource: IterSegmentSource, @unchecked Sendable {
  // Safe because the storage is written only through the cursors a test builds.
  let storage: _DoubleStorage
  let segments: [IterSegment]

  /// The memory kind reported; the default is `IterMemoryKind.user`.
  public var memoryKind: IterMemoryKind

  /// Creates a source holding `contents`, cut into segments of `segmentSizes`.
  ///
  /// - Precondition: `segmentSizes` are not negative and add up to `contents.count`.
  public init(
    contents: [UInt8], segmentSizes: [Int], gaps: Int = 0, memoryKind: IterMemoryKind = .user
  ) {
    precondition(
      segmentSizes.allSatisfy { $0 >= 0 } && segmentSizes.reduce(0, +) == contents.count,
      "segment sizes \(segmentSizes) do not add up to \(contents.count) bytes")
    let storage = _DoubleStorage(bytes: contents, extra: gaps * segmentSizes.count)
    self.storage = storage
    var at = 0
    var consumed = 0
    var result: [IterSegment] = []
    for size in segmentSizes {
      result.append(IterSegment(base: storage.base + at, count: size))
      contents.withUnsafeBytes { raw in
        if size > 0 { (storage.base + at).copyMemory(from: raw.baseAddress! + consumed, byteCount: size) }
      }
      at += size + gaps
      consumed += size
    }
    segments = result
    self.memoryKind = memoryKind
  }

  /// Creates a source holding `contents`, cut at random boundaries drawn from
  /// `seed`, with empty and one-byte segments mixed in.
  public init(contents: [UInt8], seed: UInt64, gaps: Int = 0) {
    var rng = SeededGenerator(seed: seed)
    let sizes = randomSegmentSizes(total: contents.count, maxSegments: 256, using: &rng)
    self.init(contents: contents, segmentSizes: sizes, gaps: gaps)
  }

  /// The number of segments, as given (empty ones included).
  public var segmentCount: Int { segments.count }
  /// The segment at `index`, where `0 <= index < segmentCount`.
  public func segment(at index: Int) -> IterSegment { segments[index] }
}

/// A source that exposes one byte per segment: the worst case for code that
/// gathers or exports segments (the trickle source of the `bytes` crate's
/// reordering bug #701).
///
/// Sendable (checked by hand): its storage is written once, when it is made, and only read after.
public struct OneBytePerSegmentSource: IterSegmentSource, @unchecked Sendable {
  let storage: _DoubleStorage
  let byteCount: Int

  /// Creates a source holding `contents`, one byte per segment.
  public init(contents: [UInt8]) {
    let storage = _DoubleStorage(bytes: contents, extra: 0)
    self.storage = storage
    contents.withUnsafeBytes { raw in
      if !contents.isEmpty { storage.base.copyMemory(from: raw.baseAddress!, byteCount: contents.count) }
    }
    byteCount = contents.count
  }

  /// One segment per byte.
  public var segmentCount: Int { byteCount }
  /// The byte at `index`, as a one-byte segment.
  public func segment(at index: Int) -> IterSegment { IterSegment(base: storage.base + index, count: 1) }
}
