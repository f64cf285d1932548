//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import Testing

@Suite("Advance, revert, truncate, reexpand, save and restore")
struct MovementTests {
  @Test func advanceClampsAndStepsOverEmptySegments() throws {
    let layout = Layout([3, 0, 0, 1, 5])
    var iter = try layout.cursor(.source)
    try iter.advance(by: 3)
    #expect(iter.position == IterPosition(segmentIndex: 3, offset: 0))
    try iter.advance(by: 100)
    #expect(iter.count == 0 && iter.consumedCount == 9 && iter.segmentsRemaining == 0)
    #expect(throws: IterError.negativeCount(argument: "n", value: -1)) { try iter.advance(by: -1) }
  }

  @Test func advanceOnAnEmptyCursorDoesNotMove() throws {
    let layout = Layout([4, 0, 4])
    var iter = try layout.cursor(.source, count: 4)
    _ = try iter.read(upTo: 4)
    let before = iter.position
    try iter.advance(by: 0)
    #expect(iter.position == before)  // `if (!i->count) return;`
  }

  @Test func revertWithinAndAcrossSegments() throws {
    let layout = Layout([4, 0, 1, 0, 6])
    var iter = try layout.cursor(.source)
    try iter.advance(by: 8)
    #expect(iter.position == IterPosition(segmentIndex: 4, offset: 3))
    try iter.revert(by: 2)
    #expect(iter.position == IterPosition(segmentIndex: 4, offset: 1))
    try iter.revert(by: 1)  // n == iov_offset: stays in the segment at offset 0
    #expect(iter.position == IterPosition(segmentIndex: 4, offset: 0))
    try iter.revert(by: 1)  // over an empty segment into the one-byte one
    #expect(iter.position == IterPosition(segmentIndex: 2, offset: 0))
    try iter.revert(by: 1)  // lands strictly inside the previous non-empty segment
    #expect(iter.position == IterPosition(segmentIndex: 0, offset: 3))
    #expect(iter.count == 8 && iter.consumedCount == 3)
    #expect(try iter.read(upTo: 11) == Array(layout.bytes[3...]))
  }

  @Test func revertPastTheStartThrowsAndChangesNothing() throws {
    var iter = try Layout([4, 4]).cursor(.source)
    try iter.advance(by: 5)
    let state = iter.saveState()
    #expect(throws: IterError.revertPastStart(requested: 6, consumed: 5)) { try iter.revert(by: 6) }
    #expect(throws: IterError.negativeCount(argument: "n", value: -3)) { try iter.revert(by: -3) }
    #expect(iter.saveState() == state && iter.count == 3)
    try iter.revert(by: 0)
    #expect(iter.saveState() == state)
    try iter.revert(by: 5)
    #expect(iter.position == IterPosition(segmentIndex: 0, offset: 0))
  }

  @Test func truncateNeverGrowsAndReexpandRestores() throws {
    var iter = try Layout([10, 10]).cursor(.source)
    try iter.truncate(to: 12)
    #expect(iter.count == 12)
    try iter.truncate(to: 50)
    #expect(iter.count == 12)
    try iter.advance(by: 5)
    #expect(iter.reexpandLimit == 15)
    #expect(throws: IterError.reexpandPastLimit(requested: 16, limit: 15)) { try iter.reexpand(to: 16) }
    #expect(iter.count == 7)
    try iter.reexpand(to: 15)
    #expect(iter.count == 15)
    try iter.reexpand(to: 2)  // reexpand sets the count, as the kernel's does
    #expect(iter.count == 2)
    #expect(throws: IterError.negativeCount(argument: "n", value: -1)) { try iter.truncate(to: -1) }
    #expect(throws: IterError.negativeCount(argument: "n", value: -1)) { try iter.reexpand(to: -1) }
    // revert after truncation adds back to the count
    try iter.revert(by: 5)
    #expect(iter.count == 7 && iter.reexpandLimit == 20)
  }

  @Test func saveAndRestore() throws {
    var iter = try Layout([3, 3, 3]).cursor(.source)
    try iter.advance(by: 4)
    let state = iter.saveState()
    #expect(state.count == 5 && state.segmentOffset == 1 && state.segmentIndex == 1 && state.consumedCount == 4)
    try iter.advance(by: 4)
    try iter.truncate(to: 0)
    try iter.restore(state)
    #expect(iter.count == 5 && iter.position == IterPosition(segmentIndex: 1, offset: 1))
    // A copy (dup_iter) accepts the original's states and vice versa.
    var dup = iter
    try dup.advance(by: 5)
    try dup.restore(state)
    #expect(dup.count == 5)
  }

  @Test func restoreOfAForeignStateThrows() throws {
    let layout = Layout([3, 3, 3])
    var a = try layout.cursor(.source)
    let b = try layout.cursor(.source)
    try a.advance(by: 2)
    #expect(throws: IterError.foreignState) { try a.restore(b.saveState()) }
    #expect(a.consumedCount == 2)
    let (head, _) = try a.split(at: 3)
    var piece = head
    #expect(throws: IterError.foreignState) { try piece.restore(a.saveState()) }
  }

  /// A source whose storage is shared, so segments appended after the cursor
  /// was built are seen by it: the folio queue's pattern.
  final class Growing: @unchecked Sendable { var segments: [IterSegment] = [] }
  struct GrowingSource: IterSegmentSource {
    let storage: Growing
    var segmentCount: Int { storage.segments.count }
    func segment(at index: Int) -> IterSegment { storage.segments[index] }
  }

  @Test func extendTakesInAppendedSegments() throws {
    let layout = Layout([4, 4, 4])
    let storage = Growing()
    storage.segments = [layout.list.segment(at: 0)]
    var iter = try IovIter(GrowingSource(storage: storage), direction: .source)
    #expect(try iter.read(upTo: 10) == Array(layout.bytes[0..<4]))
    #expect(throws: IterError.countExceedsSource(count: 1, available: 0)) { try iter.extend(by: 1) }
    storage.segments.append(layout.list.segment(at: 1))
    storage.segments.append(IterSegment(base: nil, count: 0))
    storage.segments.append(layout.list.segment(at: 2))
    try iter.extend(by: 8)
    #expect(iter.count == 8)
    #expect(try iter.read(upTo: 10) == Array(layout.bytes[4..<12]))
    try iter.revert(by: 12)  // back across everything
    #expect(iter.count == 12)
    storage.segments.append(IterSegment(base: nil, count: 5))
    #expect(throws: IterError.invalidSegment(index: 4, count: 5, reason: "no memory to read in a source iterator")) {
      try iter.extend(by: 5)
    }
    #expect(throws: IterError.negativeCount(argument: "n", value: -1)) { try iter.extend(by: -1) }
    #expect(iter.count == 12)
  }
}
