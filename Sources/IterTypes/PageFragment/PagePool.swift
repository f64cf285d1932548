//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

internal import Glibc
public import IterCore
internal import Synchronization

/// A thread-safe pool of pages and higher-order folios over one arena of
/// memory reserved with `mmap(2)`.
///
/// The pool is the user-space stand-in for the kernel's page allocator. It
/// hands out ``Folio`` values: an order-*n* folio is `2^n` pages that are
/// contiguous in the arena and aligned to `2^n` pages within it, as the
/// kernel's buddy allocator aligns them. Pages are the machine's pages
/// (`IterPage.size`, 4 KiB on x86-64).
///
/// ```
///   arena:  | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | ...     frame = page index
///             ^order 0^       ^--- order 2 ---^
///                             (frame 4, aligned to 4 pages)
/// ```
///
/// Each folio has a reference count. Allocation gives it 1, ``get(_:)`` raises
/// it, ``put(_:)`` lowers it, and at 0 the folio returns to the pool.
/// ``audit()`` lists every folio that still has references, which after a test
/// that cleaned up correctly is nothing.
///
/// Frame numbers are page indices in the arena, so they are deterministic and
/// can stand in for physical frame numbers in tests: pages this pool lists are
/// `IterPage` values with their `IterPage.frame` set.
///
/// The arena stays mapped as long as the pool lives, and every ``Folio``,
/// ``BioVecArray`` and ``FolioQueue`` keeps its pool alive, so memory reached
/// through them is always mapped, even if a folio was freed too early.
///
/// Misuse (a put on a free page, an order the pool does not have, an exhausted
/// pool, a page from another pool) throws a ``PagePoolError`` and changes nothing.
///
/// The corresponding kernel facilities are `alloc_pages`, `folio_alloc`,
/// `folio_get`, `folio_put` and `__free_pages`.
///
/// Sendable: its reference counts and free lists are behind a lock.
public final class PagePool: Sendable {
  /// The number of pages in the arena.
  public let pageCount: Int

  /// The largest order this pool hands out (the kernel's `MAX_PAGE_ORDER`).
  public let maxOrder: Int

  /// The address of the arena's first byte (page-aligned).
  public let address: UInt

  /// The number of bytes in the arena.
  public let byteCount: Int

  internal let _state: Mutex<_PoolState>

  /// The largest ``maxOrder`` a pool accepts: an order-18 folio is 1 GiB, so
  /// every folio's length fits a bio_vec's 32-bit `bv_len`.
  public static let orderLimit = 18

  /// The most pages a pool can have.
  public static let pageCountLimit = Int(Int32.max)

  /// The default ``maxOrder``: 10, the kernel's default `MAX_PAGE_ORDER`
  /// (4 MiB folios with 4 KiB pages).
  public static let defaultMaxOrder = 10

  /// Reserves an arena of `pageCount` pages with `mmap(2)`.
  ///
  /// The arena does not have to be a power of two pages: it is carved into
  /// the largest aligned blocks that fit.
  ///
  /// - Parameters:
  ///   - pageCount: The number of pages, from 1 to ``pageCountLimit``.
  ///   - maxOrder: The largest order to hand out, from 0 to ``orderLimit``.
  /// - Throws: ``PagePoolError/invalidPageCount(requested:limit:)``,
  ///   ``PagePoolError/invalidOrder(order:maxOrder:)`` or
  ///   ``PagePoolError/mapFailed(bytes:errno:)``.
  /// - Complexity: O(*n*) for *n* pages (the bookkeeping arrays).
  ///
  /// The corresponding C function is `mmap(2)` (`MAP_PRIVATE | MAP_ANONYMOUS`).
  public init(pageCount: Int, maxOrder: Int = PagePool.defaultMaxOrder) throws(PagePoolError) {
    guard pageCount >= 1, pageCount <= PagePool.pageCountLimit,
      !pageCount.multipliedReportingOverflow(by: IterPage.size).overflow
    else {
      throw .invalidPageCount(requested: pageCount, limit: PagePool.pageCountLimit)
    }
    guard maxOrder >= 0, maxOrder <= PagePool.orderLimit else {
      throw .invalidOrder(order: maxOrder, maxOrder: PagePool.orderLimit)
    }
    let bytes = pageCount * IterPage.size
    let mapped = unsafe mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    guard let mapped = unsafe mapped, unsafe mapped != MAP_FAILED else {
      throw .mapFailed(bytes: bytes, errno: errno)
    }
    self.pageCount = pageCount
    self.maxOrder = maxOrder
    self.address = UInt(bitPattern: mapped)
    self.byteCount = bytes
    self._state = Mutex(_PoolState(pageCount: pageCount, maxOrder: maxOrder))
  }

