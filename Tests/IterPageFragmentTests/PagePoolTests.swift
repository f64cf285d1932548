//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterPageFragment
import IterTestSupport
import Testing

@Suite("PagePool")
struct PagePoolTests {
  @Test func allocatedPageIsPageAlignedWithOneReference() throws {
    let pool = try PagePool(pageCount: 16)
    #expect(pool.address % UInt(IterPage.size) == 0)
    #expect(pool.byteCount == 16 * IterPage.size)
    let page = try pool.allocatePage()
    #expect(page.order == 0)
    #expect(page.frame == 0)
    #expect(page.address == pool.address)
    #expect(page.byteCount == IterPage.size)
    #expect(page.referenceCount == 1)
    #expect(pool.freePageCount == 15)
    #expect(page.page(at: 0) == IterPage(address: pool.address, frame: 0))
    #expect(page.page(at: 1) == nil)
    try page.put()
    #expect(pool.freePageCount == 16)
    #expect(pool.audit().isEmpty)
  }

  @Test func foliosAreAlignedToTheirOrderInTheArena() throws {
    let pool = try PagePool(pageCount: 64, maxOrder: 4)
    let a = try pool.allocateFolio(order: 0)
    let b = try pool.allocateFolio(order: 2)
    let c = try pool.allocateFolio(order: 1)
    // Buddy splitting: frame 0 for the page, the order-2 folio at the next
    // 4-page boundary, the order-1 folio in the pair left after frame 0.
    #expect(a.frame == 0)
    #expect(b.frame == 4)
    #expect(c.frame == 2)
    #expect(b.address == pool.address + UInt(4 * IterPage.size))
    #expect(b.pageCount == 4)
    #expect(b.pages.map(\.frame) == [4, 5, 6, 7])
    for folio in [a, b, c] { try folio.put() }
    #expect(pool.audit().isEmpty)
  }

