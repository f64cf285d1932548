//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore
internal import IterPageFragment

/// A buffer kind over a scatterlist: a cursor walks the table's entries as
/// segments, one per entry.
///
/// ```swift
/// let source = try ScatterlistSource(table)          // checks every entry once
/// var iter = try IovIter(source, direction: .source)
/// let header = try iter.read(upTo: 64)
/// ```
///
/// This is the kernel's rejected `ITER_SCATTERLIST`, as a plugin: the core
/// knows nothing about scatterlists. The source is a snapshot of the
/// table's first ``ScatterlistTable/origNents`` entries, taken and checked
/// when it is made, so later changes to the arrays do not move under a
/// cursor; revert works like every other kind's (the RFC had to restart
/// from the head, because a chained list has no back pointers).
///
/// Extraction lists the pages of one entry per call (the pages of a
/// multi-page pool entry are consecutive frames, listed with their frame
/// numbers) and holds nothing (`IterRetentionKind.none`): the table's
/// owner keeps the pages alive, as the kernel's rule for `ITER_BVEC` is.
///
/// The corresponding kernel type is `ITER_SCATTERLIST` (RFC, not merged).
///
/// Not Sendable: it keeps the table's entries, and a chain entry refers to a
/// ``ScatterlistArray``, which is written in place.
public struct ScatterlistSource: IterSegmentSource {
  @usableFromInline
  internal let _segments: ContiguousArray<IterSegment>
  internal let _entries: [ScatterlistEntry]
  /// The pools of multi-page entries, kept alive with the source.
  internal let _pools: [PagePool]

  /// A source over the first ``ScatterlistTable/origNents`` entries of `table`.
  ///
  /// - Throws: `IterError.invalidSegment(index:count:reason:)` when the
  ///   list is shorter than `origNents`, cyclic, missing its end marker,
  ///   linked nowhere, or has an entry without a page, not page-aligned,
  ///   outside the 32-bit fields, or running past its page (or its pool);
  ///   `IterError.lengthOverflow(total:limit:)` when the lengths overflow.
  /// - Complexity: O(*n*) for *n* entries.
  public init(_ table: ScatterlistTable) throws(IterError) {
    var segments: ContiguousArray<IterSegment> = []
    var entries: [ScatterlistEntry] = []
    var pools: [PagePool] = []
    var total = 0
    for (i, slot) in try table.slots().enumerated() {
      let e = slot.entry
      let start = try e._validatedStart(index: i)
      let (sum, overflow) = total.addingReportingOverflow(e.length)
      if overflow { throw .lengthOverflow(total: total, limit: Int.max) }
      total = sum
      if let pool = e.pool, !pools.contains(where: { $0 === pool }) { pools.append(pool) }
      segments.append(unsafe IterSegment(base: UnsafeMutableRawPointer(bitPattern: start), count: e.length))
      entries.append(e)
    }
    _segments = segments
    _entries = entries
    _pools = pools
  }

  /// The entries the source walks, as they were when it was made.
  public var entries: [ScatterlistEntry] { _entries }

  /// The number of entries.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var segmentCount: Int { _segments.count }

  /// Entry `index`'s bytes.
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

  /// `scatterlist`.
  public var memoryKind: IterMemoryKind { .scatterlist }

  /// Lists the pages of the entry at `position` (from the position, at most
  /// `maxBytes` and `maxPages`), holding nothing.
  ///
  /// - Throws: The argument errors of
  ///   `IterExtraction.validateArguments(of:at:maxBytes:maxPages:)`.
  /// - Complexity: O(*p*) for *p* pages, plus the empty entries skipped.
  ///
  /// The corresponding kernel function is `iov_iter_extract_pages`.
  public func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction {
    guard try IterExtraction.validateArguments(of: self, at: position, maxBytes: maxBytes, maxPages: maxPages)
    else { return .empty }
    var index = position.segmentIndex
    var skip = position.offset
    let pageSize = IterPage.size
    while index < _entries.count {
      let e = _entries[index]
      let size = min(maxBytes, e.length - skip)
      if size > 0 {
        let runStart = e.offset + skip
        let offset = runStart % pageSize
        let spanned = (offset + size + pageSize - 1) / pageSize
        let pageCount = min(spanned, maxPages)
        let length = pageCount == spanned ? size : pageCount * pageSize - offset
        var pages: [IterPage] = []
        pages.reserveCapacity(pageCount)
        for k in 0..<pageCount {
          pages.append(e._page(atRunOffset: runStart - offset + k * pageSize))
        }
        return IterExtraction(pages: pages, offset: offset, count: length, retention: IterRetention())
      }
      index += 1
      skip = 0
    }
    return .empty
  }
}

extension IterMemoryKind {
  /// Pages described by a scatterlist (the kernel's `ITER_SCATTERLIST` RFC).
  public static let scatterlist = IterMemoryKind("scatterlist")
}

@available(*, unavailable, message: "its entries may refer to ScatterlistArrays, which are written in place")
extension ScatterlistSource: Sendable {}
