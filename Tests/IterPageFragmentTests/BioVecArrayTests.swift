//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterPageFragment
import Testing

@Suite("BioVecArray")
struct BioVecArrayTests {
  @Test func entriesBecomeSegmentsOfPageFragmentMemory() throws {
    let pool = try PagePool(pageCount: 16)
    let a = try pool.allocatePage()
    let b = try pool.allocateFolio(order: 2)
    let bvec = try BioVecArray([
      PageFragment(folio: a, offset: 100, length: 50),
      PageFragment(folio: b, offset: 0, length: 0),
      PageFragment(folio: b),
    ])
    #expect(bvec.memoryKind == .pageFragment)
    #expect(bvec.segmentCount == 3)
    #expect(bvec.segment(at: 0).address == a.address + 100)
    #expect(bvec.segment(at: 0).count == 50)
    #expect(bvec.segment(at: 1).count == 0)
    #expect(bvec.segment(at: 2).address == b.address)
    #expect(bvec.segment(at: 2).count == 4 * IterPage.size)
    #expect(bvec.byteCount == 50 + 4 * IterPage.size)
    #expect(bvec.fragments.map(\.length) == [50, 0, 4 * IterPage.size])
    #expect(bvec.retention(for: []) == .none)
    #expect(bvec.retention(for: .retain) == .pageReference)
    #expect(!bvec.extractionWillPin)
    try a.put()
    try b.put()
  }