  deinit {
    if let base = unsafe UnsafeMutableRawPointer(bitPattern: address) {
      _ = unsafe munmap(base, byteCount)
    }
  }

  /// The page size the pool uses: `IterPage.size`.
  public static var pageSize: Int { IterPage.size }

  // MARK: - Allocation

  /// Allocates one page: an order-0 folio with a reference count of 1.
  ///
  /// - Parameter zeroed: Whether to fill the page with zeros (the kernel's
  ///   `__GFP_ZERO`); otherwise it holds whatever was there.
  /// - Throws: ``PagePoolError/exhausted(order:freePages:)``.
  /// - Complexity: O(``maxOrder``).
  ///
  /// The corresponding kernel function is `alloc_page`.
  public func allocatePage(zeroed: Bool = false) throws(PagePoolError) -> Folio {
    try allocateFolio(order: 0, zeroed: zeroed)
  }

  /// Allocates an order-`order` folio: `2^order` contiguous pages aligned to
  /// `2^order` pages in the arena, with a reference count of 1.
  ///
  /// - Parameters:
  ///   - order: The folio's order, from 0 to ``maxOrder``.
  ///   - zeroed: Whether to fill the folio with zeros (`__GFP_ZERO`).
  /// - Throws: ``PagePoolError/invalidOrder(order:maxOrder:)`` or
  ///   ``PagePoolError/exhausted(order:freePages:)``.
  /// - Complexity: O(``maxOrder``), plus O(`2^order` pages) when `zeroed`.
  ///
  /// The corresponding kernel function is `folio_alloc`.
  public func allocateFolio(order: Int, zeroed: Bool = false) throws(PagePoolError) -> Folio {
    guard order >= 0, order <= maxOrder else {
      throw .invalidOrder(order: order, maxOrder: maxOrder)
    }
    let (allocated, freePages) = _state.withLock { state in
      (state.allocate(order: order), state.freePages)
    }
    guard let allocated else { throw .exhausted(order: order, freePages: freePages) }
    let folio = Folio(
      pool: self, frame: allocated.frame, order: order, generation: allocated.generation)
    if zeroed {
      if let base = unsafe UnsafeMutableRawPointer(bitPattern: folio.address) {
        _ = unsafe memset(base, 0, folio.byteCount)
      }
    }
    return folio
  }

  // MARK: - References

  /// Raises the folio's reference count by one.
  ///
  /// - Throws: ``PagePoolError/foreignPage(address:)`` for a folio of
  ///   another pool; ``PagePoolError/notAllocated(frame:)`` for a free folio;
  ///   ``PagePoolError/staleFolio(frame:order:)`` for a handle whose pages were
  ///   freed and reused; ``PagePoolError/referenceOverflow(frame:limit:)``.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `folio_get`.
  public func get(_ folio: Folio) throws(PagePoolError) {
    try _adjust([folio], by: 1)
  }

  /// Lowers the folio's reference count by one; at 0 the folio returns to
  /// the pool and its handles become stale.
  ///
  /// - Throws: ``PagePoolError/foreignPage(address:)``,
  ///   ``PagePoolError/notAllocated(frame:)`` (a put on a free page) or
  ///   ``PagePoolError/staleFolio(frame:order:)``. Nothing changes when it throws.
  /// - Complexity: O(``maxOrder``) when the folio is freed, else O(1).
  ///
  /// The corresponding kernel function is `folio_put`.
  public func put(_ folio: Folio) throws(PagePoolError) {
    try _adjust([folio], by: -1)
  }

