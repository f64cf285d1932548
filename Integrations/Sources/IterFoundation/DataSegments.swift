//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import Foundation
public import IterCore
public import IterKernelVirtual

/// The largest `Data` that keeps its bytes inline, in the value itself, rather
/// than in heap storage (14 bytes on 64-bit platforms). A pointer to inline
/// bytes is only valid inside the call that lent it, so the kinds here copy
/// such small regions once, into storage they own, and use every larger one
/// in place.
@usableFromInline
internal let _dataInlineCapacity = 14

/// A region of bytes the kinds here can point at for as long as they hold
/// `owner`: the region itself when its bytes live in heap storage, or a copy
/// of its bytes when they might live inline.
internal func _stableBytes<R: ContiguousBytes>(
  of region: R, count: Int
) -> (owner: any Sendable, base: UnsafeMutableRawPointer?) {
  if count <= _dataInlineCapacity {
    let copy = region.withUnsafeBytes { [UInt8]($0) }
    return (copy, copy.withUnsafeBytes { $0.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) } })
  }
  return (_Held(region), region.withUnsafeBytes { $0.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) } })
}

/// Keeps a value alive for a retention that may be released on another
/// thread. Unchecked because `DispatchData` and its regions are not marked
/// `Sendable` on Linux, though their storage is immutable and reference
/// counted atomically: the box is only ever dropped, never read, after the
/// kind took the value's address.
internal struct _Held<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}

/// Segments over foreign allocations, one per non-empty piece, holding each
/// piece's owner; shared by the Foundation kinds.
@usableFromInline
internal struct _OwnedSegments {
  @usableFromInline let kvecs: KVecArray
  let allocations: [ForeignAllocation]

  init(_ pieces: [(owner: any Sendable, base: UnsafeMutableRawPointer?, count: Int)]) {
    var kvecs = KVecArray()
    var allocations: [ForeignAllocation] = []
    for piece in pieces where piece.count > 0 {
      // Neither can throw: the count is positive and the entry is the whole allocation.
      guard let base = piece.base,
        let allocation = try? ForeignAllocation(unsafeBase: base, count: piece.count, owner: piece.owner),
        (try? kvecs.append(KVec(allocation))) != nil
      else { continue }
      allocations.append(allocation)
    }
    self.kvecs = kvecs
    self.allocations = allocations
  }

  var heldExtractions: Int { allocations.reduce(0) { $0 + $1.extractionRetentionCount } }
}

/// A source-only buffer kind over the regions of any `DataProtocol` value: one
/// segment per region, in order, so a `DispatchData` made of several buffers
/// is read without joining them.
///
/// The kind holds the value, and each region (or, for a region of at most
/// 14 bytes, which `Data` may keep inline, a copy of it) as the owner of a
/// `ForeignAllocation`: an extraction holds
/// `IterRetentionKind.ownerReference` on its region until released. A
/// region type must keep its bytes in storage that lives as long as the
/// region does (`Data`, `DispatchData`'s regions, `[UInt8]` and their slices
/// do). A source cursor never writes.
///
/// ```swift
/// var iter = try IovIter(DataRegionsSegments(dispatchData), direction: .source)
/// try iter.writeAll(to: socket)       // IterIO: one writev over every region
/// ```
public struct DataRegionsSegments<Bytes: DataProtocol>: IterSegmentSource {
  /// The value whose regions the segments describe.
  public let bytes: Bytes

  @usableFromInline
  internal let _segments: _OwnedSegments

  /// The regions of `bytes`, as a source.
  ///
  /// - Complexity: O(*r*) for *r* regions, plus a copy of each region of at
  ///   most 14 bytes.
  public init(_ bytes: Bytes) {
    self.bytes = bytes
    self._segments = _OwnedSegments(
      bytes.regions.map { region in
        let (owner, base) = _stableBytes(of: region, count: region.count)
        return (owner, base, region.count)
      })
  }

  /// The extraction retentions that hold one of the regions right now.
  ///
  /// - Complexity: O(*r*) for *r* regions.
  public var heldExtractions: Int { _segments.heldExtractions }

  /// One per non-empty region.
  @inlinable public var segmentCount: Int { _segments.kvecs.segmentCount }

  /// The bytes of the `index`th non-empty region.
  @inlinable public func segment(at index: Int) -> IterSegment { _segments.kvecs.segment(at: index) }

  /// `data-regions`.
  public var memoryKind: IterMemoryKind { IterMemoryKind("data-regions") }

  /// `.source`: the regions are read, never written.
  public var supportedDirections: IterDirections { .source }

  /// `.ownerReference`, whatever the options: an extraction holds its region.
  public func retention(for options: IterExtractionOptions) -> IterRetentionKind { .ownerReference }

