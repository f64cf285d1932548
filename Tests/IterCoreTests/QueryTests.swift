//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import Testing

@Suite("Counts, alignment, npages")
struct QueryTests {
  @Test func singleSegmentCount() throws {
    var iter = try IovIter(fakeList([(0x1000, 100), (0x2000, 50)]), direction: .source)
    #expect(iter.singleSegmentCount == 100)
    try iter.truncate(to: 30)
    #expect(iter.singleSegmentCount == 30)
    try iter.reexpand(to: 150)
    try iter.advance(by: 120)
    #expect(iter.singleSegmentCount == 30)  // one segment left: the count itself
  }

  @Test func alignmentIsTheOrOfStartsAndLengths() throws {
    var iter = try IovIter(fakeList([(0x1000, 512), (0x3000, 0), (0x2000, 4096)]), direction: .source)
    #expect(try iter.alignment == 0x1000 | 512 | 0x2000 | 4096)
    try iter.advance(by: 8)
    #expect(try iter.alignment == 0x1008 | 504 | 0x2000 | 4096)
    try iter.truncate(to: 100)
    #expect(try iter.alignment == 0x1008 | 100)
    try iter.truncate(to: 0)
    #expect(try iter.alignment == 0)
  }

  @Test func memorylessSegmentsAddNothingToAlignment() throws {
    let iter = try IovIter(
      UnsafeSegmentList([
        IterSegment(base: nil, count: 3), IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x4000), count: 8),
      ]),
      direction: .destination)
    #expect(try iter.alignment == 0x4000 | 8)
  }

  @Test func gapAlignmentIsTheOrOfEndsAndStarts() throws {
    var iter = try IovIter(fakeList([(0x1000, 512), (0x5000, 0), (0x2000, 4096), (0x4000, 16)]), direction: .source)
    #expect(try iter.gapAlignment == (0x1200 | 0x2000) | (0x3000 | 0x4000))
    try iter.truncate(to: 600)  // stops after the second non-empty segment
    #expect(try iter.gapAlignment == 0x1200 | 0x2000)
    try iter.reexpand(to: 4624)
    try iter.advance(by: 512)
    #expect(try iter.gapAlignment == 0x3000 | 0x4000)
    let single = try IovIter(fakeList([(0x1001, 7)]), direction: .source)
    #expect(try single.gapAlignment == 0)
  }

  @Test func pageCountWithACap() throws {
    let page = IterPage.size
    var iter = try IovIter(
      fakeList([(UInt(page - 0x100), 0x200), (UInt(8 * page), 3 * page), (UInt(20 * page), 1)]), direction: .source)
    #expect(try iter.pageCount() == 2 + 3 + 1)
    #expect(try iter.pageCount(limit: 4) == 4)
    #expect(try iter.pageCount(limit: 0) == 0)
    #expect(throws: IterError.negativeCount(argument: "limit", value: -1)) { try iter.pageCount(limit: -1) }
    try iter.advance(by: 0x100)
    #expect(try iter.pageCount() == 1 + 3 + 1)
    try iter.truncate(to: 0)
    #expect(try iter.pageCount() == 0)
  }
}

@Suite("Huge values do not overflow")
struct OverflowTests {
  /// Found by the fuzzer: `split(maxPieceCount: .max)` overflowed.
  @Test func splitWithNoPieceLimit() throws {
    let iter = try IovIter(UnsafeSegmentList([IterSegment(base: nil, count: Int.max)]), direction: .destination)
    let pieces = try iter.split(maxPieceCount: .max)
    #expect(pieces.count == 1 && pieces[0].count == Int.max)
    #expect(try iter.split(maxPieceCount: 1 << 62).count == 2)
  }

  @Test func pagesOfAHugeSegmentAtFakeAddresses() throws {
    let page = IterPage.size
    let huge = Int.max - 3 * page
    var iter = try IovIter(fakeList([(UInt(page + 1), huge)]), direction: .source)
    #expect(try iter.pageCount() == huge / page + 1)
    let run = try iter.extractPages(maxBytes: .max, maxPages: 2)
    #expect(run.count == 2 * page - 1 && run.pages.count == 2)
  }
}