  /// Raises the reference count of the folio that holds `page` (any page of
  /// it, not only the first).
  ///
  /// - Throws: ``PagePoolError/foreignPage(address:)`` for a page outside the
  ///   arena, or one whose `IterPage.frame` disagrees with its address;
  ///   ``PagePoolError/notAllocated(frame:)`` for a free page.
  /// - Complexity: O(``maxOrder``).
  ///
  /// The corresponding kernel function is `get_page`.
  public func get(page: IterPage) throws(PagePoolError) {
    try get(folio(containing: page))
  }

  /// Lowers the reference count of the folio that holds `page`.
  ///
  /// - Throws: As ``get(page:)``.
  /// - Complexity: O(``maxOrder``).
  ///
  /// The corresponding kernel function is `put_page`.
  public func put(page: IterPage) throws(PagePoolError) {
    try put(folio(containing: page))
  }

  /// The folio's reference count, or `nil` when the handle is not live
  /// (freed, stale or from another pool).
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `folio_ref_count`.
  public func referenceCount(of folio: Folio) -> Int? {
    guard folio.pool === self else { return nil }
    return _state.withLock { state -> Int? in
      do throws(PagePoolError) {
        try state.check(frame: folio.frame, order: folio.order, generation: folio._generation)
      } catch {
        return nil
      }
      return Int(state.references[folio.frame])
    }
  }

  /// Whether `folio` is allocated from this pool and the handle is current.
  ///
  /// - Complexity: O(1).
  public func isLive(_ folio: Folio) -> Bool { referenceCount(of: folio) != nil }

  /// Validates a folio handle without changing anything.
  internal func _check(_ folio: Folio) throws(PagePoolError) {
    guard folio.pool === self else { throw .foreignPage(address: folio.address) }
    try _state.withLock { (state) throws(PagePoolError) in
      try state.check(frame: folio.frame, order: folio.order, generation: folio._generation)
    }
  }

  /// The allocated folios that hold the frames in `frames`, in order, each
  /// once, looked up under one lock: what a bio_vec that runs on past its
  /// own folio covers.
  ///
  /// - Throws: ``PagePoolError/foreignPage(address:)`` for frames outside the
  ///   arena; ``PagePoolError/notAllocated(frame:)`` naming the first free
  ///   frame.
  internal func _folios(holding frames: Range<Int>) throws(PagePoolError) -> [Folio] {
    guard frames.lowerBound >= 0, frames.upperBound <= pageCount else {
      throw .foreignPage(address: address &+ UInt(bitPattern: frames.upperBound &* IterPage.size))
    }
    return try _state.withLock { (state) throws(PagePoolError) -> [Folio] in
      var folios: [Folio] = []
      var frame = frames.lowerBound
      while frame < frames.upperBound {
        guard let found = state.folio(holding: frame) else { throw .notAllocated(frame: frame) }
        folios.append(
          Folio(
            pool: self, frame: found.frame, order: found.order,
            generation: state.generation[found.frame]))
        frame = found.frame + (1 << found.order)
      }
      return folios
    }
  }

  /// Adds `delta` (+1 or -1) to the count of each folio in `folios` (a folio
  /// may appear several times), all or nothing, under one lock. Folios whose
  /// count reaches 0 return to the pool.
  internal func _adjust(_ folios: [Folio], by delta: Int) throws(PagePoolError) {
    assert(delta == 1 || delta == -1, "_adjust by \(delta)")
    for folio in folios where folio.pool !== self {
      throw .foreignPage(address: folio.address)
    }
    try _state.withLock { (state) throws(PagePoolError) in
      // Validate the whole batch against the counts it would produce first.
      var pending: [Int: Int] = [:]
      for folio in folios {
        try state.check(frame: folio.frame, order: folio.order, generation: folio._generation)
        let after = (pending[folio.frame] ?? Int(state.references[folio.frame])) + delta
        if after < 0 { throw .notAllocated(frame: folio.frame) }
        if after > _PoolState.referenceLimit {
          throw .referenceOverflow(frame: folio.frame, limit: _PoolState.referenceLimit)
        }
        pending[folio.frame] = after
      }
      // With one sign for the batch, a folio reaches 0 only at its last entry.
      for folio in folios {
        state.totalReferences += delta
        let after = Int(state.references[folio.frame]) + delta
        if after == 0 {
          state.release(frame: folio.frame, order: folio.order)
        } else {
          state.references[folio.frame] = Int32(after)
        }
      }
    }
  }

