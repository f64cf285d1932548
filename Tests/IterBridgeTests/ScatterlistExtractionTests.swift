//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterBridge
import IterCore
import IterTestSupport
import IterTypes
import Testing

/// The buffer kinds the round trips run over.
enum RoundTripKind: String, CaseIterable, Sendable {
  case userBuffer, userIOVecArray, bioVecArray, folioQueue, kvecArray, unsafeSegmentList, chain, outsideKind
}

@Suite("Iterator to scatterlist and back", .pinsExclusively)
struct ScatterlistExtractionTests {
  func bytes(_ n: Int, seed: UInt64) -> [UInt8] {
    var rng = SeededGenerator(seed: seed)
    return (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
  }

  /// Iterator → scatterlist (in two calls, into a chained table with
  /// entries already in it) → iterator, byte-exact both ways, for `kind`.
  func roundTrip<S: IterSegmentSource>(
    _ make: () throws -> IovIter<S>, bytes data: [UInt8], fixture: ScatterlistFixture,
    options: IterExtractionOptions, seed: UInt64
  ) throws {
    var rng = SeededGenerator(seed: seed)
    let baseline = fixture.heldRetentions
    var iter = try make()
    let pre = Int.random(in: 0...3, using: &rng)
    let room = data.count / IterPage.size + 40 + data.count / 4  // one-byte segments make one entry each
    var table = try ScatterlistTable(entryCount: pre + room, maxEntriesPerArray: Int.random(in: 3...9, using: &rng))
    // Entries already in the table must stay as they are.
    let preSlots = try table.slots(count: pre)
    for (k, slot) in preSlots.enumerated() {
      try slot.array.setPage(IterPage(address: 0x5000), length: k + 1, offset: 7, at: slot.index)
    }
    table.nents = pre
    let half = Int.random(in: 0...data.count, using: &rng)
    let first = try extractIterToScatterlist(&iter, maxBytes: half, into: &table, maxEntries: room, options: options)
    #expect(first.byteCount == half && iter.count == data.count - half)
    let second = try extractIterToScatterlist(
      &iter, maxBytes: Int.max, into: &table, maxEntries: pre + room - table.nents, options: options)
    #expect(first.byteCount + second.byteCount == data.count && iter.isEmpty)
    #expect(table.nents == pre + first.entryCount + second.entryCount)
    for (k, slot) in preSlots.enumerated() {
      #expect(slot.entry.length == k + 1 && slot.entry.offset == 7 && slot.entry.page?.address == 0x5000)
    }
    // Only the extracted entries: a table that starts after the old ones.
    let all = try table.slots(count: table.nents)
    var extracted = ScatterlistTable()
    if table.nents > pre {
      extracted = try ScatterlistTable(
        first: all[pre], nents: table.nents - pre, origNents: table.nents - pre, keepingAlive: table.arrays)
    }
    for slot in all.dropFirst(pre) {
      #expect(slot.entry.offset + slot.entry.length <= IterPage.size)  // never past its page
      #expect(slot.entry.length > 0)
    }
    // Back: read through a cursor over the scatterlist, and copy out.
    let source = try ScatterlistSource(extracted)
    var reader = try IovIter(source, direction: .source)
    #expect(try reader.read(upTo: data.count + 1) == data)
    var out = [UInt8](repeating: 0, count: data.count)
    var span = out.mutableSpan
    var raw = span.mutableBytes
    #expect(try extracted.copy(into: &raw) == data.count)
    #expect(out == data)
    // And the other way: write through the scatterlist, read the original kind.
    let fresh = bytes(data.count, seed: seed &+ 1)
    var writer = try IovIter(source, direction: .destination)
    #expect(try writer.write(fresh) == data.count)
    var check = try make()
    #expect(try check.read(upTo: data.count + 1) == fresh)
    first.release()
    second.release()
    #expect(fixture.heldRetentions == baseline)
  }

  static let sizes = [0, 1, 300, 4096, 9_000, 70_000]

  @Test(arguments: RoundTripKind.allCases, sizes)
  func roundTripIsByteExact(kind: RoundTripKind, size: Int) throws {
    let fixture = try ScatterlistFixture()
    let seed = TestSeed.base ^ UInt64(size &* 31 &+ kind.rawValue.count)
    var rng = SeededGenerator(seed: seed)
    let data = bytes(size, seed: seed)
    for options in [IterExtractionOptions(), .retain] {
      switch kind {
      case .userBuffer:
        let b = try fixture.userBuffer(data, &rng)
        try roundTrip(
          { try IovIter(b, direction: .source) }, bytes: data, fixture: fixture, options: options, seed: seed)
      case .userIOVecArray:
        let b = try fixture.userIOVecs(data, &rng)
        try roundTrip(
          { try IovIter(b, direction: .source) }, bytes: data, fixture: fixture, options: options, seed: seed)
      case .bioVecArray:
        let b = try fixture.pageFragments(data, &rng)
        try roundTrip(
          { try IovIter(b, direction: .source) }, bytes: data, fixture: fixture, options: options, seed: seed)
      case .folioQueue:
        let (q, lead) = try fixture.folioQueue(data, &rng)
        try roundTrip(
          { try IovIter(q, direction: .source, offset: lead, count: data.count) }, bytes: data, fixture: fixture,
          options: options, seed: seed)
      case .kvecArray:
        let b = try fixture.kvec(data, &rng)
        try roundTrip(
          { try IovIter(b, direction: .source) }, bytes: data, fixture: fixture, options: options, seed: seed)
      case .unsafeSegmentList:
        let b = fixture.segmentList(data, &rng)
        try roundTrip(
          { try IovIter(b, direction: .source) }, bytes: data, fixture: fixture, options: options, seed: seed)
      case .chain:
        let c = try fixture.chain(data, &rng)
        try roundTrip(
          { try IovIter(c, direction: .source) }, bytes: data, fixture: fixture, options: options, seed: seed)
      case .outsideKind:
        let b = OutsideKind(holding: data)
        try roundTrip(
          { try IovIter(b, direction: .source) }, bytes: data, fixture: fixture, options: options, seed: seed)
      }
    }
    try fixture.releaseFolios()
    #expect(fixture.pool.audit().isEmpty)
  }

  /// The kvec bug fixed in 2026: each entry's length was the whole rest of
  /// the kvec, running past its page. Here a kvec spanning pages gives
  /// one entry per page, each inside its page.
  @Test func kvecEntriesNeverRunPastTheirPage() throws {
    let fixture = try ScatterlistFixture(pages: 16)
    let region = try fixture.regions.allocate(byteCount: 5 * IterPage.size)
    let kvec = try KVecArray([KVec(region, offset: 100, count: 3 * IterPage.size)])
    var iter = try IovIter(kvec, direction: .source)
    var table = try ScatterlistTable(entryCount: 8)
    table.nents = 0
    let ex = try extractIterToScatterlist(&iter, maxBytes: Int.max, into: &table, maxEntries: 8)
    #expect(ex.byteCount == 3 * IterPage.size && ex.entryCount == 4)
    let l = try table.slots(count: table.nents).map { ($0.entry.offset, $0.entry.length) }
    #expect(l.map(\.0) == [100, 0, 0, 0])
    #expect(l.map(\.1) == [IterPage.size - 100, IterPage.size, IterPage.size, 100])
    // Running out of entries counts only the bytes described (the fix's `ret -= len`).
    var iter2 = try IovIter(kvec, direction: .source)
    var t2 = try ScatterlistTable(entryCount: 2)
    t2.nents = 0
    let ex2 = try extractIterToScatterlist(&iter2, maxBytes: Int.max, into: &t2, maxEntries: 2)
    #expect(ex2.byteCount == 2 * IterPage.size - 100 && iter2.count == 3 * IterPage.size - ex2.byteCount)
  }

  /// `sg_max == 0` returns 0 and moves nothing (the other 2026 fix); so does
  /// `maxBytes == 0`.
  @Test func zeroLimitsMoveNothing() throws {
    let fixture = try ScatterlistFixture(pages: 16)
    var rng = SeededGenerator(seed: 1)
    let b = try fixture.pageFragments(bytes(5000, seed: 2), &rng)
    var iter = try IovIter(b, direction: .source)
    var table = try ScatterlistTable(entryCount: 4)
    table.nents = 0
    for (bytes, entries) in [(5000, 0), (0, 4)] {
      let ex = try extractIterToScatterlist(&iter, maxBytes: bytes, into: &table, maxEntries: entries)
      #expect(ex.byteCount == 0 && ex.entryCount == 0 && iter.count == 5000 && table.nents == 0)
    }
    #expect(throws: IterError.negativeCount(argument: "maxEntries", value: -1)) {
      _ = try extractIterToScatterlist(&iter, maxBytes: 10, into: &table, maxEntries: -1)
    }
    #expect(throws: IterError.self) {  // more entries than the table has room for
      _ = try extractIterToScatterlist(&iter, maxBytes: 10, into: &table, maxEntries: 5)
    }
    #expect(iter.count == 5000)
    try fixture.releaseFolios()
  }

  /// A run that fails part-way releases what earlier runs took and leaves
  /// the iterator and the table as they were.
  @Test func failureReleasesAndRestores() throws {
    let fixture = try ScatterlistFixture(pages: 16)
    var rng = SeededGenerator(seed: 3)
    let chain = IterChain(direction: .destination)
    try chain.append(fixture.pageFragments(bytes(3000, seed: 4), &rng))
    try chain.append(DiscardSink(count: 100))
    var iter = try IovIter(chain, direction: .destination)
    var table = try ScatterlistTable(entryCount: 8)
    table.nents = 0
    let before = fixture.heldRetentions
    #expect(throws: IterError.extractionUnsupported(kind: .discard)) {
      _ = try extractIterToScatterlist(&iter, maxBytes: Int.max, into: &table, maxEntries: 8, options: .retain)
    }
    #expect(fixture.heldRetentions == before && iter.count == 3100 && table.nents == 0)
    #expect(try table.slots(count: 8).allSatisfy { $0.entry.length == 0 })
    try fixture.releaseFolios()
  }

  /// The holder releases every retention exactly once, at its end of life too.
  @Test func retentionsAreReleasedWhenTheHolderGoes() throws {
    let fixture = try ScatterlistFixture(pages: 16)
    var rng = SeededGenerator(seed: 5)
    let b = try fixture.pageFragments(bytes(9000, seed: 6), &rng)
    let base = fixture.heldRetentions
    do {
      var iter = try IovIter(b, direction: .source)
      var table = try ScatterlistTable(entryCount: 16)
      table.nents = 0
      let ex = try extractIterToScatterlist(&iter, maxBytes: Int.max, into: &table, maxEntries: 16, options: .retain)
      #expect(fixture.heldRetentions > base)
      #expect(ex.retentionKinds.allSatisfy { $0 == .pageReference })
      _ = ex.byteCount
    }
    #expect(fixture.heldRetentions == base)
    try fixture.releaseFolios()
  }
}

@Suite("Extraction into malformed tables")
struct ScatterlistExtractionMalformedTests {
  /// A link after the entries in use that leads back to them: the free
  /// slots would be the used ones (the kernel's scratch-overlap bug, by
  /// another road). It is a cycle, and nothing is written.
  @Test func aCycleBackIntoUsedEntriesIsRefused() throws {
    let a = try ScatterlistArray(count: 3)
    try a.setPage(IterPage(address: 0x7000), length: 11, offset: 0, at: 0)
    try a.setPage(IterPage(address: 0x7000), length: 22, offset: 0, at: 1)
    try a.chain(entryCount: 3, to: a.slot(at: 0))
    var table = try ScatterlistTable(first: a.slot(at: 0), nents: 2, origNents: 2)
    let memory = OutsideKind(holding: Array(repeating: 1, count: 50))
    var iter = try IovIter(memory, direction: .source)
    #expect { _ = try extractIterToScatterlist(&iter, maxBytes: 50, into: &table, maxEntries: 2) } throws: {
      isInvalidSegment($0 as! IterError, mentioning: "cyclic")
    }
    #expect(a.entries[0].length == 11 && a.entries[1].length == 22 && iter.count == 50 && table.nents == 2)
  }
}
