//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// The bookkeeping of a ``PagePool``: a binary buddy allocator over frame
/// numbers, with a reference count and a generation per allocated folio.
///
/// Every array is indexed by frame (page index in the arena). A free block is
/// listed in the free list of its order through `next`/`previous`; only its
/// first frame carries `freeOrder`. An allocated folio's first frame carries
/// `allocatedOrder`, `references` and `generation`. The lists are LIFO, so the
/// same sequence of calls always hands out the same frames.
///
/// The corresponding kernel code is the buddy allocator in `mm/page_alloc.c`
/// (`__rmqueue_smallest`, `expand`, `__free_one_page`).
internal struct _PoolState {
  internal let pageCount: Int
  internal let maxOrder: Int
  /// First frame of each order's free list, or -1.
  internal var freeHead: [Int]
  internal var next: [Int32]
  internal var previous: [Int32]
  /// The order of the free block that starts at this frame, or -1.
  internal var freeOrder: [Int8]
  /// The order of the allocated folio that starts at this frame, or -1.
  internal var allocatedOrder: [Int8]
  internal var references: [Int32]
  internal var generation: [UInt64]
  internal var nextGeneration: UInt64 = 1
  internal var freePages: Int
  /// The sum of every allocated folio's reference count.
  internal var totalReferences = 0

  /// The most references one folio may carry.
  internal static let referenceLimit = Int(Int32.max)

  internal init(pageCount: Int, maxOrder: Int) {
    self.pageCount = pageCount
    self.maxOrder = maxOrder
    self.freeHead = Array(repeating: -1, count: maxOrder + 1)
    self.next = Array(repeating: -1, count: pageCount)
    self.previous = Array(repeating: -1, count: pageCount)
    self.freeOrder = Array(repeating: -1, count: pageCount)
    self.allocatedOrder = Array(repeating: -1, count: pageCount)
    self.references = Array(repeating: 0, count: pageCount)
    self.generation = Array(repeating: 0, count: pageCount)
    self.freePages = pageCount
    // Carve the arena into the largest aligned blocks that fit; push them
    // from the top so that the lowest frames are handed out first.
    var blocks: [(Int, Int)] = []
    var frame = 0
    while frame < pageCount {
      var order = maxOrder
      while order > 0 && (frame & ((1 << order) - 1) != 0 || frame + (1 << order) > pageCount) {
        order -= 1
      }
      blocks.append((frame, order))
      frame += 1 << order
    }
    for (frame, order) in blocks.reversed() { push(frame, order: order) }
  }

  // MARK: - Free lists

  internal mutating func push(_ frame: Int, order: Int) {
    let head = freeHead[order]
    next[frame] = Int32(head)
    previous[frame] = -1
    if head >= 0 { previous[head] = Int32(frame) }
    freeHead[order] = frame
    freeOrder[frame] = Int8(order)
  }

  internal mutating func unlink(_ frame: Int, order: Int) {
    let n = Int(next[frame])
    let p = Int(previous[frame])
    if p >= 0 { next[p] = Int32(n) } else { freeHead[order] = n }
    if n >= 0 { previous[n] = Int32(p) }
    next[frame] = -1
    previous[frame] = -1
    freeOrder[frame] = -1
  }

  // MARK: - Allocation

  /// Takes an aligned block of `2^order` pages, or returns `nil`.
  internal mutating func allocate(order: Int) -> (frame: Int, generation: UInt64)? {
    var k = order
    while k <= maxOrder && freeHead[k] < 0 { k += 1 }
    guard k <= maxOrder else { return nil }
    let frame = freeHead[k]
    unlink(frame, order: k)
    while k > order {
      k -= 1
      push(frame + (1 << k), order: k)
    }
    allocatedOrder[frame] = Int8(order)
    references[frame] = 1
    totalReferences += 1
    let g = nextGeneration
    nextGeneration &+= 1
    generation[frame] = g
    freePages -= 1 << order
    return (frame, g)
  }

  /// Returns the folio at `frame` to the free lists, merging buddies.
  internal mutating func release(frame start: Int, order startOrder: Int) {
    allocatedOrder[start] = -1
    references[start] = 0
    generation[start] = 0
    freePages += 1 << startOrder
    var frame = start
    var order = startOrder
    while order < maxOrder {
      let buddy = frame ^ (1 << order)
      guard buddy + (1 << order) <= pageCount, freeOrder[buddy] == Int8(order) else { break }
      unlink(buddy, order: order)
      frame = min(frame, buddy)
      order += 1
    }
    push(frame, order: order)
  }

  // MARK: - Look-ups

  /// The allocated folio that holds `frame`, if any.
  internal func folio(holding frame: Int) -> (frame: Int, order: Int)? {
    for order in 0...maxOrder {
      let head = frame & ~((1 << order) - 1)
      if allocatedOrder[head] == Int8(order) { return (head, order) }
    }
    return nil
  }

  /// Checks that `frame` is the first page of the live order-`order` folio
  /// of `generation`.
  internal func check(frame: Int, order: Int, generation g: UInt64) throws(PagePoolError) {
    guard frame >= 0, frame < pageCount, order >= 0, order <= maxOrder else {
      throw .staleFolio(frame: frame, order: order)
    }
    if allocatedOrder[frame] == Int8(order) && generation[frame] == g { return }
    if allocatedOrder[frame] >= 0 || folio(holding: frame) != nil {
      throw .staleFolio(frame: frame, order: order)
    }
    throw .notAllocated(frame: frame)
  }
}
