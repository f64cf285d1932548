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
    #expect(FolioQueue.slotCount == 31)
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
    #expect(iter.source.segment(at: 0).address == folios[30].address)
    #expect(iter.source.segment(at: 0).count == pageSize)
    #expect(
      try iter.source.slot(forSegmentIndex: iter.position.segmentIndex)
        == FolioQueue.Slot(index: 31))
    #expect(iter.segmentOffset == 100)
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

  /// The kernel's `iov_offset` is the offset in the current folio, whatever
  /// offset the cursor started at.
  @Test func segmentOffsetIsTheOffsetInTheFolio() throws {
    let pool = try PagePool(pageCount: 16)
    fillPattern(pool)
    let z = try pool.allocateFolio(order: 1)
    let next = try pool.allocatePage()
    let queue = try FolioQueue([z, next])
    var iter = try IovIter(
      queue, direction: .source, firstSlot: FolioQueue.Slot(index: 0), offset: 100,
      count: 2 * pageSize)
    #expect(iter.position == IterPosition(segmentIndex: 0, offset: 100))
    #expect(iter.segmentOffset == 100)
    #expect(iter.consumedCount == 0)
    #expect(iter.source.segment(at: 0).count == 2 * pageSize)  // the whole folio
    try iter.advance(by: 10)
    #expect(iter.segmentOffset == 110)
    #expect(iter.consumedCount == 10)
    #expect(iter.singleSegmentCount == 2 * pageSize - 110)
    try iter.revert(by: 10)
    #expect(iter.segmentOffset == 100)
    #expect(throws: IterError.revertPastStart(requested: 1, consumed: 0)) {
      try iter.revert(by: 1)
    }
    #expect(iter.segmentOffset == 100)
    // The bytes are those from the offset, into the next folio.
    let start = Int(z.address - pool.address) + 100
    let read = try iter.read(upTo: .max)
    let nextStart = Int(next.address - pool.address)
    #expect(
      read
        == (start..<(start + 2 * pageSize - 100)).map(patternByte)
        + (nextStart..<(nextStart + 100)).map(patternByte))
    #expect(iter.position == IterPosition(segmentIndex: 1, offset: 100))
    #expect(throws: IterError.revertPastStart(requested: 2 * pageSize + 1, consumed: 2 * pageSize)) {
      try iter.revert(by: 2 * pageSize + 1)
    }
    try iter.revert(by: 2 * pageSize)
    #expect(iter.position == IterPosition(segmentIndex: 0, offset: 100))
    // Extraction starts at the offset too; a state saved and restored keeps it.
    let state = iter.saveState()
    let e = try iter.extractPages(maxBytes: 50, maxPages: 4)
    #expect(e.offset == 100)
    #expect(e.pages.map(\.frame) == [UInt64(z.frame)])
    e.release()
    #expect(iter.segmentOffset == 150)
    try iter.restore(state)
    #expect(iter.segmentOffset == 100)
    // The offset may be a page or more into a multi-page folio.
    let deep = try IovIter(
      queue, direction: .destination, firstSlot: FolioQueue.Slot(index: 0),
      offset: pageSize + 5, count: 10)
    #expect(deep.segmentOffset == pageSize + 5)
    #expect(try deep.alignment == (z.address + UInt(pageSize + 5)) | 10)
    // Started at exactly the folio's end: with bytes to cover, the cursor
    // stands at the next folio's start (the kernel keeps iov_offset at the
    // folio size until its first step); with none, it stays at the end.
    let atEnd = try IovIter(
      queue, direction: .source, firstSlot: FolioQueue.Slot(index: 0), offset: 2 * pageSize,
      count: 10)
    #expect(atEnd.position == IterPosition(segmentIndex: 1, offset: 0))
    #expect(atEnd.consumedCount == 0)
    let empty = try IovIter(
      queue, direction: .source, firstSlot: FolioQueue.Slot(index: 0), offset: 2 * pageSize,
      count: 0)
    #expect(empty.position == IterPosition(segmentIndex: 0, offset: 2 * pageSize))
    try z.put()
    try next.put()
    #expect(pool.audit().isEmpty)
  }

  /// Appending through a cursor that started inside a folio still checks
  /// that its range reaches the tail.
  @Test func appendExtendingWorksForACursorStartedInsideAFolio() throws {
    let pool = try PagePool(pageCount: 8)
    fillPattern(pool)
    let a = try pool.allocatePage()
    let b = try pool.allocatePage()
    let queue = try FolioQueue([a])
    var iter = try IovIter(
      queue, direction: .source, firstSlot: FolioQueue.Slot(index: 0), offset: 1000,
      count: pageSize - 1000)
    try queue.append(b, extending: &iter)
    #expect(iter.count == 2 * pageSize - 1000)
    var short = try IovIter(
      queue, direction: .source, firstSlot: FolioQueue.Slot(index: 0), offset: 1000, count: 5)
    let c = try pool.allocatePage()
    #expect(
      throws: IterError.invalidArgument(
        argument: "cursor", value: 5,
        reason: "its range ends \(2 * pageSize - 1005) bytes before the queue's tail")
    ) {
      try queue.append(c, extending: &short)
    }
    #expect(queue.folioCount == 2)
    let read = try iter.read(upTo: .max)
    let aStart = Int(a.address - pool.address) + 1000
    let bStart = Int(b.address - pool.address)
    #expect(
      read
        == (aStart..<(aStart + pageSize - 1000)).map(patternByte)
        + (bStart..<(bStart + pageSize)).map(patternByte))
    for folio in [a, b, c] { try folio.put() }
  }

  /// Every slot argument of the module, at the extremes and the edges.
  @Test(arguments: [Int.min, -1, 0, 1, 30, 31, 32, Int.max])
  func slotIndicesOutsideTheQueueAreTypedErrors(value: Int) throws {
    let pool = try PagePool(pageCount: 64)
    let folios = try (0..<33).map { _ in try pool.allocatePage() }
    let queue = try FolioQueue(folios)  // segment 0 full, segment 1 holds 2
    #expect(queue.queueSegmentCount == 2)
    // A slot number in segment 0.
    let bySlot = FolioQueue.Slot(segment: 0, slot: value)
    if (0..<31).contains(value) {
      #expect(try queue.folio(at: bySlot) == folios[value])
    } else {
      #expect(
        throws: IterError.invalidArgument(
          argument: "slot.slot", value: value, reason: "a slot number is in 0...30 (31 slots per segment)")
      ) { try queue.folio(at: bySlot) }
    }
    // A segment number with slot 1 (and the wrapping case from the report:
    // segment -1, slot 32 used to name global slot 1).
    let bySegment = FolioQueue.Slot(segment: value, slot: 1)
    switch value {
    case 0, 1: #expect(try queue.folio(at: bySegment) == folios[31 * value + 1])
    case Int.min, -1:
      #expect(
        throws: IterError.invalidArgument(
          argument: "slot.segment", value: value, reason: "a queue segment index cannot be negative")
      ) { try queue.folio(at: bySegment) }
    case Int.max:
      #expect(
        throws: IterError.invalidArgument(
          argument: "slot.segment", value: value, reason: "segment * 31 + slot overflows Int")
      ) { try queue.folio(at: bySegment) }
    default:
      #expect(
        throws: IterError.invalidArgument(
          argument: "slot", value: 31 * value + 1, reason: "the queue holds 33 folios")
      ) { try queue.folio(at: bySegment) }
    }
    #expect(throws: IterError.self) { try queue.folio(at: FolioQueue.Slot(segment: -1, slot: 32)) }
    if value < 0 || value >= 33 {
      #expect(throws: IterError.self) { try queue.folio(at: FolioQueue.Slot(index: value)) }
    }
    // The per-segment accessors: slot numbers outside 0..<count.
    let tail = queue.lastQueueSegment
    let error = IterError.invalidArgument(argument: "slot", value: value, reason: "segment 1 holds 2 folios")
    if value == 0 || value == 1 {
      #expect(try tail.folio(at: value) == folios[31 + value])
      #expect(try tail.order(at: value) == 0)
      #expect(try tail.folioSize(at: value) == pageSize)
      try tail.setMark(.mark2, at: value)
      #expect(try tail.isMarked(.mark2, at: value))
      try tail.clearMark(.mark2, at: value)
      try tail.setMark(.mark3, at: value)
      try tail.clearMarks(at: value)
      #expect(try !tail.isMarked(.mark3, at: value))
    } else {
      #expect(throws: error) { try tail.folio(at: value) }
      #expect(throws: error) { try tail.order(at: value) }
      #expect(throws: error) { try tail.folioSize(at: value) }
      #expect(throws: error) { try tail.isMarked(.mark1, at: value) }
      #expect(throws: error) { try tail.setMark(.mark1, at: value) }
      #expect(throws: error) { try tail.clearMark(.mark1, at: value) }
      #expect(throws: error) { try tail.clearMarks(at: value) }
    }
    for mark in FolioQueue.Mark.allCases { #expect(tail.marks(mark) == 0) }
    // A queue segment index.
    #expect((queue.queueSegment(at: value) != nil) == (0...1).contains(value))
    // A view's segment index: 0...segmentCount (the tail slot) are fine.
    if (0...33).contains(value) {
      #expect(try queue.slot(forSegmentIndex: value) == FolioQueue.Slot(index: value))
    } else {
      #expect(
        throws: IterError.invalidArgument(
          argument: "index", value: value, reason: "this view has 33 segments")
      ) { try queue.slot(forSegmentIndex: value) }
    }
    // A cursor's first slot: slot 31 of a full segment is the next one's first.
    func start(_ slot: FolioQueue.Slot) throws -> IovIter<FolioQueue> {
      try IovIter(queue, direction: .source, firstSlot: slot, offset: 0, count: 0)
    }
    if (0...31).contains(value) {
      #expect(try start(FolioQueue.Slot(segment: 0, slot: value)).source.firstSlot.index == value)
    } else {
      #expect(throws: IterError.self) { try start(FolioQueue.Slot(segment: 0, slot: value)) }
    }
    switch value {
    case 0, 1: _ = try start(FolioQueue.Slot(segment: value, slot: 1))
    case Int.min, -1:
      #expect(
        throws: IterError.invalidArgument(
          argument: "firstSlot.segment", value: value,
          reason: "a queue segment index cannot be negative")
      ) { try start(FolioQueue.Slot(segment: value, slot: 1)) }
    default: #expect(throws: IterError.self) { try start(FolioQueue.Slot(segment: value, slot: 1)) }
    }
    #expect(throws: IterError.self) { try start(FolioQueue.Slot(segment: -1, slot: 32)) }
    for folio in folios { try folio.put() }
  }

  @Test(arguments: [Int.min, Int.min + 1, -32, -31, -1, 0, 30, 31, 62, Int.max])
  func aSlotMadeFromAnIndexGivesThatIndexBack(index: Int) {
    let slot = FolioQueue.Slot(index: index)
    #expect(slot.index == index)
    #expect((0..<31).contains(slot.slot))
    #expect((slot.segment < 0) == (index < 0))
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
    #expect(try iter.source.slot(forSegmentIndex: 65) == FolioQueue.Slot(segment: 2, slot: 3))
    try iter.revert(by: 40 * pageSize)
    #expect(iter.position == IterPosition(segmentIndex: 25, offset: 123))
    #expect(try iter.source.slot(forSegmentIndex: 25) == FolioQueue.Slot(segment: 0, slot: 25))
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
