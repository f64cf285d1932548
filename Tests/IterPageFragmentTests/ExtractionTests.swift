//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterPageFragment
import Testing

private let pageSize = IterPage.size

@Suite("Page extraction")
struct ExtractionTests {
  /// A pool and one order-2 folio (four pages) at frame `z`.
  private func fourPages() throws -> (PagePool, Folio, UInt64) {
    let pool = try PagePool(pageCount: 16)
    let z = try pool.allocateFolio(order: 2)
    return (pool, z, UInt64(z.frame))
  }

  @Test func aBvecRunSpansEntriesThatEndAndStartPagesBackToBack() throws {
    let (pool, z, f) = try fourPages()
    let bvec = try BioVecArray([
      PageFragment(folio: z, offset: 1000, length: pageSize - 1000),  // ends page 0
      PageFragment(folio: z, offset: pageSize, length: pageSize),  // page 1, whole
      PageFragment(folio: z, offset: 2 * pageSize, length: 100),  // starts page 2, ends inside it
      // Starts inside page 2.
      PageFragment(folio: z, offset: 2 * pageSize + 100, length: pageSize - 100),
      PageFragment(folio: z, offset: 3 * pageSize, length: pageSize),  // page 3
    ])
    var iter = try IovIter(bvec, direction: .source)
    let runs = try extractAll(&iter)
    #expect(
      runs == [
        Run(frames: [f, f + 1, f + 2], offset: 1000, count: (pageSize - 1000) + pageSize + 100),
        Run(frames: [f + 2, f + 3], offset: 100, count: (pageSize - 100) + pageSize),
      ])
    // The cursor moved by exactly the bytes extracted, entry by entry.
    #expect(iter.count == 0)
    #expect(iter.consumedCount == bvec.byteCount)
    try z.put()
    #expect(pool.audit().isEmpty)
  }

  @Test func aBvecRunStopsWhereTheNextEntryDoesNotStartAPage() throws {
    let (_, z, f) = try fourPages()
    let bvec = try BioVecArray([
      PageFragment(folio: z, offset: 0, length: pageSize),
      PageFragment(folio: z, offset: pageSize + 10, length: 10),
    ])
    var iter = try IovIter(bvec, direction: .source)
    #expect(
      try extractAll(&iter) == [
        Run(frames: [f], offset: 0, count: pageSize), Run(frames: [f + 1], offset: 10, count: 10),
      ])
    try z.put()
  }

  @Test func aBvecRunStopsWhereAnEntryDoesNotEndAPage() throws {
    let (_, z, f) = try fourPages()
    // Virtually contiguous, but the second entry would need an offset into
    // a later page of the run: the kernel makes that a second call.
    let bvec = try BioVecArray([
      PageFragment(folio: z, offset: 0, length: 100),
      PageFragment(folio: z, offset: 100, length: 2 * pageSize - 100),
    ])
    var iter = try IovIter(bvec, direction: .source)
    #expect(
      try extractAll(&iter) == [
        Run(frames: [f], offset: 0, count: 100),
        Run(frames: [f, f + 1], offset: 100, count: 2 * pageSize - 100),
      ])
    try z.put()
  }

  @Test func pageAlignedEntriesAtUnrelatedAddressesAreSeparateRuns() throws {
    let pool = try PagePool(pageCount: 8)
    let a = try pool.allocatePage()
    let gap = try pool.allocatePage()
    let b = try pool.allocatePage()
    #expect(b.frame == a.frame + 2)
    let bvec = try BioVecArray([PageFragment(folio: a), PageFragment(folio: b)])
    var iter = try IovIter(bvec, direction: .source)
    #expect(
      try extractAll(&iter) == [
        Run(frames: [UInt64(a.frame)], offset: 0, count: pageSize),
        Run(frames: [UInt64(b.frame)], offset: 0, count: pageSize),
      ])
    // Two folios that happen to be neighbours in the arena form one run.
    let c = try pool.allocatePage()
    #expect(c.frame == b.frame + 1)
    var joined = try IovIter(
      BioVecArray([PageFragment(folio: b, offset: 10), PageFragment(folio: c, length: 5)]),
      direction: .source)
    #expect(
      try extractAll(&joined) == [
        Run(frames: [UInt64(b.frame), UInt64(c.frame)], offset: 10, count: pageSize - 10 + 5)
      ])
    for folio in [a, gap, b, c] { try folio.put() }
    #expect(pool.audit().isEmpty)
  }

  @Test func maxPagesCutsARunAndTheNextCallGoesOnFromAPageStart() throws {
    let (_, z, f) = try fourPages()
    let bvec = try BioVecArray([PageFragment(folio: z, offset: 1000)])
    var iter = try IovIter(bvec, direction: .source)
    #expect(
      try extractAll(&iter, maxPages: 2) == [
        Run(frames: [f, f + 1], offset: 1000, count: 2 * pageSize - 1000),
        Run(frames: [f + 2, f + 3], offset: 0, count: 2 * pageSize),
      ])
    try z.put()
  }

  @Test func maxBytesCutsMidPageAndTheNextRunStartsWithThatOffset() throws {
    let (_, z, f) = try fourPages()
    let bvec = try BioVecArray([PageFragment(folio: z)])
    var iter = try IovIter(bvec, direction: .source)
    let first = try iter.extractPages(maxBytes: pageSize + 808, maxPages: 16)
    #expect(first.pages.map(\.frame) == [f, f + 1])
    #expect(first.offset == 0)
    #expect(first.count == pageSize + 808)
    first.release()
    #expect(
      try extractAll(&iter) == [
        Run(frames: [f + 1, f + 2, f + 3], offset: 808, count: 3 * pageSize - 808)
      ])
    try z.put()
  }

  @Test func emptyEntriesInsideARunAreSkipped() throws {
    let (_, z, f) = try fourPages()
    let bvec = try BioVecArray([
      PageFragment(folio: z, offset: 0, length: 0),
      PageFragment(folio: z, offset: 0, length: pageSize),
      PageFragment(folio: z, offset: 123, length: 0),
      PageFragment(folio: z, offset: pageSize, length: 7),
      PageFragment(folio: z, offset: 0, length: 0),
    ])
    var iter = try IovIter(bvec, direction: .source)
    #expect(try extractAll(&iter) == [Run(frames: [f, f + 1], offset: 0, count: pageSize + 7)])
    try z.put()
  }

  @Test func extractionStartsAtTheCursorPositionInsideAnEntry() throws {
    let (_, z, f) = try fourPages()
    let bvec = try BioVecArray([PageFragment(folio: z, offset: 2 * pageSize - 50, length: 100)])
    var iter = try IovIter(bvec, direction: .source)
    try iter.advance(by: 60)
    #expect(try extractAll(&iter) == [Run(frames: [f + 2], offset: 10, count: 40)])
    try iter.revert(by: 100)
    #expect(
      try extractAll(&iter) == [Run(frames: [f + 1, f + 2], offset: pageSize - 50, count: 100)])
    try z.put()
  }

  @Test func byDefaultExtractionTakesNoReferences() throws {
    let (pool, z, _) = try fourPages()
    var iter = try IovIter(BioVecArray([PageFragment(folio: z)]), direction: .source)
    let e = try iter.extractPages(maxBytes: .max, maxPages: 4)
    #expect(e.retentionKind == .none)
    #expect(z.referenceCount == 1)
    e.release()
    #expect(z.referenceCount == 1)
    try z.put()
    #expect(pool.audit().isEmpty)
  }

  @Test func retainTakesOneReferencePerPageAndReleasePutsEachOnce() throws {
    let pool = try PagePool(pageCount: 8)
    let a = try pool.allocatePage()
    let b = try pool.allocateFolio(order: 1)
    #expect(b.frame == a.frame + 2)
    let glue = try pool.allocatePage()  // frame 1: makes a and b neighbours' neighbours
    #expect(glue.frame == a.frame + 1)
    let bvec = try BioVecArray([
      PageFragment(folio: a, offset: 0), PageFragment(folio: glue), PageFragment(folio: b),
    ])
    var iter = try IovIter(bvec, direction: .source)
    let e = try iter.extractPages(maxBytes: .max, maxPages: 16, options: .retain)
    #expect(e.retentionKind == .pageReference)
    #expect(e.pages.count == 4)
    #expect(a.referenceCount == 2)
    #expect(glue.referenceCount == 2)
    #expect(b.referenceCount == 3)  // two of its pages are listed
    #expect(pool.outstandingReferences == 3 + 4)
    e.release()
    #expect(a.referenceCount == 1)
    #expect(glue.referenceCount == 1)
    #expect(b.referenceCount == 1)
    // A retention that reaches the end of its life releases too.
    try iter.revert(by: 10)
    do {
      let dropped = try iter.extractPages(maxBytes: .max, maxPages: 16, options: .retain)
      #expect(b.referenceCount == 2)
      #expect(dropped.count == 10)
    }
    #expect(b.referenceCount == 1)
    for folio in [a, glue, b] { try folio.put() }
    #expect(pool.audit().isEmpty)
  }

  @Test func retainOnAFreedFolioIsATypedErrorAndHoldsNothing() throws {
    let pool = try PagePool(pageCount: 8)
    let a = try pool.allocatePage()
    let b = try pool.allocatePage()
    let bvec = try BioVecArray([PageFragment(folio: a), PageFragment(folio: b)])
    var iter = try IovIter(bvec, direction: .source)
    try b.put()  // the caller broke the lifetime rule
    let state = iter.saveState()
    #expect(
      throws: IterError.invalidSegment(
        index: 1, count: pageSize,
        reason: "cannot take a page reference: \(PagePoolError.notAllocated(frame: b.frame))")
    ) {
      _ = try iter.extractPages(maxBytes: .max, maxPages: 4, options: .retain)
    }
    #expect(iter.saveState() == state)
    #expect(iter.count == 2 * pageSize)
    #expect(a.referenceCount == 1)
    #expect(pool.audit().count == 1)
    try a.put()
    #expect(pool.audit().isEmpty)
  }

  @Test func aFolioQueueRunListsThePagesOfSeveralFolios() throws {
    let pool = try PagePool(pageCount: 16)
    let a = try pool.allocatePage()
    let gap = try pool.allocatePage()
    let b = try pool.allocatePage()  // not a's neighbour: still the same run
    let z = try pool.allocateFolio(order: 2)
    let queue = try FolioQueue([a, b, z])
    var iter = try IovIter(queue, direction: .source)
    let f = UInt64(z.frame)
    #expect(
      try extractAll(&iter, maxPages: 3) == [
        Run(frames: [UInt64(a.frame), UInt64(b.frame), f], offset: 0, count: 3 * pageSize),
        Run(frames: [f + 1, f + 2, f + 3], offset: 0, count: 3 * pageSize),
      ])
    try iter.revert(by: iter.consumedCount)
    #expect(
      try extractAll(&iter, maxBytes: pageSize + 100) == [
        Run(frames: [UInt64(a.frame), UInt64(b.frame)], offset: 0, count: pageSize + 100),
        Run(frames: [UInt64(b.frame), f], offset: 100, count: pageSize + 100),
        Run(frames: [f, f + 1], offset: 200, count: pageSize + 100),
        Run(frames: [f + 1, f + 2], offset: 300, count: pageSize + 100),
        Run(frames: [f + 2, f + 3], offset: 400, count: pageSize + 100),
        Run(frames: [f + 3], offset: 500, count: pageSize - 500),
      ])
    for folio in [a, gap, b, z] { try folio.put() }
    #expect(pool.audit().isEmpty)
  }

  @Test func aFolioQueueCursorStartingInsideAFolioHasAFirstPageOffset() throws {
    let pool = try PagePool(pageCount: 16)
    let z = try pool.allocateFolio(order: 2)
    let next = try pool.allocatePage()
    let queue = try FolioQueue([z, next])
    var iter = try IovIter(
      queue, direction: .source, firstSlot: FolioQueue.Slot(index: 0), offset: pageSize + 904,
      count: 3 * pageSize - 904 + 10)
    let f = UInt64(z.frame)
    #expect(
      try extractAll(&iter) == [
        Run(
          frames: [f + 1, f + 2, f + 3, UInt64(next.frame)], offset: 904,
          count: 3 * pageSize - 904 + 10)
      ])
    try z.put()
    try next.put()
  }

  @Test func aFolioQueueRetainsPerPageWhenAsked() throws {
    let pool = try PagePool(pageCount: 16)
    let z = try pool.allocateFolio(order: 2)
    let queue = try FolioQueue([z])
    #expect(queue.retention(for: []) == .none)
    #expect(queue.retention(for: .retain) == .pageReference)
    var iter = try IovIter(queue, direction: .destination)
    let plain = try iter.extractPages(maxBytes: 10, maxPages: 4)
    #expect(plain.retentionKind == .none)
    #expect(z.referenceCount == 1)
    plain.release()
    let held = try iter.extractPages(maxBytes: .max, maxPages: 2, options: .retain)
    #expect(held.pages.count == 2)
    #expect(held.offset == 10)
    #expect(held.count == 2 * pageSize - 10)
    #expect(z.referenceCount == 3)
    held.release()
    #expect(z.referenceCount == 1)
    try z.put()
    #expect(pool.audit().isEmpty)
  }

  @Test func aFolioQueueRunRetainsEveryFolioItListsAndReleasesEachOnce() throws {
    let pool = try PagePool(pageCount: 128)
    // 40 folios of orders 0 and 1 with pages allocated between them, across
    // two queue segments.
    var folios: [Folio] = []
    var gaps: [Folio] = []
    for k in 0..<40 {
      folios.append(try pool.allocateFolio(order: k % 2))
      gaps.append(try pool.allocatePage())
    }
    let queue = try FolioQueue(folios)
    var iter = try IovIter(
      queue, direction: .source, firstSlot: FolioQueue.Slot(segment: 0, slot: 29), offset: 100,
      count: 6 * pageSize)
    let held = try iter.extractPages(maxBytes: .max, maxPages: 6, options: .retain)
    // Slot 29 (order 1, from 100), 30 (order 0), 31 (order 1), 32 (order 0).
    #expect(
      held.pages.map(\.frame)
        == [
          folios[29].frame, folios[29].frame + 1, folios[30].frame, folios[31].frame,
          folios[31].frame + 1, folios[32].frame,
        ].map { UInt64($0) })
    #expect(held.offset == 100)
    #expect(held.count == 6 * pageSize - 100)
    #expect(held.retentionKind == .pageReference)
    #expect([29, 30, 31, 32].map { folios[$0].referenceCount } == [3, 2, 3, 2])
    #expect(pool.outstandingReferences == 80 + 6)
    held.release()
    #expect([29, 30, 31, 32].map { folios[$0].referenceCount } == [1, 1, 1, 1])
    #expect(pool.outstandingReferences == 80)
    // A freed folio in the middle of a run: nothing is held, nothing moves.
    try folios[32].put()
    let state = iter.saveState()
    #expect(
      throws: IterError.invalidSegment(
        index: 3, count: pageSize,
        reason: "cannot take a page reference: \(PagePoolError.notAllocated(frame: folios[32].frame))")
    ) {
      try iter.revert(by: iter.consumedCount)
      _ = try iter.extractPages(maxBytes: .max, maxPages: 8, options: .retain)
    }
    try iter.restore(state)
    #expect(pool.outstandingReferences == 79)
    for (k, folio) in folios.enumerated() where k != 32 { try folio.put() }
    for gap in gaps { try gap.put() }
    #expect(pool.audit().isEmpty)
  }

  // MARK: - Arguments of a direct call

  /// A pool, a bvec and a queue over the same two folios.
  private func directCallFixture() throws -> (PagePool, [Folio], BioVecArray, FolioQueue) {
    let pool = try PagePool(pageCount: 16)
    let a = try pool.allocateFolio(order: 1)
    let b = try pool.allocatePage()
    return (
      pool, [a, b], try BioVecArray([PageFragment(folio: a), PageFragment(folio: b)]),
      try FolioQueue([a, b])
    )
  }

  @Test(arguments: [Int.min, -1])
  func aNegativeMaxBytesInADirectCallIsATypedError(value: Int) throws {
    let (_, folios, bvec, queue) = try directCallFixture()
    let start = IterPosition(segmentIndex: 0, offset: 0)
    let error = IterError.negativeCount(argument: "maxBytes", value: value)
    #expect(throws: error) {
      try bvec.extractPages(at: start, maxBytes: value, maxPages: 1, options: []).release()
    }
    #expect(throws: error) {
      try queue.extractPages(at: start, maxBytes: value, maxPages: 1, options: []).release()
    }
    for folio in folios { try folio.put() }
  }

  @Test(arguments: [Int.min, -1, 0])
  func maxPagesBelowOneInADirectCallIsATypedError(value: Int) throws {
    let (_, folios, bvec, queue) = try directCallFixture()
    let start = IterPosition(segmentIndex: 0, offset: 0)
    let error = IterError.invalidArgument(
      argument: "maxPages", value: value, reason: "must be at least 1")
    #expect(throws: error) {
      try bvec.extractPages(at: start, maxBytes: 10, maxPages: value, options: []).release()
    }
    #expect(throws: error) {
      try queue.extractPages(at: start, maxBytes: 10, maxPages: value, options: []).release()
    }
    for folio in folios { try folio.put() }
  }

  @Test(arguments: [
    (Int.min, 0), (-1, 0), (3, 0), (Int.max, 0), (0, Int.min), (0, -1),
    (0, 2 * 4096 + 1), (0, Int.max), (1, 4097), (2, 1),
  ])
  func aPositionOutsideTheSourceInADirectCallIsATypedError(segmentIndex: Int, offset: Int) throws {
    let (pool, folios, bvec, queue) = try directCallFixture()
    let position = IterPosition(segmentIndex: segmentIndex, offset: offset)
    for options in [IterExtractionOptions(), .retain] {
      let errors = [
        thrownError { () throws(IterError) in
          try bvec.extractPages(at: position, maxBytes: .max, maxPages: 8, options: options).release()
        },
        thrownError { () throws(IterError) in
          try queue.extractPages(at: position, maxBytes: .max, maxPages: 8, options: options).release()
        },
      ]
      for error in errors {
        switch error {
        case .negativeCount(let argument, let value)?:
          #expect(argument == "position.offset" && value == offset)
        case .invalidArgument(let argument, let value, _)?:
          #expect(
            (argument == "position.segmentIndex" && value == segmentIndex)
              || (argument == "position.offset" && value == offset))
        default:
          Issue.record("position \(position): \(String(describing: error))")
        }
      }
    }
    #expect(pool.outstandingReferences == 2)
    for folio in folios { try folio.put() }
  }

  @Test func theLimitsOfADirectCallAreClampedToTheSource() throws {
    let (pool, folios, bvec, queue) = try directCallFixture()
    let start = IterPosition(segmentIndex: 0, offset: 0)
    let end = IterPosition(segmentIndex: 2, offset: 0)
    let whole = [folios[0].frame, folios[0].frame + 1, folios[1].frame].map { UInt64($0) }
    for source in [bvec as any IterSegmentSource, queue] {
      let all = try source.extractPages(
        at: start, maxBytes: .max, maxPages: .max, options: .retain)
      #expect(all.count == 3 * pageSize)
      #expect(all.pages.map(\.frame) == whole)
      all.release()
      let none = try source.extractPages(at: start, maxBytes: 0, maxPages: 1, options: .retain)
      #expect(none.count == 0 && none.pages.isEmpty && none.retentionKind == .none)
      let atEnd = try source.extractPages(at: end, maxBytes: .max, maxPages: 1, options: [])
      #expect(atEnd.count == 0 && atEnd.pages.isEmpty)
      // The end of a segment is a valid position: the run starts in the next.
      let fromEnd = try source.extractPages(
        at: IterPosition(segmentIndex: 0, offset: 2 * pageSize), maxBytes: 1, maxPages: 1,
        options: [])
      #expect(fromEnd.pages.map(\.frame) == [UInt64(folios[1].frame)])
    }
    #expect(pool.outstandingReferences == 2)
    for folio in folios { try folio.put() }
    #expect(pool.audit().isEmpty)
  }
}
