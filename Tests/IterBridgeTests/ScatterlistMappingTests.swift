//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterBridge
import IterCore
import IterTestSupport
import IterTypes
import Testing

@Suite("Scatterlist mapping iterator and copies")
struct ScatterlistMappingTests {
  func bytes(_ n: Int, seed: UInt64) -> [UInt8] {
    var rng = SeededGenerator(seed: seed)
    return (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
  }

  /// Pieces never cross a page, and lowering `consumed` hands the rest out
  /// again: reading a few bytes per piece still sees every byte once.
  @Test(arguments: [0, 1, 3, 17])
  func partialConsumptionSeesEveryByteOnce(step: Int) throws {
    let fixture = try ScatterlistFixture()
    let data = bytes(30_000, seed: UInt64(step))
    let table = try fixture.table(holding: data, seed: 11)
    var miter = try ScatterlistMappingIterator(table, flags: .fromScatterlist)
    var seen: [UInt8] = []
    while try miter.next() {
      #expect(miter.length > 0)
      #expect(Int(miter.address % UInt(IterPage.size)) + miter.length <= IterPage.size)
      #expect(miter.page!.address == miter.address & ~UInt(IterPage.size - 1))
      let take = step == 0 ? miter.length : min(step, miter.length)
      miter.withUnsafeMutableBytes { seen += $0.prefix(take) }
      miter.consumed = take
    }
    miter.stop()
    #expect(seen == data)
    try fixture.releaseFolios()
  }

  /// Pieces of a pool entry name the page they are in, frames included.
  @Test func multiPageEntriesArePagedWithFrames() throws {
    let fixture = try ScatterlistFixture(pages: 64)
    let folio = try fixture.folio(order: 2)
    let a = try ScatterlistArray(count: 1)
    try a.setFolio(folio, length: 2 * IterPage.size, offset: IterPage.size + 100, at: 0)
    let table = try ScatterlistTable(first: a.slot(at: 0), nents: 1, origNents: 1)
    var miter = try ScatterlistMappingIterator(table, flags: .toScatterlist)
    var pieces: [(UInt64?, Int)] = []
    while try miter.next() { pieces.append((miter.page?.frame, miter.length)) }
    let f = UInt64(folio.frame)
    #expect(pieces.map(\.0) == [f + 1, f + 2, f + 3])
    #expect(pieces.map(\.1) == [IterPage.size - 100, IterPage.size, 100])
  }

  @Test func skipMovesAndReportsTheEnd() throws {
    let fixture = try ScatterlistFixture()
    let data = bytes(9_000, seed: 5)
    let table = try fixture.table(holding: data, seed: 3)
    var miter = try ScatterlistMappingIterator(table, flags: .fromScatterlist)
    #expect(try miter.skip(4_000))
    #expect(try miter.next())
    miter.withUnsafeMutableBytes { #expect($0.first == data[4_000]) }
    miter.consumed = 10
    #expect(try miter.skip(100))  // stops first: the 10 count
    #expect(try miter.next())
    miter.withUnsafeMutableBytes { #expect($0.first == data[4_110]) }
    #expect(try !miter.skip(9_000))
    #expect(throws: IterError.negativeCount(argument: "count", value: -1)) { try miter.skip(-1) }
    #expect(throws: IterError.self) { try ScatterlistMappingIterator(table, flags: .atomic) }
    // consumed is clamped to the piece.
    var m2 = try ScatterlistMappingIterator(table, flags: .fromScatterlist)
    #expect(try m2.next())
    m2.consumed = m2.length + 5
    #expect(m2.consumed == m2.length)
    m2.consumed = -3
    #expect(m2.consumed == 0)
    try fixture.releaseFolios()
  }

  /// `sg_pcopy_from_buffer` / `sg_pcopy_to_buffer` / `sg_zero_buffer` with
  /// every skip around the page and entry edges.
  @Test(arguments: [0, 1, 4095, 4096, 4097, 12_345, 19_999, 20_000, 25_000])
  func copiesWithSkip(skip: Int) throws {
    let fixture = try ScatterlistFixture()
    let data = bytes(20_000, seed: 9)
    let table = try fixture.table(holding: [UInt8](repeating: 0, count: 20_000), seed: 4)
    #expect(try table.copy(from: data.span.bytes) == 20_000)
    let expectedCount = max(0, min(20_000 - skip, 5_000))
    var out = [UInt8](repeating: 0xAA, count: 5_000)
    var span = out.mutableSpan
    var raw = span.mutableBytes
    let copied = try table.copy(into: &raw, skip: skip)
    #expect(copied == expectedCount)
    #expect(Array(out.prefix(copied)) == Array(data.dropFirst(skip).prefix(copied)))
    #expect(out.dropFirst(copied).allSatisfy { $0 == 0xAA })
    #expect(try table.zero(count: 100, skip: skip) == max(0, min(100, 20_000 - skip)))
    var all = [UInt8](repeating: 0, count: 20_000)
    var allSpan = all.mutableSpan
    var allRaw = allSpan.mutableBytes
    #expect(try table.copy(into: &allRaw) == 20_000)
    var expected = data
    if skip < 20_000 { for k in skip..<min(skip + 100, 20_000) { expected[k] = 0 } }
    #expect(all == expected)
    #expect(throws: IterError.self) { try table.copy(from: data.span.bytes, skip: -1) }
    try fixture.releaseFolios()
  }

  /// A table walked past a malformed entry: the bytes before it are
  /// copied, then the typed error.
  @Test func copyStopsAtAMalformedEntryWithATypedError() throws {
    let fixture = try ScatterlistFixture(pages: 16)
    let page = try fixture.folio(order: 0).page(at: 0)!
    let a = try ScatterlistArray(count: 2)
    try a.setPage(page, length: 100, offset: 0, at: 0)
    try a.setPage(page, length: IterPage.size, offset: 200, at: 1)
    let table = try ScatterlistTable(first: a.slot(at: 0), nents: 2, origNents: 2)
    #expect { try table.copy(from: [UInt8](repeating: 7, count: 300).span.bytes) } throws: {
      isInvalidSegment($0 as! IterError, mentioning: "runs past its")
    }
  }
}
