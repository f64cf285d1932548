//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterPageFragment
import IterTestSupport
import Testing

private let pageSize = IterPage.size

/// A random bio_vec layout over `pool`: entries of every shape (empty, one
/// byte, to a page boundary, multi-page, starting past a folio's first page),
/// often back to back in one folio so that extraction runs span entries.
/// Entries never overlap, so a destination model stays exact.
private func randomBioVec(
  _ pool: PagePool, entries: Int, byteBudget: Int, using rng: inout SeededGenerator
) throws -> (BioVecArray, [Folio]) {
  var total = 0
  var folios: [Folio] = []
  var next: [Int] = []  // first unused byte of each folio
  var fragments: [PageFragment] = []
  var current = -1
  for _ in 0..<entries where total < byteBudget {
    let pick = Int.random(in: 0..<10, using: &rng)
    if current < 0 || pick >= 5 || next[current] >= folios[current].byteCount {
      let order = [0, 0, 0, 1, 1, 2, 3][Int.random(in: 0..<7, using: &rng)]
      if pick < 8, let folio = try? pool.allocateFolio(order: order) {
        folios.append(folio)
        next.append(0)
        current = folios.count - 1
      } else if let k = next.indices.filter({ next[$0] < folios[$0].byteCount }).randomElement(
        using: &rng)
      {
        current = k
      } else {
        break
      }
    }
    let size = folios[current].byteCount
    var start = next[current]
    switch Int.random(in: 0..<20, using: &rng) {
    case 0..<10: break  // back to back with the previous entry of this folio
    case 10..<14: start = (start + pageSize - 1) / pageSize * pageSize  // the next page start
    case 14..<17: start += Int.random(in: 1...300, using: &rng)
    default: start += Int.random(in: 0...(2 * pageSize), using: &rng)
    }
    start = min(start, size)
    let rest = size - start
    var length: Int
    switch Int.random(in: 0..<25, using: &rng) {
    case 0, 1: length = 0
    case 2, 3: length = 1
    case 4..<9: length = (start / pageSize + 1) * pageSize - start  // to the page boundary
    case 9..<16: length = Int.random(in: 2...700, using: &rng)
    case 16..<21: length = Int.random(in: 0...max(0, rest), using: &rng)
    default: length = rest
    }
    length = min(length, rest, byteBudget - total)
    total += length
    fragments.append(PageFragment(folio: folios[current], offset: start, length: length))
    next[current] = start + length
  }
  return (try BioVecArray(fragments), folios)
}

/// A random folio queue of `count` folios of orders `0...maxOrder`.
private func randomQueue(
  _ pool: PagePool, count: Int, maxOrder: Int, using rng: inout SeededGenerator
) throws -> (FolioQueue, [Folio]) {
  let queue = FolioQueue()
  var folios: [Folio] = []
  for _ in 0..<count {
    let folio = try pool.allocateFolio(order: Int.random(in: 0...maxOrder, using: &rng))
    folios.append(folio)
    try queue.append(folio)
  }
  return (queue, folios)
}

@Suite("Model check")
struct ModelCheckTests {
  /// 4 layouts × (17,500 source + 7,500 destination operations) = 100,000
  /// operations. A destination run checks all the memory after every
  /// operation, so its layouts are kept to 24 KiB.
  @Test(arguments: [IterDirection.source, .destination], 0..<4)
  func bioVecArraysBehaveLikeTheFlatModel(direction: IterDirection, layout: Int) throws {
    let seed = TestSeed.base &+ UInt64(layout) &* 7919 &+ (direction == .source ? 0 : 1)
    var rng = SeededGenerator(seed: seed)
    let pool = try PagePool(pageCount: 256, maxOrder: 3)
    let (bvec, folios) = try randomBioVec(
      pool, entries: Int.random(in: 5...40, using: &rng),
      byteBudget: direction == .source ? 256 * 1024 : 24 * 1024, using: &rng)
    try checkAgainstModel(
      bvec, direction: direction, operations: direction == .source ? 17_500 : 7_500, seed: seed,
      label: "bvec layout \(layout) (\(bvec.segmentCount) entries, \(bvec.byteCount) bytes)",
      retentionProbe: { pool.outstandingReferences })
    for folio in folios { try folio.put() }
    #expect(pool.audit().isEmpty, "page references leaked (seed \(seed))")
  }

  /// Multi-page entries, as the kernel test's `load_bvec` merges them: single
  /// pages allocated back to back, cut into entries that start anywhere and
  /// run on over several pages, so over several folios. Entries never
  /// overlap. A destination run checks all the memory after every operation,
  /// so its layouts are kept small.
  @Test(arguments: [IterDirection.source, .destination], 0..<2)
  func multiPageBioVecsBehaveLikeTheFlatModel(direction: IterDirection, layout: Int) throws {
    let seed = TestSeed.base &+ UInt64(layout) &* 6151 &+ (direction == .source ? 0 : 1)
    var rng = SeededGenerator(seed: seed)
    let pageCount = direction == .source ? 48 : 8
    let pool = try PagePool(pageCount: pageCount, maxOrder: 0)
    let pages = try (0..<pageCount).map { _ in try pool.allocatePage() }
    let end = pageCount * pageSize
    var fragments: [PageFragment] = []
    var at = 0
    while at < end && fragments.count < 40 {
      switch Int.random(in: 0..<6, using: &rng) {
      case 0: at = (at + pageSize - 1) / pageSize * pageSize  // the next page start
      case 1: at += Int.random(in: 1...300, using: &rng)
      default: break  // back to back
      }
      guard at < end else { break }
      var length: Int
      switch Int.random(in: 0..<6, using: &rng) {
      case 0: length = 0
      case 1: length = Int.random(in: 1...700, using: &rng)
      case 2: length = (at / pageSize + 1) * pageSize - at  // to the page boundary
      default: length = Int.random(in: 1...(4 * pageSize), using: &rng)  // over pages
      }
      length = min(length, end - at)
      fragments.append(
        PageFragment(folio: pages[at / pageSize], offset: at % pageSize, length: length))
      at += length
    }
    let bvec = try BioVecArray(fragments)
    #expect(fragments.contains { $0.offset + $0.length > pageSize }, "seed \(seed)")
    try checkAgainstModel(
      bvec, direction: direction, operations: direction == .source ? 10_000 : 5_000, seed: seed,
      label: "multi-page bvec layout \(layout) (\(bvec.segmentCount) entries, "
        + "\(bvec.byteCount) bytes)",
      retentionProbe: { pool.outstandingReferences })
    for page in pages { try page.put() }
    #expect(pool.audit().isEmpty, "page references leaked (seed \(seed))")
  }

