//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterPageFragment
import Testing

private let pageSize = IterPage.size

@Suite("FolioQueue")
struct FolioQueueTests {
  @Test func segmentsHoldThirtyOneSlotsAndAreLinkedBothWays() throws {
    let pool = try PagePool(pageCount: 128)
    let queue = FolioQueue()
    #expect(folioQueueSlotCount == 31)
    #expect(queue.queueSegmentCount == 1)
    #expect(queue.firstQueueSegment.count == 0)
    #expect(queue.firstQueueSegment.next == nil)
    var folios: [Folio] = []
    var slots: [FolioQueue.Slot] = []
    for k in 0..<70 {
      let folio = try pool.allocateFolio(order: k % 2)
      folios.append(folio)
      slots.append(try queue.append(folio))
    }
    #expect(slots[0] == FolioQueue.Slot(segment: 0, slot: 0))
    #expect(slots[30] == FolioQueue.Slot(segment: 0, slot: 30))
    #expect(slots[31] == FolioQueue.Slot(segment: 1, slot: 0))
    #expect(slots[69] == FolioQueue.Slot(segment: 2, slot: 7))
    #expect(slots.map(\.index) == Array(0..<70))
    #expect(queue.queueSegmentCount == 3)
    #expect(queue.folioCount == 70)
    #expect(queue.segmentCount == 70)
    let head = queue.firstQueueSegment
    #expect(head.slotCount == 31)
    #expect(head.count == 31)
    #expect(head.isFull)
    #expect(head.previous == nil)
    let middle = try #require(head.next)
    #expect(middle.index == 1)
    #expect(middle.previous?.index == 0)
    let tail = try #require(middle.next)
    #expect(tail.index == 2)
    #expect(tail.next == nil)
    #expect(tail.count == 8)
    #expect(!tail.isFull)
    #expect(queue.lastQueueSegment.index == 2)
    #expect(try middle.folio(at: 3) == folios[34])
    #expect(try middle.order(at: 3) == 0)
    #expect(try middle.order(at: 4) == 1)
    #expect(try middle.folioSize(at: 4) == 2 * pageSize)
    #expect(try queue.folio(at: slots[69]) == folios[69])
    #expect(queue.byteCount == folios.reduce(0) { $0 + $1.byteCount })
    // The cursor sees every folio, whole, across segments.
    #expect(queue.segment(at: 40).address == folios[40].address)
    #expect(queue.segment(at: 40).count == folios[40].byteCount)
    for folio in folios { try folio.put() }
    #expect(pool.audit().isEmpty)
  }

