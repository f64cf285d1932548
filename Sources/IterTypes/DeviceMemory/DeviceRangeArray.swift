//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// An ordered list of ranges in device apertures: the buffer kind for device
/// memory, which has no pages you can take references on.
///
/// Each entry (a ``DeviceRange``) is checked when it is added: its offset and
/// length must not be negative and the range must lie inside its aperture.
/// The array holds a strong reference to every entry's ``DeviceMemory``, so a
/// cursor over it (which holds a copy of the array) can never reach an
/// unmapped aperture.
///
/// ```swift
/// let bar = try DeviceMemory(byteCount: 1 << 20, busAddress: 0xF000_0000)
/// let ranges = try DeviceRangeArray([DeviceRange(bar, offset: 0, count: 512)])
/// var iter = try IovIter(ranges, direction: .destination)
/// try iter.write(payload)                 // through the CPU mapping
/// ```
///
/// - **Copies** go through the CPU mapping: the cursor's ordinary walk, in
///   both directions.
/// - **Extraction** lists the pages of the CPU mapping under one entry per
///   call (the kernel's `ITER_KVEC` rule) and holds nothing
///   (`IterRetentionKind.none`). Asking it to hold something
///   (`IterExtractionOptions.retain`) is refused with
///   `IterError.extractionUnsupported(kind:)`: device memory has no page
///   reference counts, and taking none while the caller asked for a hold
///   would be a lie. See ``extractPages(at:maxBytes:maxPages:options:)``.
/// - **To a device**, an aperture's bytes are at its bus address; the bridge
///   (`IterBridge`'s `DeviceApertureTranslator`) turns them into chunks
///   flagged as bus addresses that never merge with RAM.
///
/// The array is a value: appending to it does not change cursors built before.
///
/// The corresponding kernel memory is a P2PDMA provider's BAR
/// (`pci_p2pdma_add_resource`), which `iov_iter_extract_pages` lists only with
/// `ITER_ALLOW_P2PDMA` and whose pages are `ZONE_DEVICE` pages that a driver
/// must not treat as ordinary RAM.
///
/// Sendable: a value array of segments and `Sendable` apertures.
public struct DeviceRangeArray: IterSegmentSource {
  /// The entries as segments (the hot path reads only these).
  @usableFromInline
  internal var _segments: ContiguousArray<IterSegment>

  /// The aperture of each entry, strongly held.
  @usableFromInline
  internal var _memories: ContiguousArray<DeviceMemory>

  /// The sum of the entries' lengths.
  @usableFromInline
  internal var _byteCount: Int

  /// An empty array.
  ///
  /// - Complexity: O(1).
  public init() {
    self._segments = []
    self._memories = []
    self._byteCount = 0
  }

  /// Creates an array of `entries`, checking each one.
  ///
  /// - Parameter entries: The ranges, in order. Empty ones are kept and
  ///   skipped by cursors.
  /// - Throws: `IterError.invalidSegment(index:count:reason:)` for the first
  ///   entry with a negative offset or length, or a range outside its
  ///   aperture; `IterError.lengthOverflow(total:limit:)` if the lengths add
  ///   up past `Int.max`. Nothing is created when it throws.
  /// - Complexity: O(*n*) for *n* entries.
  public init<S: Sequence<DeviceRange>>(_ entries: S) throws(IterError) {
    self.init()
    let n = entries.underestimatedCount
    _segments.reserveCapacity(n)
    _memories.reserveCapacity(n)
    for entry in entries { try append(entry) }
  }

  /// Appends `entry` after checking it.
  ///
  /// - Throws: `IterError.invalidSegment(index:count:reason:)` for a negative
  ///   offset or length, or a range outside the aperture;
  ///   `IterError.lengthOverflow(total:limit:)` if the total would pass
  ///   `Int.max`. The array is unchanged when it throws.
  /// - Complexity: Amortised O(1).
  public mutating func append(_ entry: DeviceRange) throws(IterError) {
    let (offset, count) = (entry.offset, entry.count)
    let total = try IterError._checkedRange(
      index: _segments.count, offset: offset, count: count, size: entry.memory.byteCount,
      container: "aperture", total: _byteCount)
    _segments.append(entry.memory._segment(offset: offset, count: count))
    _memories.append(entry.memory)
    _byteCount = total
  }