  @Test func aMultiPageEntryMayStartPastItsFirstPage() throws {
    let pool = try PagePool(pageCount: 16)
    fillPattern(pool)
    let folio = try pool.allocateFolio(order: 2)
    let offset = IterPage.size + 904  // 5000 with 4 KiB pages
    let bvec = try BioVecArray([PageFragment(folio: folio, offset: offset, length: 8000)])
    var iter = try IovIter(bvec, direction: .source)
    let read = try iter.read(upTo: .max)
    let arenaOffset = Int(folio.address - pool.address) + offset
    #expect(read == (arenaOffset..<(arenaOffset + 8000)).map(patternByte))
    // Extraction: the first page is the folio's second, with an in-page offset.
    var again = try IovIter(bvec, direction: .source)
    let e = try again.extractPages(maxBytes: .max, maxPages: 8)
    #expect(e.offset == 904)
    #expect(e.count == 8000)
    #expect(
      e.pages.map(\.frame)
        == [folio.frame + 1, folio.frame + 2, folio.frame + 3].map { UInt64($0) })
    #expect(e.pages[0].address == folio.address + UInt(IterPage.size))
    e.release()
    try folio.put()
  }

  @Test func aDestinationCursorWritesIntoTheFolios() throws {
    let pool = try PagePool(pageCount: 8)
    let folio = try pool.allocateFolio(order: 1, zeroed: true)
    let bvec = try BioVecArray([
      PageFragment(folio: folio, offset: 4090, length: 10),
      PageFragment(folio: folio, offset: 10, length: 3),
    ])
    var iter = try IovIter(bvec, direction: .destination)
    #expect(try iter.write(Array(1...13)) == 13)
    #expect(bytes(at: folio.address + 4090, count: 10) == Array(1...10))
    #expect(bytes(at: folio.address + 10, count: 3) == [11, 12, 13])
    try iter.revert(by: 5)
    #expect(iter.position == IterPosition(segmentIndex: 0, offset: 8))
    try folio.put()
  }

  @Test(arguments: [-1, Int.min])
  func aNegativeOffsetIsATypedError(offset: Int) throws {
    let pool = try PagePool(pageCount: 4)
    let folio = try pool.allocatePage()
    let good = PageFragment(folio: folio, offset: 0, length: 10)
    #expect(throws: IterError.negativeCount(argument: "fragments[1].offset", value: offset)) {
      try BioVecArray([good, PageFragment(folio: folio, offset: offset, length: 10)])
    }
    var bvec = try BioVecArray([good])
    #expect(throws: IterError.negativeCount(argument: "fragments[1].offset", value: offset)) {
      try bvec.append(PageFragment(folio: folio, offset: offset, length: 10))
    }
    #expect(bvec.fragments == [good])
    try folio.put()
  }

  @Test func aNegativeLengthIsATypedError() throws {
    let pool = try PagePool(pageCount: 4)
    let folio = try pool.allocatePage()
    #expect(throws: IterError.negativeCount(argument: "fragments[0].length", value: -4)) {
      try BioVecArray([PageFragment(folio: folio, offset: 8, length: -4)])
    }
    // The default length of an offset past the folio's end is negative too.
    #expect(throws: IterError.negativeCount(argument: "fragments[0].length", value: -1)) {
      try BioVecArray([PageFragment(folio: folio, offset: IterPage.size + 1)])
    }
    try folio.put()
  }

  @Test(arguments: [(0, 4097), (4096, 1), (4000, 97), (1, Int.max), (Int.max, 1)])
  func anEntryPastItsFolioIsATypedError(offset: Int, length: Int) throws {
    let pool = try PagePool(pageCount: 4)
    let folio = try pool.allocatePage()
    var bvec = BioVecArray()
    try bvec.append(PageFragment(folio: folio, offset: 0, length: 1))
    let before = bvec.fragments
    let error = #expect(throws: IterError.self) {
      try bvec.append(PageFragment(folio: folio, offset: offset, length: length))
    }
    guard case .invalidSegment(let index, let count, let reason)? = error else {
      Issue.record("unexpected \(String(describing: error))")
      return
    }
    #expect(index == 1)
    #expect(count == length)
    #expect(reason.contains("past the end"))
    #expect(bvec.fragments == before)
    // The whole folio, and an empty entry at its very end, are fine.
    try bvec.append(PageFragment(folio: folio, offset: 0, length: IterPage.size))
    try bvec.append(PageFragment(folio: folio, offset: IterPage.size, length: 0))
    try folio.put()
  }

  @Test func anEntryOverAFreedFolioIsATypedError() throws {
    let pool = try PagePool(pageCount: 4)
    let folio = try pool.allocatePage()
    try folio.put()
    #expect(
      throws: IterError.invalidSegment(
        index: 0, count: 10, reason: "\(PagePoolError.notAllocated(frame: folio.frame))")
    ) {
      try BioVecArray([PageFragment(folio: folio, offset: 0, length: 10)])
    }
    let reused = try pool.allocatePage()
    #expect(
      throws: IterError.invalidSegment(
        index: 0, count: 10, reason: "\(PagePoolError.staleFolio(frame: folio.frame, order: 0))")
    ) {
      try BioVecArray([PageFragment(folio: folio, offset: 0, length: 10)])
    }
    try reused.put()
  }

  @Test func appendingDoesNotChangeACursorBuiltBefore() throws {
    let pool = try PagePool(pageCount: 4)
    let folio = try pool.allocatePage()
    var bvec = try BioVecArray([PageFragment(folio: folio, offset: 0, length: 100)])
    let iter = try IovIter(bvec, direction: .source)
    try bvec.append(PageFragment(folio: folio, offset: 100, length: 100))
    #expect(iter.count == 100)
    #expect(iter.source.segmentCount == 1)
    #expect(bvec.segmentCount == 2)
    try folio.put()
  }

  // MARK: - Multi-page entries

  /// Frames 0 and 1 (order 0), 2...3 (order 1) and 4 (order 0), all
  /// allocated, and an entry over all of them from the first.
  private func fiveFrames() throws -> (PagePool, [Folio], PageFragment) {
    let pool = try PagePool(pageCount: 8)
    fillPattern(pool)
    let p0 = try pool.allocatePage()
    let p1 = try pool.allocatePage()
    let pair = try pool.allocateFolio(order: 1)
    let p4 = try pool.allocatePage()
    #expect([p0, p1, pair, p4].map(\.frame) == [0, 1, 2, 4])
    return (pool, [p0, p1, pair, p4], PageFragment(folio: p0, offset: 100, length: 4 * 4096 + 50))
  }

  @Test func anEntryMayRunOnOverTheAllocatedFramesAfterItsFolio() throws {
    let (pool, folios, entry) = try fiveFrames()
    let bvec = try BioVecArray([entry])
    #expect(bvec.segment(at: 0).address == pool.address + 100)
    #expect(bvec.segment(at: 0).count == 4 * 4096 + 50)
    var iter = try IovIter(bvec, direction: .source)
    #expect(try iter.pageCount() == 5)
    #expect(try iter.alignment == (pool.address + 100) | UInt(4 * 4096 + 50))
    #expect(try iter.read(upTo: .max) == (100..<(100 + 4 * 4096 + 50)).map(patternByte))
    try iter.revert(by: iter.consumedCount)
    let held = try iter.extractPages(maxBytes: .max, maxPages: 8, options: .retain)
    #expect(held.pages.map(\.frame) == [0, 1, 2, 3, 4])
    #expect(held.offset == 100)
    #expect(held.count == 4 * 4096 + 50)
    // One reference per listed page on the folio that holds it.
    #expect(folios.map(\.referenceCount) == [2, 2, 3, 2])
    held.release()
    #expect(folios.map(\.referenceCount) == [1, 1, 1, 1])
    // A destination cursor writes through all of it, and nothing else.
    var out = try IovIter(bvec, direction: .destination)
    #expect(try out.write([UInt8](repeating: 0xEE, count: 4 * 4096 + 50)) == 4 * 4096 + 50)
    #expect(bytes(at: pool.address, count: 100) == (0..<100).map(patternByte))
    #expect(bytes(at: pool.address + 100, count: 4 * 4096 + 50).allSatisfy { $0 == 0xEE })
    let after = 100 + 4 * 4096 + 50
    #expect(bytes(at: pool.address + UInt(after), count: 10) == (after..<(after + 10)).map(patternByte))
    for folio in folios { try folio.put() }
    #expect(pool.audit().isEmpty)
  }

  @Test func anEntryOntoAFreeFrameIsATypedError() throws {
    let (pool, folios, entry) = try fiveFrames()
    try folios[2].put()  // frames 2 and 3 are free now
    var bvec = BioVecArray()
    #expect(
      throws: IterError.invalidSegment(
        index: 0, count: entry.length,
        reason: "offset 100 + length \(entry.length) runs past the end of the 4096-byte folio "
          + "at frame 0 onto frames 1...4, which must all be allocated: "
          + "\(PagePoolError.notAllocated(frame: 2))")
    ) {
      try bvec.append(entry)
    }
    #expect(bvec.segmentCount == 0)
    // Up to the free frame is fine.
    try bvec.append(PageFragment(folio: folios[0], offset: 100, length: 2 * 4096 - 100))
    for k in [0, 1, 3] { try folios[k].put() }
    #expect(pool.audit().isEmpty)
  }

  @Test func anEntryPastTheArenaIsATypedError() throws {
    let pool = try PagePool(pageCount: 2)
    let a = try pool.allocatePage()
    let b = try pool.allocatePage()
    let reason =
      "offset 10 + length \(2 * 4096) runs past the end of the pool's arena (2 pages) "
      + "from the folio at frame 0"
    #expect(
      throws: IterError.invalidSegment(index: 0, count: 2 * 4096, reason: reason)
    ) {
      try BioVecArray([PageFragment(folio: a, offset: 10, length: 2 * 4096)])
    }
    _ = try BioVecArray([PageFragment(folio: a, offset: 10, length: 2 * 4096 - 10)])
    #expect(throws: IterError.self) {
      try BioVecArray([PageFragment(folio: b, offset: 0, length: 4097)])
    }
    try a.put()
    try b.put()
  }

  @Test func retainingAfterAFolioUnderTheEntryWasReplacedIsATypedError() throws {
    let (pool, folios, entry) = try fiveFrames()
    let bvec = try BioVecArray([entry])
    // The caller breaks the lifetime rule: frame 4 is freed and handed out
    // again, so the entry's handle on it is stale.
    try folios[3].put()
    let other = try pool.allocatePage()
    #expect(other.frame == 4)
    var iter = try IovIter(bvec, direction: .source)
    #expect(
      throws: IterError.invalidSegment(
        index: 0, count: entry.length,
        reason: "cannot take a page reference: \(PagePoolError.staleFolio(frame: 4, order: 0))")
    ) {
      _ = try iter.extractPages(maxBytes: .max, maxPages: 8, options: .retain)
    }
    #expect(iter.consumedCount == 0)
    #expect(pool.outstandingReferences == 4)
    for k in 0..<3 { try folios[k].put() }
    try other.put()
    #expect(pool.audit().isEmpty)
  }

  @Test(arguments: [Int.min, -1])
  func aDefaultLengthAfterANegativeOffsetDoesNotTrap(offset: Int) throws {
    let pool = try PagePool(pageCount: 1)
    let folio = try pool.allocatePage()
    let fragment = PageFragment(folio: folio, offset: offset)
    #expect(fragment.length > 0)
    #expect(throws: IterError.negativeCount(argument: "fragments[0].offset", value: offset)) {
      try BioVecArray([fragment])
    }
    try folio.put()
  }
}