  // MARK: - Look-ups

  /// Whether `address` lies in the arena.
  ///
  /// - Complexity: O(1).
  public func contains(address: UInt) -> Bool {
    address >= self.address && address - self.address < UInt(byteCount)
  }

  /// The frame number (page index in the arena) of the page that holds
  /// `address`, or `nil` for an address outside the arena.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `virt_to_pfn`.
  public func frame(containing address: UInt) -> Int? {
    guard contains(address: address) else { return nil }
    return Int((address - self.address) / UInt(IterPage.size))
  }

  /// The page at frame `frame`, with its frame number, or `nil` outside the arena.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `pfn_to_page`.
  public func page(atFrame frame: Int) -> IterPage? {
    guard frame >= 0, frame < pageCount else { return nil }
    return IterPage(address: address + UInt(frame * IterPage.size), frame: UInt64(frame))
  }

  /// The allocated folio that holds `page`.
  ///
  /// - Throws: ``PagePoolError/foreignPage(address:)`` for a page outside the
  ///   arena (or whose `IterPage.frame` disagrees with its address);
  ///   ``PagePoolError/notAllocated(frame:)`` for a free page.
  /// - Complexity: O(``maxOrder``).
  ///
  /// The corresponding kernel function is `page_folio`.
  public func folio(containing page: IterPage) throws(PagePoolError) -> Folio {
    guard let frame = frame(containing: page.address),
      page.address & UInt(IterPage.size - 1) == 0,
      page.frame == nil || page.frame == UInt64(frame)
    else { throw .foreignPage(address: page.address) }
    let found = _state.withLock { state -> (Int, Int, UInt64)? in
      guard let f = state.folio(holding: frame) else { return nil }
      return (f.frame, f.order, state.generation[f.frame])
    }
    guard let found else { throw .notAllocated(frame: frame) }
    return Folio(pool: self, frame: found.0, order: found.1, generation: found.2)
  }

  // MARK: - Statistics and audit

  /// The number of free pages.
  ///
  /// - Complexity: O(1).
  public var freePageCount: Int { _state.withLock { $0.freePages } }

  /// The number of free aligned blocks of each order, from 0 to ``maxOrder``
  /// (the kernel's `/proc/buddyinfo`).
  ///
  /// - Complexity: O(*f*) for *f* free blocks.
  public var freeBlockCounts: [Int] {
    _state.withLock { state in
      (0...state.maxOrder).map { order in
        var n = 0
        var frame = state.freeHead[order]
        while frame >= 0 {
          n += 1
          frame = Int(state.next[frame])
        }
        return n
      }
    }
  }

  /// Every folio that still holds references, in frame order: after code
  /// that put every reference it got, this is empty.
  ///
  /// - Complexity: O(*n*) for *n* pages.
  public func audit() -> [PageLeak] {
    _state.withLock { state in
      var leaks: [PageLeak] = []
      var frame = 0
      while frame < state.pageCount {
        let order = Int(state.allocatedOrder[frame])
        if order >= 0 {
          leaks.append(
            PageLeak(
              frame: frame, order: order, references: Int(state.references[frame]),
              address: address + UInt(frame * IterPage.size)))
          frame += 1 << order
        } else {
          frame += 1
        }
      }
      return leaks
    }
  }

  /// The sum of the reference counts of every allocated folio: 0 when
  /// nothing is outstanding.
  ///
  /// - Complexity: O(1).
  public var outstandingReferences: Int { _state.withLock { $0.totalReferences } }
}

extension PagePool: CustomStringConvertible {
  /// A summary: the arena and how much of it is free.
  public var description: String {
    "PagePool(0x\(String(address, radix: 16)), \(pageCount) pages, max order \(maxOrder), "
      + "\(freePageCount) free)"
  }
}
