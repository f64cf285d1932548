//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore
import Synchronization

/// A fixed-size byte ring. Bytes are produced at the tail and consumed at the
/// head; both the readable bytes and the free space can wrap around the end.
@safe public final class ByteRing {
  let storage: UnsafeMutableRawBufferPointer
  /// The index of the first readable byte.
  public private(set) var head = 0
  /// The number of bytes produced and not yet consumed.
  public private(set) var readable = 0
  /// The extractions that still hold the ring (a retention probe for tests).
  public var heldExtractions: Int { holds.count.load(ordering: .relaxed) }
  /// Counted apart from the ring, and atomically: a retention may be released
  /// on another thread (an I/O completion), so its release closure is
  /// `@Sendable` and captures only this.
  let holds = Holds()
  final class Holds: Sendable { let count = Atomic<Int>(0) }

  /// Creates an empty ring of `capacity` bytes.
  ///
  /// - Throws: `IterError.invalidArgument` unless `capacity > 0`.
  public init(capacity: Int) throws(IterError) {
    guard capacity > 0 else {
      throw .invalidArgument(argument: "capacity", value: capacity, reason: "must be positive")
    }
    unsafe storage = .allocate(byteCount: capacity, alignment: 64)
  }
  deinit { unsafe storage.deallocate() }

  /// The size of the ring's storage, in bytes.
  public var capacity: Int { unsafe storage.count }
  /// The number of bytes that can be produced before the ring is full.
  public var free: Int { capacity - readable }

  /// The readable bytes, for a source cursor.
  public var readableRegion: RingRegion { RingRegion(self, start: head, count: readable, directions: .source) }
  /// The free space, for a destination cursor.
  public var freeRegion: RingRegion {
    RingRegion(self, start: (head + readable) % capacity, count: free, directions: .destination)
  }

  /// Records that a cursor over ``freeRegion`` wrote `n` bytes.
  ///
  /// - Throws: `IterError.invalidArgument` unless `0 <= n <= free`; the ring is then unchanged.
  public func produced(_ n: Int) throws(IterError) {
    guard n >= 0 && n <= free else { throw .invalidArgument(argument: "n", value: n, reason: "free is \(free)") }
    readable += n
  }
  /// Records that a cursor over ``readableRegion`` read `n` bytes.
  ///
  /// - Throws: `IterError.invalidArgument` unless `0 <= n <= readable`; the ring is then unchanged.
  public func consumed(_ n: Int) throws(IterError) {
    guard n >= 0 && n <= readable else {
      throw .invalidArgument(argument: "n", value: n, reason: "readable is \(readable)")
    }
    head = (head + n) % capacity
    readable -= n
  }
}

/// `count` bytes of a ring's storage from `start`, as two segments: up to the
/// end of the storage, then from its start (empty when nothing wraps).
///
/// A region is a snapshot: after the ring produces or consumes, take a new one.
public struct RingRegion: IterSegmentSource {
  /// The ring; holding it keeps the storage alive while a cursor exists.
  public let ring: ByteRing
  /// The bytes from `start` up to the end of the storage.
  public let first: IterSegment
  /// The bytes that wrapped to the start of the storage.
  public let second: IterSegment
  /// `.source` for the readable bytes, `.destination` for the free space.
  public let supportedDirections: IterDirections

  init(_ ring: ByteRing, start: Int, count: Int, directions: IterDirections) {
    let base = unsafe ring.storage.baseAddress!
    let firstCount = min(count, ring.capacity - start)
    self.ring = ring
    self.first = unsafe IterSegment(base: base + start, count: firstCount)
    self.second = unsafe IterSegment(base: base, count: count - firstCount)
    self.supportedDirections = directions
  }

  /// Always 2: ``first`` and ``second``.
  @inlinable public var segmentCount: Int { 2 }
  /// ``first`` for index 0, ``second`` for index 1.
  @inlinable public func segment(at index: Int) -> IterSegment { index == 0 ? first : second }
  /// `byte-ring`.
  public var memoryKind: IterMemoryKind { IterMemoryKind("byte-ring") }
  /// `.ownerReference`: an extraction keeps the ring alive, whatever the options.
  public func retention(for options: IterExtractionOptions) -> IterRetentionKind { .ownerReference }

  /// Lists the pages under the rest of the current segment (a run never
  /// crosses the wrap) and holds the ring until the extraction is released.
  public func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction {
    try IterExtraction.singleSegmentRun(of: self, at: position, maxBytes: maxBytes, maxPages: maxPages) {
      _, _ throws(IterError) in
      let holds = ring.holds
      holds.count.add(1, ordering: .relaxed)
      return IterRetention(kind: .ownerReference) { holds.count.subtract(1, ordering: .relaxed) }
    }
  }
}
