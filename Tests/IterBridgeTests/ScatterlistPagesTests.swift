//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterBridge
import IterCore
import IterTestSupport
import IterTypes
import Testing

@Suite("Scatterlists from pages")
struct ScatterlistPagesTests {
  let pageSize = IterPage.size

  /// Pages of one pool at the given frames.
  func pages(_ pool: PagePool, _ frames: [Int]) -> [IterPage] { frames.map { pool.page(atFrame: $0)! } }

  /// `(offset, length)` of every entry, and the frame of its page.
  func layout(_ table: ScatterlistTable) throws -> [(frame: UInt64?, offset: Int, length: Int)] {
    try table.slots().map { ($0.entry.page?.frame, $0.entry.offset, $0.entry.length) }
  }

  /// The kernel's merging: consecutive frames of one pool become one entry.
  @Test func consecutiveFramesMerge() throws {
    let pool = try PagePool(pageCount: 64)
    let table = try ScatterlistTable(
      pages: pages(pool, [3, 4, 5, 9, 10, 20]), offset: 100, size: 6 * pageSize - 100 - 50, pool: pool)
    let l = try layout(table)
    #expect(l.count == 3)
    #expect(l[0].frame == 3 && l[0].offset == 100 && l[0].length == 3 * pageSize - 100)
    #expect(l[1].frame == 9 && l[1].offset == 0 && l[1].length == 2 * pageSize)
    #expect(l[2].frame == 20 && l[2].length == pageSize - 50)
    #expect(table.nents == 3 && table.origNents == 3)
    #expect(try table.validate() == 6 * pageSize - 150)
    // Without the pool nothing is known to be adjacent: one entry per page.
    let plain = try ScatterlistTable(pages: pages(pool, [3, 4, 5]), offset: 0, size: 3 * pageSize)
    #expect(try layout(plain).count == 3)
  }

  /// `max_segment` caps an entry, rounded down to a page.
  @Test func maxSegmentSplitsRuns() throws {
    let pool = try PagePool(pageCount: 64)
    let table = try ScatterlistTable(
      pages: pages(pool, Array(0..<7)), offset: 0, size: 7 * pageSize, maxSegment: 2 * pageSize + 100,
      pool: pool)
    #expect(try layout(table).map(\.length) == [2, 2, 2, 1].map { $0 * pageSize })
    #expect(throws: IterError.self) {
      try ScatterlistTable(pages: pages(pool, [0]), offset: 0, size: 1, maxSegment: pageSize - 1)
    }
  }

  /// Chunking with link entries, as `get_next_sg` grows the list.
  @Test func manyChunksChainArrays() throws {
    let pool = try PagePool(pageCount: 64)
    let frames = Array(stride(from: 0, to: 40, by: 2))  // 20 separate pages
    let table = try ScatterlistTable(
      pages: pages(pool, frames), offset: 0, size: 20 * pageSize, pool: pool, maxEntriesPerArray: 4)
    let l = try layout(table)
    #expect(l.count == 20 && l.map(\.frame) == frames.map { UInt64($0) })
    #expect(table.arrays.count == 7)  // 3 data entries per full array: 3*6 + 2
    #expect(try table.entryCount() == 20)
  }

  /// `sg_alloc_append_table_from_pages`: a later call continues the last
  /// entry when its first page is the next frame, and the end is marked
  /// only when no pages are left.
  @Test func appendMergesIntoThePreviousEntry() throws {
    let pool = try PagePool(pageCount: 64)
    var append = try ScatterlistAppendTable(maxEntriesPerArray: 3)
    try append.append(pages: pages(pool, [1, 2]), offset: 0, size: 2 * pageSize, pool: pool, leftPages: 4)
    #expect(append.table.nents == 1 && !append.previous!.entry.isEnd)
    try append.append(pages: pages(pool, [3, 7]), offset: 0, size: 2 * pageSize, pool: pool, leftPages: 2)
    #expect(append.table.nents == 2)
    #expect(try layout(append.table).map(\.length) == [3 * pageSize, pageSize])
    try append.append(pages: pages(pool, [8, 30]), offset: 0, size: pageSize + 10, pool: pool, leftPages: 0)
    let l = try layout(append.table)
    #expect(l.map(\.length) == [3 * pageSize, 2 * pageSize, 10])
    #expect(append.previous!.entry.isEnd)
    #expect(append.totalNents >= append.table.nents)
    // Offsets other than 0 are refused when appending; so is a new entry after the end.
    #expect(throws: IterError.self) {
      try append.append(pages: pages(pool, [40]), offset: 5, size: 10, pool: pool)
    }
    let before = try layout(append.table).map(\.length)
    #expect(throws: IterError.self) {
      try append.append(pages: pages(pool, [40]), offset: 0, size: 10, pool: pool)
    }
    #expect(try layout(append.table).map(\.length) == before)
  }

  @Test func badArgumentsChangeNothing() throws {
    let pool = try PagePool(pageCount: 16)
    var append = try ScatterlistAppendTable()
    let p = pages(pool, [0, 1])
    for (offset, size) in [(-1, 10), (pageSize, 10), (0, 0), (0, pageSize), (0, 2 * pageSize + 1), (100, 2 * pageSize)]
      + [(pageSize - 100, 0)]
    {
      #expect(throws: IterError.self) { try append.append(pages: p, offset: offset, size: size, pool: pool) }
    }
    #expect(throws: IterError.self) { try append.append(pages: [p[0]], offset: pageSize - 100, size: 0) }
    #expect(throws: IterError.self) { try append.append(pages: [], offset: 0, size: 0) }
    #expect(throws: IterError.self) {
      try append.append(pages: [IterPage(address: 0x1001)], offset: 0, size: 1)
    }
    #expect(throws: IterError.self) {
      try append.append(pages: [IterPage(address: pool.address, frame: 9)], offset: 0, size: 1, pool: pool)
    }
    #expect(throws: IterError.self) { try append.append(pages: p, offset: 0, size: 5000, leftPages: -1) }
    #expect(throws: IterError.self) { try ScatterlistAppendTable(maxEntriesPerArray: 1) }
    #expect(append.table.first == nil && append.table.nents == 0)
  }
}
