//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// An ordered list of ranges in slab objects and virtual regions: the
/// kernel's `ITER_KVEC` buffer kind.
///
/// Each entry (a ``KVec``) is checked when it is added: its offset and length
/// must not be negative and the range must lie inside its allocation. The
/// array holds a strong reference to every entry's owner, so a cursor over it
/// (which holds a copy of the array) can never reach unmapped memory.
///
/// ```swift
/// let cache = try SlabAllocator(objectSize: 64)
/// let header = try cache.allocate()
/// let payload = try VirtualAllocator.shared.allocate(byteCount: 65536)
/// let kvecs = try KVecArray([KVec(header, offset: 0, count: 40), KVec(payload)])
/// var iter = try IovIter(kvecs, direction: .source)
/// ```
///
/// Both directions are supported. Page extraction lists one entry's pages per
/// call, as the kernel does, and holds the entry's owner
/// (`IterRetentionKind.ownerReference`) until the retention is
/// released; see ``extractPages(at:maxBytes:maxPages:options:)``.
///
/// The array is a value: appending to it does not change cursors built
/// before.
///
/// The corresponding kernel function is `iov_iter_kvec`, over an array of
/// `struct kvec`.
///
/// Sendable: a value array of segments and `Sendable` owners.
public struct KVecArray: IterSegmentSource {
  /// The entries as segments (the hot path reads only these).
  @usableFromInline
  internal var _segments: ContiguousArray<IterSegment>

  /// The owner of each entry, strongly held.
  @usableFromInline
  internal var _owners: ContiguousArray<KernelVirtualAllocation>

  /// The sum of the entries' lengths.
  @usableFromInline
  internal var _byteCount: Int

  /// An empty array.
  ///
  /// - Complexity: O(1).
  public init() {
    self._segments = []
    self._owners = []
    self._byteCount = 0
  }

  /// Creates an array of `entries`, checking each one.
  ///
  /// - Parameter entries: The ranges, in order. Empty ones are kept and
  ///   skipped by cursors, as in the kernel.
  /// - Throws: `IterError.invalidSegment(index:count:reason:)` for
  ///   the first entry with a negative offset or length, or a range outside
  ///   its allocation; `IterError.lengthOverflow(total:limit:)` if
  ///   the lengths add up past `Int.max`. Nothing is created when it throws.
  /// - Complexity: O(*n*) for *n* entries.
  ///
  /// The corresponding kernel function is `iov_iter_kvec`.
  public init<S: Sequence<KVec>>(_ entries: S) throws(IterError) {
    self.init()
    let n = entries.underestimatedCount
    _segments.reserveCapacity(n)
    _owners.reserveCapacity(n)
    for entry in entries { try append(entry) }
  }

  /// Appends `entry` after checking it.
  ///
  /// - Throws: `IterError.invalidSegment(index:count:reason:)` for a
  ///   negative offset or length, or a range outside the allocation;
  ///   `IterError.lengthOverflow(total:limit:)` if the total would
  ///   pass `Int.max`. The array is unchanged when it throws.
  /// - Complexity: Amortised O(1).
  public mutating func append(_ entry: KVec) throws(IterError) {
    let (offset, count) = (entry.offset, entry.count)
    let total = try IterError._checkedRange(
      index: _segments.count, offset: offset, count: count, size: entry.owner.byteCount,
      container: "allocation", total: _byteCount)
    _segments.append(entry.owner._segment(offset: offset, count: count))
    _owners.append(entry.owner)
    _byteCount = total
  }

  /// Appends `count` bytes at `offset` in `owner`; see ``append(_:)``.
  ///
  /// - Complexity: Amortised O(1).
  public mutating func append(
    _ owner: KernelVirtualAllocation, offset: Int, count: Int
  ) throws(IterError) {
    try append(KVec(owner, offset: offset, count: count))
  }

  /// The number of entries.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var count: Int { _segments.count }

  /// The sum of the entries' lengths.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var byteCount: Int { _byteCount }

  /// The entry at `index`, where `0 <= index < count`.
  ///
  /// - Complexity: O(1).
  public subscript(index: Int) -> KVec {
    let owner = _owners[index]
    let segment = _segments[index]
    return KVec(
      owner, offset: Int(bitPattern: segment.address &- owner.address), count: segment.count)
  }

  /// The entries, in order.
  ///
  /// - Complexity: O(*n*).
  public var entries: [KVec] { (0..<count).map { self[$0] } }

  // MARK: - IterSegmentSource

  /// The number of entries, including empty ones.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var segmentCount: Int { _segments.count }

  /// The entry at `index` as a segment.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func segment(at index: Int) -> IterSegment { _segments[index] }

  /// The segments from `index` on, straight from the array: bulk access for
  /// the cursor's hot loops.
  ///
  /// - Complexity: O(1), plus `body`'s cost.
  @inlinable
  public func withContiguousSegments<R, E: Error>(
    from index: Int, _ body: (UnsafeBufferPointer<IterSegment>) throws(E) -> R
  ) throws(E) -> R? {
    try unsafe _segments.withContiguousSegments(from: index, body)
  }

  /// `IterMemoryKind.kernelVirtual`.
  @inlinable
  public var memoryKind: IterMemoryKind { .kernelVirtual }

  /// Both directions: the library's allocations can be read and written.
  @inlinable
  public var supportedDirections: IterDirections { .both }
}

extension KVecArray: Sendable {}