  @Test func marksAreSetClearedAndReadPerSlot() throws {
    let pool = try PagePool(pageCount: 64)
    let queue = FolioQueue()
    let folios = try (0..<34).map { _ in try pool.allocatePage() }
    for (k, folio) in folios.enumerated() {
      if k % 3 == 0 { try queue.appendMarked(folio) } else { try queue.append(folio) }
    }
    let head = queue.firstQueueSegment
    #expect(try head.isMarked(.mark1, at: 0))
    #expect(try !head.isMarked(.mark1, at: 1))
    #expect(try !head.isMarked(.mark2, at: 0))
    var everyThird: UInt32 = 0
    for slot in stride(from: 0, to: 31, by: 3) { everyThird |= 1 << UInt32(slot) }
    #expect(head.marks(.mark1) == everyThird)
    let second = try #require(head.next)
    #expect(try second.isMarked(.mark1, at: 2))  // global slot 33
    #expect(second.marks(.mark1) == 0b100)  // 31 and 32 are not multiples of 3
    try head.setMark(.mark2, at: 5)
    try head.setMark(.mark3, at: 5)
    try head.setMark(.mark1, at: 5)
    #expect(try head.isMarked(.mark2, at: 5))
    #expect(head.marks(.mark3) == 1 << 5)
    try head.clearMark(.mark2, at: 5)
    #expect(try !head.isMarked(.mark2, at: 5))
    #expect(try head.isMarked(.mark3, at: 5))
    try head.clearMarks(at: 5)
    for mark in FolioQueue.Mark.allCases { #expect(try !head.isMarked(mark, at: 5)) }
    #expect(try head.isMarked(.mark1, at: 6))  // neighbours untouched
    #expect(try head.folio(at: 5) == folios[5])  // the folio stays
    for folio in folios { try folio.put() }
  }

  @Test(arguments: [-1, 2, 31, 40])
  func aSlotWithoutAFolioIsATypedError(slot: Int) throws {
    let pool = try PagePool(pageCount: 4)
    let a = try pool.allocatePage()
    let b = try pool.allocatePage()
    let queue = try FolioQueue([a, b])
    let head = queue.firstQueueSegment
    let reason = "segment 0 holds 2 folios"
    let error = IterError.invalidArgument(argument: "slot", value: slot, reason: reason)
    #expect(throws: error) { try head.folio(at: slot) }
    #expect(throws: error) { try head.order(at: slot) }
    #expect(throws: error) { try head.folioSize(at: slot) }
    #expect(throws: error) { try head.isMarked(.mark1, at: slot) }
    #expect(throws: error) { try head.setMark(.mark1, at: slot) }
    #expect(throws: error) { try head.clearMark(.mark3, at: slot) }
    #expect(throws: error) { try head.clearMarks(at: slot) }
    for mark in FolioQueue.Mark.allCases { #expect(head.marks(mark) == 0) }
    #expect(queue.queueSegment(at: 1) == nil)
    #expect(queue.queueSegment(at: -1) == nil)
    try a.put()
    try b.put()
  }

  @Test func appendingAFreedFolioIsATypedErrorAndLeavesTheQueueAlone() throws {
    let pool = try PagePool(pageCount: 4)
    let a = try pool.allocatePage()
    let gone = try pool.allocatePage()
    try gone.put()
    let queue = try FolioQueue([a])
    #expect(
      throws: IterError.invalidSegment(
        index: 1, count: pageSize, reason: "\(PagePoolError.notAllocated(frame: gone.frame))")
    ) {
      try queue.appendMarked(gone)
    }
    #expect(queue.folioCount == 1)
    #expect(queue.firstQueueSegment.marks(.mark1) == 0)
    try a.put()
  }

  @Test func aCursorStartsAtAFirstSlotAndOffset() throws {
    let pool = try PagePool(pageCount: 128)
    fillPattern(pool)
    let folios = try (0..<40).map { _ in try pool.allocatePage() }
    let queue = try FolioQueue(folios)
    var iter = try IovIter(
      queue, direction: .source, firstSlot: FolioQueue.Slot(segment: 0, slot: 30), offset: 100,
      count: pageSize)
    let got = try iter.read(upTo: .max)
    let start = Int(folios[30].address - pool.address) + 100
    let expected =
      (start..<(start + pageSize - 100)).map(patternByte)
      + (Int(folios[31].address - pool.address)..<(Int(folios[31].address - pool.address) + 100))
      .map(patternByte)
    #expect(got == expected)
    #expect(iter.source.firstSlot == FolioQueue.Slot(index: 30))
    #expect(iter.source.firstSlotOffset == 100)
    #expect(
      iter.source.slot(forSegmentIndex: iter.position.segmentIndex) == FolioQueue.Slot(index: 31))
    // The cursor cannot revert before its first byte.
    #expect(throws: IterError.revertPastStart(requested: pageSize + 1, consumed: pageSize)) {
      try iter.revert(by: pageSize + 1)
    }
    // Slot 31 of a full segment is the next segment's first slot (the kernel's hop).
    let hop = try IovIter(
      queue, direction: .source, firstSlot: FolioQueue.Slot(segment: 0, slot: 31), offset: 0,
      count: 10)
    #expect(hop.source.segment(at: 0).address == folios[31].address)
    for folio in folios { try folio.put() }
  }

  @Test func badCursorStartsAreTypedErrors() throws {
    let pool = try PagePool(pageCount: 8)
    let a = try pool.allocatePage()
    let queue = try FolioQueue([a])
    func start(_ slot: FolioQueue.Slot, _ offset: Int, _ count: Int) throws {
      _ = try IovIter(queue, direction: .source, firstSlot: slot, offset: offset, count: count)
    }
    #expect(throws: IterError.self) { try start(FolioQueue.Slot(segment: 0, slot: 2), 0, 0) }
    #expect(throws: IterError.self) { try start(FolioQueue.Slot(segment: 1, slot: 0), 0, 0) }
    #expect(throws: IterError.self) { try start(FolioQueue.Slot(segment: 0, slot: 32), 0, 0) }
    #expect(throws: IterError.self) { try start(FolioQueue.Slot(segment: -1, slot: 0), 0, 0) }
    #expect(throws: IterError.self) { try start(FolioQueue.Slot(index: -5), 0, 0) }
    #expect(throws: IterError.negativeCount(argument: "offset", value: -1)) {
      try start(FolioQueue.Slot(index: 0), -1, 0)
    }
    #expect(
      throws: IterError.invalidArgument(
        argument: "offset", value: pageSize + 1,
        reason: "past the end of the \(pageSize)-byte folio in slot 0")
    ) {
      try start(FolioQueue.Slot(index: 0), pageSize + 1, 0)
    }
    #expect(
      throws: IterError.invalidArgument(
        argument: "offset", value: 1, reason: "past the end of the 0-byte folio in slot 1")
    ) {
      try start(FolioQueue.Slot(index: 1), 1, 0)
    }
    #expect(throws: IterError.negativeCount(argument: "count", value: -1)) {
      try start(FolioQueue.Slot(index: 0), 0, -1)
    }
    #expect(throws: IterError.countExceedsSource(count: pageSize, available: pageSize - 1)) {
      try start(FolioQueue.Slot(index: 0), 1, pageSize)
    }
    // The edges that are fine: the end of a folio, and the tail with no bytes.
    try start(FolioQueue.Slot(index: 0), pageSize, 0)
    try start(FolioQueue.Slot(index: 1), 0, 0)
    #expect(queue.folioCount == 1)
    try a.put()
  }

  @Test func theQueueGrowsWhileACursorWalksIt() throws {
    let pool = try PagePool(pageCount: 128)
    fillPattern(pool)
    let queue = FolioQueue()
    // A cursor at the tail of an empty queue waits for folios.
    var iter = try IovIter(
      queue, direction: .source, firstSlot: FolioQueue.Slot(index: 0), offset: 0, count: 0)
    #expect(iter.count == 0)
    var folios: [Folio] = []
    var read: [UInt8] = []
    var expected: [UInt8] = []
    for round in 0..<50 {
      let folio = try pool.allocateFolio(order: round % 3 == 0 ? 1 : 0)
      folios.append(folio)
      let start = Int(folio.address - pool.address)
      expected += (start..<(start + folio.byteCount)).map(patternByte)
      if round % 2 == 0 {
        try queue.append(folio, extending: &iter)
      } else {
        try queue.append(folio)
        try iter.extend(by: folio.byteCount)
      }
      // Read a little less than was added, so the cursor trails the tail
      // and sits inside the latest folio when the next one arrives.
      read += try iter.read(upTo: folio.byteCount - 7)
    }
    read += try iter.read(upTo: .max)
    #expect(read == expected)
    #expect(queue.queueSegmentCount == 2)
    #expect(iter.segmentsRemaining == 0)
    // Taking in more bytes than the queue holds is refused.
    #expect(throws: IterError.countExceedsSource(count: 1, available: 0)) {
      try iter.extend(by: 1)
    }
    for folio in folios { try folio.put() }
    #expect(pool.audit().isEmpty)
  }

  @Test func appendExtendingRefusesAForeignOrShortCursor() throws {
    let pool = try PagePool(pageCount: 8)
    let a = try pool.allocatePage()
    let b = try pool.allocatePage()
    let queue = try FolioQueue([a])
    let other = FolioQueue()
    var foreign = try IovIter(other, direction: .source)
    #expect(throws: IterError.foreignState) { try queue.append(b, extending: &foreign) }
    var short = try IovIter(queue, direction: .source, count: 100)
    #expect(
      throws: IterError.invalidArgument(
        argument: "cursor", value: 100,
        reason: "its range ends \(pageSize - 100) bytes before the queue's tail")
    ) {
      try queue.append(b, extending: &short)
    }
    #expect(queue.folioCount == 1)
    #expect(short.count == 100)
    #expect(queue.sharesStorage(with: short.source))
    #expect(!queue.sharesStorage(with: other))
    try a.put()
    try b.put()
  }

  @Test func revertStepsBackAcrossQueueSegments() throws {
    let pool = try PagePool(pageCount: 128)
    fillPattern(pool)
    let folios = try (0..<70).map { _ in try pool.allocatePage() }
    let queue = try FolioQueue(folios)
    var iter = try IovIter(queue, direction: .source)
    // Walk into the third queue segment (slot 65), then back into the first.
    try iter.advance(by: 65 * pageSize + 123)
    #expect(iter.position == IterPosition(segmentIndex: 65, offset: 123))
    #expect(iter.source.slot(forSegmentIndex: 65) == FolioQueue.Slot(segment: 2, slot: 3))
    try iter.revert(by: 40 * pageSize)
    #expect(iter.position == IterPosition(segmentIndex: 25, offset: 123))
    #expect(iter.source.slot(forSegmentIndex: 25) == FolioQueue.Slot(segment: 0, slot: 25))
    let again = try iter.read(upTo: 10)
    let at = Int(folios[25].address - pool.address) + 123
    #expect(again == (at..<(at + 10)).map(patternByte))
    // A revert that lands exactly on a segment boundary stays in the earlier folio.
    try iter.advance(by: 6 * pageSize - 133)  // to the start of slot 31
    #expect(iter.position == IterPosition(segmentIndex: 31, offset: 0))
    try iter.revert(by: 1)
    #expect(iter.position == IterPosition(segmentIndex: 30, offset: pageSize - 1))
    try iter.revert(by: iter.consumedCount)
    #expect(iter.position == IterPosition(segmentIndex: 0, offset: 0))
    #expect(iter.count == 70 * pageSize)
    for folio in folios { try folio.put() }
  }

  @Test func aDestinationCursorWritesAcrossSegmentsAndFolioSizes() throws {
    let pool = try PagePool(pageCount: 256)
    let folios = try (0..<33).map { k in try pool.allocateFolio(order: k % 3, zeroed: true) }
    let queue = try FolioQueue(folios)
    var iter = try IovIter(queue, direction: .destination)
    let total = queue.byteCount
    let data = (0..<total).map { UInt8(truncatingIfNeeded: $0 * 13 + 1) }
    #expect(try iter.write(data) == total)
    var at = 0
    for folio in folios {
      #expect(
        bytes(at: folio.address, count: folio.byteCount) == Array(data[at..<(at + folio.byteCount)])
      )
      at += folio.byteCount
    }
    for folio in folios { try folio.put() }
  }
}
