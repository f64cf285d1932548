//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// A handle to `2^order` contiguous pages allocated from a ``PagePool``.
///
/// A single page is a folio of order 0. The handle is a plain value: copying
/// it does not take a reference. References are counted explicitly with
/// ``get()`` and ``put()`` (or the pool's ``PagePool/get(_:)`` and
/// ``PagePool/put(_:)``), as the kernel counts them with `folio_get` and
/// `folio_put`. When the count reaches 0 the pages return to the pool and
/// every handle to that allocation becomes stale: using it throws
/// ``PagePoolError/notAllocated(frame:)`` or
/// ``PagePoolError/staleFolio(frame:order:)``, never touches another
/// allocation's count.
///
/// A handle keeps its pool (and so the arena's mapping) alive.
///
/// The corresponding kernel structure is `struct folio` (by pointer).
///
/// Sendable: a handle (an address, a frame and the pool, which is `Sendable`); its reference count lives in the
/// locked pool.
public struct Folio: Hashable, Sendable {
  /// The pool the folio was allocated from.
  public let pool: PagePool

  /// The frame number of the folio's first page: its page index in the arena.
  public let frame: Int

  /// The folio's order: it spans `2^order` pages.
  ///
  /// The corresponding kernel function is `folio_order`.
  public let order: Int

  @usableFromInline
  internal let _generation: UInt64

  internal init(pool: PagePool, frame: Int, order: Int, generation: UInt64) {
    self.pool = pool
    self.frame = frame
    self.order = order
    self._generation = generation
  }

  /// Two handles are equal when they name the same allocation of the same pool.
  public static func == (a: Folio, b: Folio) -> Bool {
    a.pool === b.pool && a.frame == b.frame && a.order == b.order
      && a._generation == b._generation
  }

  /// Hashes the pool, the frame and the allocation.
  public func hash(into hasher: inout Hasher) {
    hasher.combine(ObjectIdentifier(pool))
    hasher.combine(frame)
    hasher.combine(_generation)
  }

  /// The number of pages, `2^order`.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `folio_nr_pages`.
  public var pageCount: Int { 1 << order }

  /// The number of bytes, `IterPage.size` `<< order`.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `folio_size`.
  public var byteCount: Int { IterPage.size << order }

  /// The address of the folio's first byte.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `folio_address`.
  public var address: UInt { pool.address + UInt(frame * IterPage.size) }

  /// The `index`th page of the folio, with its frame number, or `nil` when
  /// `index` is outside `0..<pageCount`.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `folio_page`.
  public func page(at index: Int) -> IterPage? {
    guard index >= 0, index < pageCount else { return nil }
    return IterPage(
      address: address + UInt(index * IterPage.size), frame: UInt64(frame + index))
  }

  /// Every page of the folio, in order.
  ///
  /// - Complexity: O(`2^order`).
  public var pages: [IterPage] {
    (0..<pageCount).map {
      IterPage(address: address + UInt($0 * IterPage.size), frame: UInt64(frame + $0))
    }
  }

  /// Raises the folio's reference count by one.
  ///
  /// - Throws: As ``PagePool/get(_:)``.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `folio_get`.
  public func get() throws(PagePoolError) { try pool.get(self) }

  /// Lowers the folio's reference count by one; at 0 it returns to the pool.
  ///
  /// - Throws: As ``PagePool/put(_:)``.
  /// - Complexity: O(1), or O(``PagePool/maxOrder``) when the folio is freed.
  ///
  /// The corresponding kernel function is `folio_put`.
  public func put() throws(PagePoolError) { try pool.put(self) }

  /// The folio's reference count, or `nil` when the handle is stale.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `folio_ref_count`.
  public var referenceCount: Int? { pool.referenceCount(of: self) }

  /// Calls `body` with the folio's bytes.
  ///
  /// The bytes stay mapped as long as the pool lives, but they belong to
  /// whoever holds the folio: do not use the pointer after the folio was put
  /// for the last time, nor let it escape `body`.
  ///
  /// - Complexity: O(1), plus `body`'s cost.
  ///
  /// The corresponding kernel function is `kmap_local_folio`.
  public func withUnsafeMutableBytes<R, E: Error>(
    _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
  ) throws(E) -> R {
    let base = unsafe UnsafeMutableRawPointer(bitPattern: address)
    return try unsafe body(UnsafeMutableRawBufferPointer(start: base, count: byteCount))
  }
}

extension Folio: CustomStringConvertible {
  /// `folio#frame/order`, with the address.
  public var description: String {
    "folio#\(frame)/\(order)@0x\(String(address, radix: 16))"
  }
}
