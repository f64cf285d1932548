//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

internal import Glibc
public import IterCore
import Synchronization

/// A cache of small objects of one size, packed several to a page: the
/// kernel's slab allocator, in user space.
///
/// Each slab is one page obtained with `mmap(2)` and cut into
/// ``objectsPerPage`` slots of ``objectStride`` bytes; no object crosses a
/// page. ``allocate(zeroed:)`` hands out a ``SlabObject`` from the page that
/// most recently had room, and the object's `deinit` gives its slot back, so
/// a freed slot is the next one reused (LIFO, cache-warm). A page whose
/// objects are all gone is unmapped, except that one empty page is kept for
/// the next allocation (``shrink()`` drops it too).
///
/// ```
///   page 0x7f..000  [obj][obj][free][obj] ...   <- objects share pages
///   page 0x7f..000  [obj][free][free][free] ...
/// ```
///
/// Because objects share pages, a page says nothing about whether one object
/// is alive: the only thing that keeps an object's bytes valid is the object
/// itself. Extraction from a ``KVecArray`` therefore holds the object
/// (`IterRetentionKind.ownerReference`), never the page.
///
/// The allocator is thread-safe: allocation and freeing take a
/// `Synchronization.Mutex`. Every object keeps its allocator alive, so the
/// allocator's pages are unmapped only after its last object is gone.
///
/// The corresponding kernel type is `struct kmem_cache` (`kmem_cache_create`,
/// `kmem_cache_alloc`, `kmem_cache_free`, `kmem_cache_shrink`).
///
/// Sendable: its free list is behind a lock.
public final class SlabAllocator: Sendable {
  /// The bytes each object offers.
  public let objectSize: Int

  /// The distance between neighbouring objects in a page: ``objectSize``
  /// rounded up to the alignment.
  public let objectStride: Int

  /// How many objects one page holds; at least 2.
  public let objectsPerPage: Int

  internal let _state: Mutex<_SlabState>

  internal let _retentions = _RetentionCounter()

  /// How many empty pages stay mapped for the next allocations.
  internal static let _emptyPageCacheLimit = 1

  /// Creates a cache of `objectSize`-byte objects, each aligned to `alignment`.
  ///
  /// Maps nothing until the first allocation.
  ///
  /// - Parameters:
  ///   - objectSize: The bytes each object offers, from 1 to half a page, so
  ///     that at least two objects share every page.
  ///   - alignment: A power of two; each object starts at a multiple of it.
  ///     The default, 8, is `ARCH_KMALLOC_MINALIGN` on x86-64.
  /// - Throws: `IterError.negativeCount(argument:value:)` for a
  ///   negative size or alignment;
  ///   `IterError.invalidArgument(argument:value:reason:)` for a
  ///   size of 0, an alignment that is not a power of two, or an object (with
  ///   its alignment) larger than half a page.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `kmem_cache_create`.
  public init(objectSize: Int, alignment: Int = 8) throws(IterError) {
    let pageSize = IterPage.size
    guard objectSize >= 0 else { throw .negativeCount(argument: "objectSize", value: objectSize) }
    guard alignment >= 0 else { throw .negativeCount(argument: "alignment", value: alignment) }
    guard objectSize > 0 else {
      throw .invalidArgument(
        argument: "objectSize", value: 0, reason: "an object holds at least one byte")
    }
    guard alignment > 0, alignment & (alignment - 1) == 0 else {
      throw .invalidArgument(
        argument: "alignment", value: alignment, reason: "must be a power of two")
    }
    let half = pageSize / 2
    guard objectSize <= half, alignment <= half else {
      let (argument, value) =
        objectSize > half ? ("objectSize", objectSize) : ("alignment", alignment)
      throw .invalidArgument(
        argument: argument, value: value,
        reason: "at most \(half) (half a page) so that objects share pages")
    }
    // Half a page is a multiple of any power of two up to it, so rounding up
    // to the alignment stays within half a page.
    let stride = (objectSize + alignment - 1) & ~(alignment - 1)
    assert(stride <= half, "stride \(stride) exceeds half a page")
    self.objectSize = objectSize
    self.objectStride = stride
    self.objectsPerPage = pageSize / stride
    self._state = Mutex(_SlabState())
  }

  deinit {
    // Objects keep their allocator alive, so only empty pages are left.
    let bases = _state.withLock { state in Array(state.pages.keys) }
    for base in bases {
      unsafe _Mapping.unmap(
        UnsafeMutableRawPointer(bitPattern: base).unsafelyUnwrapped, byteCount: IterPage.size,
        guardPage: false)
    }
  }

