//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterBridge
import IterCore
import IterTestSupport
import IterTypes
import Testing

@Suite("Scatterlist as a buffer kind")
struct ScatterlistSourceTests {
  @Test func passesTheConformanceSuite() throws {
    let fixture = try ScatterlistFixture(pages: 16_384)
    var options = ConformanceOptions()
    options.operationsPerRun = 2_000
    let report = checkIterConformance(of: "ScatterlistSource", options: options) { bytes, seed in
      try ScatterlistSource(fixture.table(holding: bytes, seed: seed))
    }
    report.recordIssues()
    #expect(report.isClean)
    try fixture.releaseFolios()
  }

  /// The model in both directions, revert included, over chained tables of
  /// single-page, multi-page and empty entries.
  @Test(arguments: [IterDirection.source, .destination])
  func agreesWithTheModel(direction: IterDirection) throws {
    let fixture = try ScatterlistFixture(pages: 4096)
    var rng = SeededGenerator(seed: TestSeed.base ^ (direction == .source ? 0x5C1 : 0x5C2))
    for layout in 0..<8 {
      let seed = rng.next()
      let size = [0, 1, 100, 4096, 5000, 40_000][layout % 6]
      let data = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
      let source = try ScatterlistSource(fixture.table(holding: data, seed: seed))
      try checkAgainstModel(
        source, direction: direction, operations: 4_000, seed: seed,
        label: "scatterlist #\(layout) \(direction): \(source.segmentCount) entries")
    }
    try fixture.releaseFolios()
  }

  /// Extraction lists one entry's pages, with frames, holding nothing.
  @Test func extractionListsFramesAndHoldsNothing() throws {
    let fixture = try ScatterlistFixture(pages: 64)
    let folio = try fixture.folio(order: 2)
    let a = try ScatterlistArray(count: 2)
    try a.setFolio(folio, length: 2 * IterPage.size, offset: IterPage.size + 10, at: 0)
    try a.setFolio(folio, length: 5, offset: 0, at: 1)
    let source = try ScatterlistSource(ScatterlistTable(first: a.slot(at: 0), nents: 2, origNents: 2))
    #expect(source.memoryKind == .scatterlist && source.retention(for: .retain) == .none)
    var iter = try IovIter(source, direction: .source)
    let run = try iter.extractPages(maxBytes: Int.max, maxPages: 16)
    #expect(run.count == 2 * IterPage.size && run.offset == 10 && run.retentionKind == .none)
    let f = UInt64(folio.frame)
    #expect(run.pages.map(\.frame) == [f + 1, f + 2, f + 3])
    let next = try iter.extractPages(maxBytes: Int.max, maxPages: 16)
    #expect(next.count == 5 && next.pages.map(\.frame) == [f])
  }

  /// The source is a snapshot: changing the array afterwards moves nothing.
  @Test func aSourceIsASnapshot() throws {
    let fixture = try ScatterlistFixture(pages: 64)
    let table = try fixture.table(holding: Array(repeating: 3, count: 500), seed: 1, maxEntriesPerArray: 3)
    let source = try ScatterlistSource(table)
    let first = try table.slots()[0]
    try first.array.setPage(nil, length: 0, offset: 0, at: first.index)
    var iter = try IovIter(source, direction: .source)
    #expect(try iter.read(upTo: 1000) == Array(repeating: 3, count: 500))
    try fixture.releaseFolios()
  }
}