  /// Appends `count` bytes at `offset` in `memory`; see ``append(_:)``.
  ///
  /// - Complexity: Amortised O(1).
  public mutating func append(_ memory: DeviceMemory, offset: Int, count: Int) throws(IterError) {
    try append(DeviceRange(memory, offset: offset, count: count))
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
  public subscript(index: Int) -> DeviceRange {
    let memory = _memories[index]
    let segment = _segments[index]
    return DeviceRange(memory, offset: Int(bitPattern: segment.address &- memory.address), count: segment.count)
  }

  /// The entries, in order.
  ///
  /// - Complexity: O(*n*).
  public var entries: [DeviceRange] { (0..<count).map { self[$0] } }

  // MARK: - IterSegmentSource

  /// The number of entries, including empty ones.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var segmentCount: Int { _segments.count }

  /// The entry at `index` as a segment of the CPU mapping.
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

  /// `IterMemoryKind.deviceMemory`.
  @inlinable
  public var memoryKind: IterMemoryKind { .deviceMemory }

  /// Both directions: the CPU mapping can be read and written.
  @inlinable
  public var supportedDirections: IterDirections { .both }

  /// `IterRetentionKind.none`, whatever the options.
  ///
  /// Device memory has no pages with reference counts and nothing to pin (it
  /// is not RAM that could be swapped out), and the array already keeps its
  /// apertures mapped. So extraction holds nothing, and with
  /// `IterExtractionOptions.retain` it throws instead of pretending to hold
  /// something (see ``extractPages(at:maxBytes:maxPages:options:)``). The
  /// caller keeps each ``DeviceMemory`` alive while its page lists are used.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `iov_iter_extract_will_pin`, which
  /// is false here.
  @inlinable
  public func retention(for options: IterExtractionOptions) -> IterRetentionKind { .none }

  /// Lists the pages of the CPU mapping under the rest of the next non-empty
  /// entry, at most `maxBytes` bytes and `maxPages` pages, holding nothing.
  ///
  /// One entry per call: the run never continues into the next entry, even
  /// one that follows on in the same aperture. Only the first page has an
  /// offset; pages carry no frame numbers.
  ///
  /// - Parameters:
  ///   - position: Where the run starts.
  ///   - maxBytes: At most this many bytes (clamped by the cursor).
  ///   - maxPages: At most this many pages; at least 1.
  ///   - options: Without `IterExtractionOptions.retain`, the pages are
  ///     listed. With it, the call throws: there are no page references to take.
  /// - Returns: The pages, the offset into the first, the length and an empty
  ///   retention; empty at the end or for `maxBytes` 0.
  /// - Throws: `IterError.extractionUnsupported(kind:)` (naming
  ///   `IterMemoryKind.deviceMemory`) when `options` contains
  ///   `IterExtractionOptions.retain` and there are bytes to list; the
  ///   argument errors of `IterExtraction.validateArguments(of:at:maxBytes:maxPages:)`
  ///   for a direct call with a negative `maxBytes`, `maxPages` below 1 or a
  ///   position outside the array. Nothing is held and a cursor does not move
  ///   when it throws.
  /// - Complexity: O(*p*) for *p* pages, plus empty entries skipped.
  ///
  /// The corresponding kernel function is `iov_iter_extract_pages` (the
  /// `ITER_KVEC` path for a kernel mapping of a BAR).
  public func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction {
    // The closure runs only when there is a non-empty run to hold, after the
    // arguments were checked: an empty extraction is never refused.
    try IterExtraction.singleSegmentRun(
      of: self, at: position, maxBytes: maxBytes, maxPages: maxPages
    ) { _, _ throws(IterError) in
      guard !options.contains(.retain) else { throw .extractionUnsupported(kind: .deviceMemory) }
      return IterRetention()
    }
  }
}

extension DeviceRangeArray: Sendable {}
