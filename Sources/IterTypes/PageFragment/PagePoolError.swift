//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// Everything that can go wrong with a ``PagePool`` or one of its folios.
///
/// The pool's own operations (allocation, `get`, `put`, look-ups) throw this
/// type and leave the pool unchanged. `IterError` has no case for a page
/// that is free, stale or from another pool, so the pool names those itself;
/// where a pool failure surfaces through a cursor (a bio_vec array built over a
/// freed folio, page references taken by extraction), it arrives as
/// `IterError.invalidSegment(index:count:reason:)` whose reason is this
/// error's description.
///
/// Sendable: plain values.
public enum PagePoolError: Error, Hashable, Sendable {
  /// A pool must have between 1 and `limit` pages.
  case invalidPageCount(requested: Int, limit: Int)

  /// The order is negative or larger than the pool's ``PagePool/maxOrder``
  /// (the kernel's `MAX_PAGE_ORDER`).
  case invalidOrder(order: Int, maxOrder: Int)

  /// No free block of `2^order` aligned pages is left; `freePages` counts
  /// every free page, which may be more than `2^order` when the free pages are
  /// scattered.
  case exhausted(order: Int, freePages: Int)

  /// The page or folio is free: its reference count is 0, so there is nothing
  /// to get or put (a put on a free page, say).
  case notAllocated(frame: Int)

  /// The handle names an earlier allocation of these pages: the folio was
  /// freed and its pages were handed out again.
  case staleFolio(frame: Int, order: Int)

  /// The page or folio does not come from this pool's arena.
  case foreignPage(address: UInt)

  /// The reference count would pass `limit` (the kernel refuses a
  /// `try_get_page` on a count that close to overflowing).
  case referenceOverflow(frame: Int, limit: Int)

  /// `mmap(2)` could not reserve the arena.
  case mapFailed(bytes: Int, errno: Int32)
}

extension PagePoolError: CustomStringConvertible {
  /// A sentence that names the problem and its values.
  public var description: String {
    switch self {
    case .invalidPageCount(let requested, let limit):
      "a page pool needs 1...\(limit) pages (asked for \(requested))"
    case .invalidOrder(let order, let maxOrder):
      "order \(order) is outside 0...\(maxOrder)"
    case .exhausted(let order, let freePages):
      "no free aligned block of order \(order) (\(freePages) pages free in all)"
    case .notAllocated(let frame):
      "the page at frame \(frame) is free (reference count 0)"
    case .staleFolio(let frame, let order):
      "the order-\(order) folio at frame \(frame) was freed and its pages reused"
    case .foreignPage(let address):
      "0x\(String(address, radix: 16)) is not in this pool's arena"
    case .referenceOverflow(let frame, let limit):
      "the reference count of the folio at frame \(frame) would pass \(limit)"
    case .mapFailed(let bytes, let errno):
      "mmap of \(bytes) bytes failed with errno \(errno)"
    }
  }
}