  @Test(arguments: [1, 2, 3])
  func randomAllocationsNeverOverlapAndStayAligned(round: Int) throws {
    var rng = SeededGenerator(seed: TestSeed.base &+ UInt64(round))
    let pool = try PagePool(pageCount: 100, maxOrder: 5)  // not a power of two
    var live: [Folio] = []
    for _ in 0..<400 {
      if !live.isEmpty && Bool.random(using: &rng) {
        let k = Int.random(in: 0..<live.count, using: &rng)
        try live.remove(at: k).put()
      } else {
        let order = Int.random(in: 0...5, using: &rng)
        do {
          live.append(try pool.allocateFolio(order: order))
        } catch PagePoolError.exhausted(let o, let free) {
          #expect(o == order)
          #expect(free == pool.freePageCount)
        }
      }
      var used = Set<Int>()
      for folio in live {
        #expect(
          folio.frame % folio.pageCount == 0, "\(folio) is not aligned (seed \(TestSeed.base))")
        #expect(folio.frame + folio.pageCount <= pool.pageCount)
        for p in folio.frame..<(folio.frame + folio.pageCount) {
          #expect(used.insert(p).inserted, "frame \(p) handed out twice (seed \(TestSeed.base))")
        }
      }
      #expect(pool.freePageCount == pool.pageCount - used.count)
      #expect(pool.audit().count == live.count)
      #expect(pool.outstandingReferences == pool.audit().reduce(0) { $0 + $1.references })
    }
    for folio in live { try folio.put() }
    #expect(pool.audit().isEmpty)
    #expect(pool.freePageCount == 100)
  }

  @Test func freeingEverythingMergesBuddiesBackToTheLargestBlocks() throws {
    let pool = try PagePool(pageCount: 13, maxOrder: 3)
    // 13 pages carve into 8 + 4 + 1.
    #expect(pool.freeBlockCounts == [1, 0, 1, 1])
    let pages = try (0..<13).map { _ in try pool.allocatePage() }
    #expect(Set(pages.map(\.frame)) == Set(0..<13))
    #expect(pool.freeBlockCounts == [0, 0, 0, 0])
    for page in pages.reversed() { try page.put() }
    #expect(pool.freeBlockCounts == [1, 0, 1, 1])
    let big = try pool.allocateFolio(order: 3)
    #expect(big.frame == 0)
    try big.put()
  }

  @Test func getAndPutCountReferencesAndTheLastPutFrees() throws {
    let pool = try PagePool(pageCount: 8)
    let folio = try pool.allocateFolio(order: 1)
    try pool.get(folio)
    try folio.get()
    #expect(folio.referenceCount == 3)
    try pool.put(folio)
    try folio.put()
    #expect(folio.referenceCount == 1)
    #expect(pool.freePageCount == 6)
    try folio.put()
    #expect(folio.referenceCount == nil)
    #expect(!pool.isLive(folio))
    #expect(pool.freePageCount == 8)
  }

  @Test func getOnATailPageReferencesTheWholeFolio() throws {
    let pool = try PagePool(pageCount: 8)
    let folio = try pool.allocateFolio(order: 2)
    let tail = try #require(folio.page(at: 3))
    try pool.get(page: tail)
    #expect(folio.referenceCount == 2)
    #expect(try pool.folio(containing: tail) == folio)
    try pool.put(page: tail)
    try pool.put(page: try #require(folio.page(at: 1)))
    #expect(pool.audit().isEmpty)
  }

  @Test func putOnAFreePageIsATypedErrorAndChangesNothing() throws {
    let pool = try PagePool(pageCount: 8)
    let folio = try pool.allocatePage()
    let other = try pool.allocatePage()
    try folio.put()
    let before = (pool.freePageCount, pool.audit())
    #expect(throws: PagePoolError.notAllocated(frame: folio.frame)) { try folio.put() }
    #expect(throws: PagePoolError.notAllocated(frame: folio.frame)) { try folio.get() }
    #expect(throws: PagePoolError.notAllocated(frame: folio.frame)) {
      try pool.put(page: try #require(folio.page(at: 0)))
    }
    #expect(pool.freePageCount == before.0)
    #expect(pool.audit() == before.1)
    #expect(other.referenceCount == 1)
    try other.put()
  }

  @Test func aStaleHandleCannotTouchTheNextAllocationOfItsPages() throws {
    let pool = try PagePool(pageCount: 4)
    let old = try pool.allocatePage()
    try old.put()
    let new = try pool.allocatePage()
    #expect(new.frame == old.frame)
    #expect(new != old)
    #expect(throws: PagePoolError.staleFolio(frame: old.frame, order: 0)) { try old.put() }
    #expect(throws: PagePoolError.staleFolio(frame: old.frame, order: 0)) { try old.get() }
    #expect(new.referenceCount == 1)
    try new.put()
    // A handle with the right frame but the wrong order is stale too.
    let pair = try pool.allocateFolio(order: 1)
    try pair.put()
    let page2 = try pool.allocatePage()
    #expect(page2.frame == pair.frame)
    #expect(throws: PagePoolError.staleFolio(frame: pair.frame, order: 1)) { try pair.put() }
    #expect(page2.referenceCount == 1)
    try page2.put()
    #expect(pool.audit().isEmpty)
  }

  @Test(arguments: [-1, 5, 99])
  func anOrderOutsideThePoolIsATypedError(order: Int) throws {
    let pool = try PagePool(pageCount: 64, maxOrder: 4)
    #expect(throws: PagePoolError.invalidOrder(order: order, maxOrder: 4)) {
      try pool.allocateFolio(order: order)
    }
    #expect(pool.freePageCount == 64)
    #expect(pool.audit().isEmpty)
  }

  @Test func anExhaustedPoolIsATypedError() throws {
    let pool = try PagePool(pageCount: 8)
    let all = try pool.allocateFolio(order: 3)
    #expect(throws: PagePoolError.exhausted(order: 0, freePages: 0)) { try pool.allocatePage() }
    try all.put()
    // Fragmentation: two free pages, but no free aligned pair.
    let pages = try (0..<8).map { _ in try pool.allocatePage() }
    try pages[1].put()
    try pages[2].put()
    #expect(throws: PagePoolError.exhausted(order: 1, freePages: 2)) {
      try pool.allocateFolio(order: 1)
    }
    #expect(pool.freePageCount == 2)
    try pages[0].put()
    let pair = try pool.allocateFolio(order: 1)
    #expect(pair.frame == 0)
    try pair.put()
    for k in 3..<8 { try pages[k].put() }
    #expect(pool.audit().isEmpty)
  }

  @Test func aPageFromAnotherPoolIsATypedError() throws {
    let a = try PagePool(pageCount: 4)
    let b = try PagePool(pageCount: 4)
    let folio = try a.allocatePage()
    let mine = try b.allocatePage()
    #expect(throws: PagePoolError.foreignPage(address: folio.address)) { try b.put(folio) }
    #expect(throws: PagePoolError.foreignPage(address: folio.address)) { try b.get(folio) }
    #expect(throws: PagePoolError.foreignPage(address: folio.address)) {
      try b.get(page: try #require(folio.page(at: 0)))
    }
    #expect(b.referenceCount(of: folio) == nil)
    // An address inside the arena but a frame number that disagrees with it.
    let lying = IterPage(address: mine.address, frame: 3)
    #expect(throws: PagePoolError.foreignPage(address: mine.address)) { try b.get(page: lying) }
    // An address that is not a page start.
    let unaligned = IterPage(address: mine.address + 1)
    #expect(throws: PagePoolError.foreignPage(address: mine.address + 1)) {
      try b.folio(containing: unaligned)
    }
    #expect(folio.referenceCount == 1)
    #expect(mine.referenceCount == 1)
    try folio.put()
    try mine.put()
  }

  @Test func lookUpsMapAddressesToFrames() throws {
    let pool = try PagePool(pageCount: 4)
    #expect(pool.frame(containing: pool.address + UInt(2 * IterPage.size + 7)) == 2)
    #expect(pool.frame(containing: pool.address + UInt(pool.byteCount)) == nil)
    #expect(pool.frame(containing: pool.address - 1) == nil)
    #expect(pool.page(atFrame: 3)?.address == pool.address + UInt(3 * IterPage.size))
    #expect(pool.page(atFrame: 4) == nil)
    #expect(pool.page(atFrame: -1) == nil)
    #expect(throws: PagePoolError.notAllocated(frame: 1)) {
      try pool.folio(containing: try #require(pool.page(atFrame: 1)))
    }
  }

  @Test func theReferenceCountCannotOverflow() throws {
    let pool = try PagePool(pageCount: 2)
    let folio = try pool.allocatePage()
    try pool._setReferenceCountForTesting(folio, to: PagePool._referenceLimit)
    #expect(throws: PagePoolError.referenceOverflow(frame: 0, limit: PagePool._referenceLimit)) {
      try folio.get()
    }
    #expect(folio.referenceCount == PagePool._referenceLimit)
    try pool._setReferenceCountForTesting(folio, to: 1)
    try folio.put()
  }

  @Test(arguments: [0, -3, Int.max])
  func aBadPageCountIsATypedError(count: Int) {
    #expect(
      throws: PagePoolError.invalidPageCount(requested: count, limit: PagePool.pageCountLimit)
    ) {
      try PagePool(pageCount: count)
    }
  }

  @Test(arguments: [-1, 19])
  func aBadMaxOrderIsATypedError(order: Int) {
    #expect(throws: PagePoolError.invalidOrder(order: order, maxOrder: PagePool.orderLimit)) {
      try PagePool(pageCount: 4, maxOrder: order)
    }
  }

  @Test func auditFindsALeakMadeOnPurposeAndNothingAfterCorrectUse() throws {
    let pool = try PagePool(pageCount: 32)
    let kept = try pool.allocateFolio(order: 2)
    let freed = try pool.allocatePage()
    try kept.get()
    try kept.get()
    try kept.put()  // one reference too few put: two remain, one of them a leak
    try freed.put()
    let leaks = pool.audit()
    #expect(
      leaks == [PageLeak(frame: kept.frame, order: 2, references: 2, address: kept.address)])
    #expect(pool.outstandingReferences == 2)
    #expect(leaks[0].description.contains("2 references"))
    try kept.put()
    try kept.put()
    #expect(pool.audit().isEmpty)
    #expect(pool.outstandingReferences == 0)
  }

  @Test func zeroedAllocationClearsOldContents() throws {
    let pool = try PagePool(pageCount: 2)
    let first = try pool.allocatePage()
    _ = first.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0xAB) }
    try first.put()
    let dirty = try pool.allocatePage()
    #expect(dirty.withUnsafeMutableBytes { $0[0] } == 0xAB)
    try dirty.put()
    let clean = try pool.allocatePage(zeroed: true)
    #expect(clean.withUnsafeMutableBytes { $0.allSatisfy { $0 == 0 } })
    try clean.put()
  }

  @Test func concurrentUseKeepsTheBooksStraight() async throws {
    let pool = try PagePool(pageCount: 256, maxOrder: 3)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for t in 0..<4 {
        group.addTask {
          var rng = SeededGenerator(seed: TestSeed.base &+ UInt64(t))
          var mine: [Folio] = []
          for _ in 0..<2000 {
            if mine.count > 8 || (!mine.isEmpty && Bool.random(using: &rng)) {
              let folio = mine.removeLast()
              try folio.get()
              try folio.put()
              try folio.put()
            } else if let folio = try? pool.allocateFolio(order: Int.random(in: 0...3, using: &rng)) {
              mine.append(folio)
            }
          }
          for folio in mine { try folio.put() }
        }
      }
      try await group.waitForAll()
    }
    #expect(pool.audit().isEmpty)
    #expect(pool.freePageCount == 256)
    #expect(pool.freeBlockCounts == [0, 0, 0, 32])
  }
}