  /// Allocates one object.
  ///
  /// The object comes from the page that most recently had a free slot, and a
  /// slot freed last is reused first; a new page is mapped only when every
  /// page is full.
  ///
  /// - Parameter zeroed: Whether to clear the object's bytes (`kzalloc`).
  ///   Otherwise they are zero on a fresh page and whatever the previous
  ///   object left in a reused slot.
  /// - Returns: The object; dropping its last reference frees it.
  /// - Throws: `IterError.systemCall(name:errno:)` when `mmap(2)`
  ///   cannot map a new page.
  /// - Complexity: O(1), plus one `mmap(2)` when a page is needed.
  ///
  /// The corresponding kernel function is `kmem_cache_alloc` (and `kmalloc`).
  public func allocate(zeroed: Bool = false) throws(IterError) -> SlabObject {
    let pageSize = IterPage.size
    let perPage = objectsPerPage
    let stride = objectStride
    let address = try _state.withLock { (state) throws(IterError) -> UInt in
      if state.available.isEmpty {
        let page = try unsafe _Mapping.map(byteCount: pageSize, guardPage: false)
        let base = UInt(bitPattern: page)
        state.pages[base] = _SlabPage(freeSlots: Array((0..<perPage).reversed()), liveCount: 0)
        state.available.append(base)
        state.emptyPages += 1
      }
      let base = state.available[state.available.count - 1]
      let (slot, full, wasEmpty) = state.withPage(base) { page in
        let slot = page.freeSlots.removeLast()
        page.liveCount += 1
        return (slot, page.freeSlots.isEmpty, page.liveCount == 1)
      }
      if full { state.available.removeLast() }
      if wasEmpty { state.emptyPages -= 1 }
      state.liveObjects += 1
      return base + UInt(slot * stride)
    }
    let base = unsafe UnsafeMutableRawPointer(bitPattern: address).unsafelyUnwrapped
    if zeroed { unsafe base.initializeMemory(as: UInt8.self, repeating: 0, count: objectSize) }
    return unsafe SlabObject(allocator: self, base: base, count: objectSize)
  }

  /// Gives the slot at `address` back; called once, by the object's `deinit`.
  internal func _free(_ address: UInt) {
    let pageMask = UInt(IterPage.size - 1)
    let base = address & ~pageMask
    let slot = Int(address & pageMask) / objectStride
    let unmap: UInt? = _state.withLock { state in
      let (wasFull, nowEmpty) = state.withPage(base) { page in
        let wasFull = page.freeSlots.isEmpty
        page.freeSlots.append(slot)
        page.liveCount -= 1
        return (wasFull, page.liveCount == 0)
      }
      state.liveObjects -= 1
      if wasFull { state.available.append(base) }
      guard nowEmpty else { return nil }
      if state.emptyPages >= Self._emptyPageCacheLimit {
        state.pages[base] = nil
        if let index = state.available.lastIndex(of: base) { state.available.remove(at: index) }
        return base
      }
      state.emptyPages += 1
      return nil
    }
    if let unmap {
      unsafe _Mapping.unmap(
        UnsafeMutableRawPointer(bitPattern: unmap).unsafelyUnwrapped, byteCount: IterPage.size,
        guardPage: false)
    }
  }

  /// Unmaps every page that holds no object.
  ///
  /// - Returns: The number of pages unmapped.
  /// - Complexity: O(*p*) for *p* mapped pages.
  ///
  /// The corresponding kernel function is `kmem_cache_shrink`.
  @discardableResult
  public func shrink() -> Int {
    let empty: [UInt] = _state.withLock { state in
      let empty = state.pages.compactMap { $0.value.liveCount == 0 ? $0.key : nil }
      for base in empty { state.pages[base] = nil }
      state.available.removeAll { state.pages[$0] == nil }
      state.emptyPages = 0
      return empty
    }
    for base in empty {
      unsafe _Mapping.unmap(
        UnsafeMutableRawPointer(bitPattern: base).unsafelyUnwrapped, byteCount: IterPage.size,
        guardPage: false)
    }
    return empty.count
  }

  /// The number of extraction retentions that hold this allocator's
  /// objects now: each successful extraction from a ``KVecArray`` entry over
  /// one of its objects adds one until the retention is released.
  ///
  /// Use it to check that every extraction was released (0 when none is held).
  ///
  /// - Complexity: O(1).
  public var extractionRetentionCount: Int { _retentions.value }

  /// The number of objects alive now.
  ///
  /// - Complexity: O(1) (takes the lock).
  public var liveObjectCount: Int { _state.withLock { $0.liveObjects } }

  /// The number of pages mapped now, including the cached empty page.
  ///
  /// - Complexity: O(1) (takes the lock).
  public var pageCount: Int { _state.withLock { $0.pages.count } }

  /// The number of mapped pages that hold no object (at most one, until the
  /// next ``shrink()``).
  ///
  /// - Complexity: O(1) (takes the lock).
  public var emptyPageCount: Int { _state.withLock { $0.emptyPages } }
}

// MARK: - State

/// One slab page: its free slots (a stack: the slot freed last is reused
/// first) and how many objects live in it.
internal struct _SlabPage {
  var freeSlots: [Int]
  var liveCount: Int
}

/// Everything the allocator's lock protects.
internal struct _SlabState {
  /// Mapped pages by base address.
  var pages: [UInt: _SlabPage] = [:]
  /// Pages with a free slot; allocation takes from the last.
  var available: [UInt] = []
  var liveObjects = 0
  /// Mapped pages with no object.
  var emptyPages = 0

  /// Runs `body` on the page at `base` in place.
  mutating func withPage<R>(_ base: UInt, _ body: (inout _SlabPage) -> R) -> R {
    guard pages[base] != nil else {
      preconditionFailure("slab page 0x\(String(base, radix: 16)) is not mapped by this allocator")
    }
    return body(&pages[base]!)
  }
}
