//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterBridge
import IterCore
import IterTestSupport
import IterTypes
import Testing

/// Whether `error` is `invalidSegment` whose reason mentions `text`.
func isInvalidSegment(_ error: IterError, mentioning text: String) -> Bool {
  if case .invalidSegment(_, _, let reason) = error { return reason.contains(text) }
  return false
}

@Suite("Scatterlist tables")
struct ScatterlistTableTests {
  /// `__sg_alloc_table`: arrays of `max_ents`, every one but the last gives
  /// its last entry to the link, and the last data entry is the end.
  @Test(arguments: [(1, 4), (4, 4), (5, 4), (7, 4), (9, 4), (300, 128), (10, 2)])
  func allocationChunksWithLinkEntries(entryCount: Int, perArray: Int) throws {
    let table = try ScatterlistTable(entryCount: entryCount, maxEntriesPerArray: perArray)
    #expect(table.nents == entryCount && table.origNents == entryCount)
    let slots = try table.slots()
    #expect(slots.count == entryCount)
    #expect(slots.last!.entry.isEnd)
    #expect(slots.dropLast().allSatisfy { !$0.entry.isEnd && !$0.entry.isChain })
    // Arrays: all full but the last; links at their last entry.
    var arrays = 0
    var dataLeft = entryCount
    for array in table.arrays {
      arrays += 1
      if dataLeft > perArray {
        #expect(array.count == perArray)
        #expect(array.entries[perArray - 1].isChain)
        dataLeft -= perArray - 1
      } else {
        #expect(array.count == dataLeft)
        dataLeft = 0
      }
    }
    #expect(dataLeft == 0)
    #expect(try table.entryCount() == entryCount)
    #expect(try slots.last!.next() == nil)
  }

  @Test func allocationRefusesBadCounts() {
    #expect(throws: IterError.self) { try ScatterlistTable(entryCount: 0) }
    #expect(throws: IterError.self) { try ScatterlistTable(entryCount: -3) }
    #expect(throws: IterError.self) { try ScatterlistTable(entryCount: 5, maxEntriesPerArray: 1) }
    #expect(throws: IterError.self) { try ScatterlistTable(entryCount: ScatterlistTable.maximumEntryCount + 1) }
    #expect((try? ScatterlistTable(entryCount: 1, maxEntriesPerArray: 1)) != nil)
    #expect(throws: IterError.self) { try ScatterlistArray(count: 0) }
  }

  /// `sg_init_table`, `sg_set_page`, `sg_mark_end`, `sg_chain`, `sg_next`
  /// over two hand-made arrays.
  @Test func handMadeChainWalksAcrossTheLink() throws {
    let a = try ScatterlistArray(count: 3)
    let b = try ScatterlistArray(count: 2)
    #expect(a.entries[2].isEnd && !a.entries[0].isEnd)
    let page = IterPage(address: 0x10000)
    try a.setPage(page, length: 10, offset: 5, at: 0)
    try a.setPage(page, length: 20, offset: 100, at: 1)
    try a.chain(entryCount: 3, to: b.slot(at: 0))
    #expect(a.entries[2].isChain && !a.entries[2].isEnd)
    try b.setPage(page, length: 30, offset: 200, at: 0)
    try b.markEnd(at: 0)
    let table = try ScatterlistTable(first: a.slot(at: 0), nents: 3, origNents: 3, keepingAlive: [b])
    let lengths = try table.slots().map(\.entry.length)
    #expect(lengths == [10, 20, 30])
    #expect(try table.entryCount() == 3)
    // Setting a link as data is refused; the end mark survives sg_set_page.
    #expect(throws: IterError.self) { try a.setPage(page, length: 1, offset: 0, at: 2) }
    try b.setPage(page, length: 31, offset: 200, at: 0)
    #expect(b.entries[0].isEnd)
    try b.unmarkEnd(at: 0)
    #expect(!b.entries[0].isEnd)
    a.initTable()
    #expect(a.entries[2].isEnd && !a.entries[2].isChain && a.entries[0].length == 0)
  }