  /// 4 layouts × (17,500 source + 7,500 destination operations) = 100,000
  /// operations. Layouts 2 and 3 hold more than 31 folios, and their views
  /// start a few slots before the second queue segment, so that every run
  /// crosses from one queue segment to the next and back. (The model walks a
  /// view from its first slot's first byte; a cursor's start offset is
  /// checked in FolioQueueTests.)
  @Test(arguments: [IterDirection.source, .destination], 0..<4)
  func folioQueuesBehaveLikeTheFlatModel(direction: IterDirection, layout: Int) throws {
    let seed = TestSeed.base &+ UInt64(layout) &* 104_729 &+ (direction == .source ? 0 : 1)
    var rng = SeededGenerator(seed: seed)
    let pool = try PagePool(pageCount: 256, maxOrder: 2)
    let crossesSegments = layout >= 2
    let (queue, folios) = try randomQueue(
      pool,
      count: crossesSegments
        ? Int.random(in: 32...34, using: &rng) : Int.random(in: 1...4, using: &rng),
      maxOrder: crossesSegments || direction == .destination ? 1 : 2, using: &rng)
    var source = queue
    if crossesSegments || layout == 1 {
      // Start inside the queue, as iov_iter_folio_queue can.
      let slot =
        crossesSegments
        ? Int.random(in: 26...30, using: &rng) : Int.random(in: 0..<queue.folioCount, using: &rng)
      let offset = Int.random(in: 0...folios[slot].byteCount, using: &rng)
      let available = queue.byteCount - folios[..<slot].reduce(0) { $0 + $1.byteCount } - offset
      source = try IovIter(
        queue, direction: direction, firstSlot: FolioQueue.Slot(index: slot), offset: offset,
        count: available
      ).source
    }
    try checkAgainstModel(
      source, direction: direction, operations: direction == .source ? 17_500 : 7_500, seed: seed,
      label: "folio queue layout \(layout) (\(queue.folioCount) folios from slot "
        + "\(source.firstSlot))",
      retentionProbe: { pool.outstandingReferences })
    for folio in folios { try folio.put() }
    #expect(pool.audit().isEmpty, "page references leaked (seed \(seed))")
  }

  /// Random reads, advances and reverts on a cursor over a queue that keeps
  /// growing, against a flat model of the bytes appended so far.
  @Test(arguments: 0..<2)
  func aGrowingFolioQueueBehavesLikeAGrowingArray(round: Int) throws {
    let seed = TestSeed.base &+ 0xF0110 &+ UInt64(round)
    var rng = SeededGenerator(seed: seed)
    let pool = try PagePool(pageCount: 256, maxOrder: 1)
    let queue = FolioQueue()
    var iter = try IovIter(
      queue, direction: .source, firstSlot: FolioQueue.Slot(index: 0), offset: 0, count: 0)
    var model: [UInt8] = []
    var pos = 0
    var folios: [Folio] = []
    for step in 0..<3000 {
      let context: Comment = "seed \(seed), step \(step)"
      switch Int.random(in: 0..<6, using: &rng) {
      case 0 where folios.count < 90:
        let folio = try pool.allocateFolio(order: Int.random(in: 0...1, using: &rng))
        fillPattern(folio)
        folios.append(folio)
        let start = Int(folio.address - pool.address)
        model += (start..<(start + folio.byteCount)).map(patternByte)
        if Bool.random(using: &rng) {
          try queue.append(folio, extending: &iter)
        } else {
          try queue.append(folio)
          try iter.extend(by: folio.byteCount)
        }
      case 1, 2:
        let n = Int.random(in: 0...(iter.count + 10), using: &rng)
        let got = try iter.read(upTo: n)
        #expect(got == Array(model[pos..<(pos + got.count)]), context)
        #expect(got.count == min(n, model.count - pos), context)
        pos += got.count
      case 3:
        let n = Int.random(in: 0...(iter.count + 10), using: &rng)
        try iter.advance(by: n)
        pos += min(n, model.count - pos)
      default:
        let n = Int.random(in: 0...(pos + 10), using: &rng)
        if n > pos {
          #expect(throws: IterError.revertPastStart(requested: n, consumed: pos), context) {
            try iter.revert(by: n)
          }
        } else {
          try iter.revert(by: n)
          pos -= n
        }
      }
      #expect(iter.consumedCount == pos, context)
      #expect(iter.count == model.count - pos, context)
    }
    #expect(queue.queueSegmentCount > 2)
    for folio in folios { try folio.put() }
    #expect(pool.audit().isEmpty)
  }
}