  /// Lists the pages under the rest of the next region (a run never leaves
  /// one region) and holds it until the extraction is released.
  ///
  /// - Parameters:
  ///   - position: Where the run starts.
  ///   - maxBytes: At most this many bytes.
  ///   - maxPages: At most this many pages; at least 1.
  ///   - options: Ignored: the retention is the same for every option set.
  /// - Returns: The pages, the offset into the first, the length and an owner retention.
  /// - Throws: The typed errors of `IterExtraction.validateArguments(of:at:maxBytes:maxPages:)`.
  /// - Complexity: O(*p*) for *p* pages.
  public func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction {
    try _segments.kvecs.extractPages(at: position, maxBytes: maxBytes, maxPages: maxPages, options: options)
  }
}

/// A buffer kind over one `Data`, for both directions: read its bytes as a
/// source, or write them as a destination and take the result back from
/// ``data``.
///
/// **Copy-on-write.** The kind takes the `Data` by value and makes its
/// storage its own (a `Data` whose storage is shared is copied first, as any
/// mutation copies it), so writes through a cursor never reach the caller's
/// copies; ``data`` hands back the written bytes. A `Data` of at most 14
/// bytes, which may keep its bytes inline, is copied into an array the kind
/// owns instead, and ``data`` copies it back.
///
/// ```swift
/// let target = DataSegments(Data(count: 4096))
/// var iter = try IovIter(target, direction: .destination)
/// _ = try iter.readAll(from: fd)      // IterIO
/// let received = target.data
/// ```
public struct DataSegments: IterSegmentSource {
  @usableFromInline
  internal let _segments: _OwnedSegments

  private let _owner: any Sendable

  /// A kind over the bytes of `data`, on storage of its own.
  ///
  /// - Complexity: O(1), or a copy of the bytes when their storage is shared
  ///   or they are at most 14.
  public init(_ data: Data) {
    let count = data.count
    if count <= _dataInlineCapacity {
      var copy = [UInt8](data)
      let base = copy.withUnsafeMutableBytes { $0.baseAddress }
      self._owner = copy
      self._segments = _OwnedSegments([(copy, base, count)])
    } else {
      // A mutable access makes the storage unique and gives its address in
      // the same step; nothing mutates it through a copy afterwards.
      var owned = data
      let base = owned.withUnsafeMutableBytes { $0.baseAddress }
      self._owner = owned
      self._segments = _OwnedSegments([(owned, base, count)])
    }
  }

  /// The bytes, as a destination cursor left them.
  ///
  /// - Complexity: O(1), or a copy of at most 14 bytes.
  public var data: Data {
    switch _owner {
    case let data as Data: data
    case let array as [UInt8]: Data(array)
    default: Data()
    }
  }

  /// The extraction retentions that hold the bytes right now.
  ///
  /// - Complexity: O(1).
  public var heldExtractions: Int { _segments.heldExtractions }

  /// 1, or 0 for an empty `Data`.
  @inlinable public var segmentCount: Int { _segments.kvecs.segmentCount }

  /// The bytes.
  @inlinable public func segment(at index: Int) -> IterSegment { _segments.kvecs.segment(at: index) }

  /// `data`.
  public var memoryKind: IterMemoryKind { IterMemoryKind("data") }

  /// `.both`.
  public var supportedDirections: IterDirections { .both }

  /// `.ownerReference`, whatever the options: an extraction holds the bytes.
  public func retention(for options: IterExtractionOptions) -> IterRetentionKind { .ownerReference }

  /// Lists the pages under the rest of the bytes and holds them until the
  /// extraction is released.
  ///
  /// - Parameters:
  ///   - position: Where the run starts.
  ///   - maxBytes: At most this many bytes.
  ///   - maxPages: At most this many pages; at least 1.
  ///   - options: Ignored: the retention is the same for every option set.
  /// - Returns: The pages, the offset into the first, the length and an owner retention.
  /// - Throws: The typed errors of `IterExtraction.validateArguments(of:at:maxBytes:maxPages:)`.
  /// - Complexity: O(*p*) for *p* pages.
  public func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction {
    try _segments.kvecs.extractPages(at: position, maxBytes: maxBytes, maxPages: maxPages, options: options)
  }
}

extension Data {
  /// Copies the cursor's remaining bytes into a new `Data`, advancing the
  /// cursor to its end, as the kernel's copies advance the iterator they copy
  /// from (`copy_from_iter`).
  ///
  /// - Parameter iter: A source cursor; it is empty afterwards.
  /// - Throws: `IterError.wrongDirection(operation:direction:)` on a
  ///   destination cursor; the cursor's other typed errors. The cursor has
  ///   not moved then.
  /// - Complexity: O(*n* + *s*) for *n* bytes over *s* segments.
  public init<S: IterSegmentSource>(iter: inout IovIter<S>) throws(IterError) {
    var data = Data(count: iter.count)
    // Data's closure rethrows untyped errors, so the typed one travels in a Result.
    let copied = data.withUnsafeMutableBytes { bytes in
      Result { () throws(IterError) in try iter.readFull(into: bytes) }
    }
    try copied.get()
    self = data
  }
}