  @Test func setterValuesAreChecked() throws {
    let a = try ScatterlistArray(count: 2)
    let page = IterPage(address: 0x1000)
    #expect(throws: IterError.self) { try a.setPage(page, length: Int(UInt32.max) + 1, offset: 0, at: 0) }
    #expect(throws: IterError.self) { try a.setPage(page, length: -1, offset: 0, at: 0) }
    #expect(throws: IterError.self) { try a.setPage(page, length: 1, offset: -1, at: 0) }
    #expect(throws: IterError.self) { try a.setPage(page, length: 1, offset: 0, at: 2) }
    #expect(throws: IterError.self) { try a.setDMA(address: 0, length: -5, at: 0) }
    #expect(throws: IterError.self) { try a.chain(entryCount: 3, to: a.slot(at: 0)) }
    #expect(throws: IterError.self) { try a.slot(at: -1) }
    try a.setDMA(address: 0xdead_0000, length: 4096, flags: [.busAddress, .bounced], at: 0)
    #expect(a.entries[0].dmaAddress == 0xdead_0000 && a.entries[0].dmaFlags == [.busAddress, .bounced])
    try a.setBuffer(address: 0x12345, length: 7, at: 1)
    #expect(a.entries[1].page?.address == 0x12000 && a.entries[1].offset == 0x345)
  }

  // MARK: - Malformed lists

  @Test func cyclicChainIsATypedError() throws {
    let a = try ScatterlistArray(count: 3)
    let b = try ScatterlistArray(count: 3)
    try a.chain(entryCount: 3, to: b.slot(at: 0))
    try b.chain(entryCount: 3, to: a.slot(at: 0))  // no end marker anywhere: a loop
    let table = try ScatterlistTable(first: a.slot(at: 0), nents: 1_000, origNents: 1_000, keepingAlive: [a, b])
    #expect { try table.entryCount() } throws: { isInvalidSegment($0 as! IterError, mentioning: "cyclic") }
    #expect { try table.slots() } throws: { isInvalidSegment($0 as! IterError, mentioning: "cyclic") }
    #expect { try ScatterlistSource(table) } throws: { isInvalidSegment($0 as! IterError, mentioning: "cyclic") }
    var miter = try ScatterlistMappingIterator(table, flags: .fromScatterlist)
    #expect { try miter.skip(1) } throws: { isInvalidSegment($0 as! IterError, mentioning: "cyclic") }
    // A link into the middle of its own array.
    let c = try ScatterlistArray(count: 4)
    try c.setLink(at: 3, to: ScatterlistChainTarget(array: c, index: 1))
    let t2 = try ScatterlistTable(first: c.slot(at: 0), nents: 50, origNents: 50)
    #expect { try t2.validate() } throws: { isInvalidSegment($0 as! IterError, mentioning: "cyclic") }
  }

  @Test func missingEndMarkerIsATypedError() throws {
    let a = try ScatterlistArray(count: 2)
    try a.unmarkEnd(at: 1)
    let table = try ScatterlistTable(first: a.slot(at: 0), nents: 3, origNents: 3)
    #expect { try table.slots() } throws: { isInvalidSegment($0 as! IterError, mentioning: "without an end marker") }
    #expect { try table.copy(from: [UInt8](repeating: 1, count: 10).span.bytes) } throws: {
      isInvalidSegment($0 as! IterError, mentioning: "without an end marker")
    }
    // Within its count, a list without an end marker is fine (an append table in progress).
    let bounded = try ScatterlistTable(first: a.slot(at: 0), nents: 2, origNents: 2)
    #expect(try bounded.slots().count == 2)
  }

  @Test func linkPointingNowhereIsATypedError() throws {
    let a = try ScatterlistArray(count: 2)
    do {
      let b = try ScatterlistArray(count: 1)
      try a.chain(entryCount: 2, to: b.slot(at: 0))
    }  // b is gone: the link holds it weakly
    #expect(a.entries[1].chainTarget?.array == nil)
    let table = try ScatterlistTable(first: a.slot(at: 0), nents: 2, origNents: 2)
    #expect { try table.slots() } throws: { isInvalidSegment($0 as! IterError, mentioning: "points nowhere") }
    let c = try ScatterlistArray(count: 2)
    try c.setLink(at: 1, to: ScatterlistChainTarget(array: a, index: 7))
    let t2 = try ScatterlistTable(first: c.slot(at: 0), nents: 2, origNents: 2, keepingAlive: [a])
    #expect { try t2.slots() } throws: { isInvalidSegment($0 as! IterError, mentioning: "points to entry 7") }
    try c.setLink(at: 1, to: ScatterlistChainTarget(array: a, index: 1))  // a[1] is a link
    #expect { try t2.slots() } throws: { isInvalidSegment($0 as! IterError, mentioning: "another chain link") }
    let t3 = try ScatterlistTable(first: a.slot(at: 1), nents: 1, origNents: 1)
    #expect { try t3.slots() } throws: { isInvalidSegment($0 as! IterError, mentioning: "starts with a chain") }
  }

  @Test func listShorterThanItsCountIsATypedError() throws {
    let table = try ScatterlistTable(entryCount: 3)
    var longer = table
    longer.origNents = 5
    #expect { try longer.slots() } throws: { isInvalidSegment($0 as! IterError, mentioning: "ends after 3") }
    #expect { try ScatterlistSource(longer) } throws: { isInvalidSegment($0 as! IterError, mentioning: "ends after 3") }
    longer.origNents = -1
    #expect(throws: IterError.negativeCount(argument: "nents", value: -1)) { try longer.slots() }
  }

  @Test func entriesPastTheirPageAreTypedErrors() throws {
    let fixture = try ScatterlistFixture(pages: 64)
    let page = try fixture.folio(order: 0).page(at: 0)!
    let pageSize = IterPage.size
    let a = try ScatterlistArray(count: 1)
    let table = try ScatterlistTable(first: a.slot(at: 0), nents: 1, origNents: 1)
    try a.setPage(page, length: pageSize, offset: 1, at: 0)
    #expect { try ScatterlistSource(table) } throws: { isInvalidSegment($0 as! IterError, mentioning: "runs past its") }
    try a.setPage(page, length: 1, offset: pageSize, at: 0)
    #expect { try table.validate() } throws: { isInvalidSegment($0 as! IterError, mentioning: "runs past its") }
    try a.setPage(page, length: Int(UInt32.max), offset: Int(UInt32.max), at: 0)  // huge: no overflow
    #expect { try table.validate() } throws: { isInvalidSegment($0 as! IterError, mentioning: "runs past") }
    try a.setPage(nil, length: 5, offset: 0, at: 0)
    #expect { try table.validate() } throws: { isInvalidSegment($0 as! IterError, mentioning: "without a page") }
    try a.setPage(IterPage(address: page.address + 8), length: 5, offset: 0, at: 0)
    #expect { try table.validate() } throws: { isInvalidSegment($0 as! IterError, mentioning: "not page-aligned") }
    // A folio entry may span its pool's frames, but not past the arena.
    let folio = try fixture.folio(order: 2)
    try a.setFolio(folio, length: 3 * pageSize, offset: pageSize + 7, at: 0)
    #expect(try table.validate() == 3 * pageSize)
    try a.setFolio(folio, length: Int(UInt32.max), offset: 0, at: 0)
    #expect { try table.validate() } throws: { isInvalidSegment($0 as! IterError, mentioning: "pool's last frame") }
    // Zero-length entries need nothing.
    try a.setPage(nil, length: 0, offset: 99_999, at: 0)
    #expect(try table.validate() == 0)
    try fixture.releaseFolios()
  }
}
