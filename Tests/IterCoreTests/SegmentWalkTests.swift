//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterTestSupport
import Testing

/// Segments in a box the test can change after the cursor was built (a
/// source that breaks the protocol's promise not to).
struct MutableList: IterSegmentSource {
  final class Box { var segments: [IterSegment] = [] }
  let box = Box()
  init(_ segments: [IterSegment]) { box.segments = segments }
  var segmentCount: Int { box.segments.count }
  func segment(at index: Int) -> IterSegment { box.segments[index] }
  func withContiguousSegments<R, E: Error>(
    from index: Int, _ body: (UnsafeBufferPointer<IterSegment>) throws(E) -> R
  ) throws(E) -> R? {
    try box.segments.withUnsafeBufferPointer { (all) throws(E) -> R in
      try body(UnsafeBufferPointer(rebasing: all[index...]))
    }
  }
}

@Suite("Walking segment runs and advancing")
struct SegmentWalkTests {
  /// One walk: `budget` bytes taken from the runs as a careful reader takes
  /// them, or a wild return value now and then; collects the bytes taken.
  func walk<S: IterSegmentSource>(
    _ iter: inout IovIter<S>, budget: Int, wild: Int?, seen: inout [UInt8], calls: inout [(Int, Int)]
  ) -> Int {
    var left = budget
    return iter.iterateSegmentsAndAdvance { run, offset, limit in
      calls.append((offset, limit))
      if let wild { return wild }
      var taken = 0
      var skip = offset
      for segment in run {
        let want = Swift.min(left, limit - taken)
        guard want > 0 else { break }
        let available = segment.count - skip
        let n = Swift.min(available, want)
        if let base = segment.base {
          seen += UnsafeRawBufferPointer(start: base + skip, count: n)
        }
        taken += n
        left -= n
        skip = 0
      }
      return taken
    }
  }

  /// The cursor ends where `advance(by:)` by the same count puts it, and the
  /// bytes the walk was shown are the bytes a read gives.
  @Test(arguments: 0..<40)
  func movesAsAdvanceWould(seed: UInt64) throws {
    let f = BulkAccessTests.Fixture(seed: seed)
    func check<S: IterSegmentSource>(_ source: S) throws {
      var rng = SeededGenerator(seed: seed &* 7 &+ 1)
      var iter = try IovIter(source, direction: .source)
      try iter.advance(by: Int.random(in: 0...(f.total / 3), using: &rng))
      if Bool.random(using: &rng) {
        try iter.truncate(to: Int.random(in: 0...iter.count, using: &rng))
      }
      for _ in 0..<12 {
        let budget = Int.random(in: 0...600, using: &rng)
        let wild: Int? =
          switch Int.random(in: 0..<10, using: &rng) {
          case 0: -Int.random(in: 1...100, using: &rng)
          case 1: Int.max
          case 2: Int.random(in: 0...5000, using: &rng)
          default: nil
          }
        var expected = iter
        var peek = iter
        let start = iter.position
        let before = iter.count
        var seen: [UInt8] = []
        var calls: [(Int, Int)] = []
        let moved = walk(&iter, budget: budget, wild: wild, seen: &seen, calls: &calls)
        try expected.advance(by: moved)
        #expect(iter.position == expected.position)
        #expect(iter.count == expected.count)
        #expect(iter.consumedCount == expected.consumedCount)
        if wild == nil {
          #expect(moved == Swift.min(budget, before))
          #expect(seen == (try peek.read(upTo: moved)))
        } else {
          #expect(moved >= 0 && moved <= before)
        }
        if let first = calls.first {
          #expect(first.0 == start.offset)
          #expect(first.1 == before)
        } else {
          #expect(moved == 0)
        }
      }
    }
    try check(f.bulk)
    try check(f.perSegment)
    try check(f.choppy)
  }

  @Test func anEmptyCursorCallsNothing() throws {
    let memory = TestMemory(size: 64)
    var iter = try IovIter(UnsafeSegmentList([IterSegment(base: memory.base, count: 64)]), direction: .source)
    try iter.advance(by: 64)
    var called = false
    #expect(
      iter.iterateSegmentsAndAdvance { _, _, _ in
        called = true
        return 1
      } == 0)
    #expect(!called)
    #expect(iter.count == 0)
  }

  /// Runs go on while the body takes them whole, and the walk steps over
  /// empty segments where it stops, as `advance(by:)` does.
  @Test func wholeRunsGoOnAndEmptySegmentsAreSteppedOver() throws {
    let memory = TestMemory(size: 300)
    let segments = [
      IterSegment(base: memory.base, count: 100), IterSegment(base: memory.base + 100, count: 0),
      IterSegment(base: memory.base + 100, count: 100), IterSegment(base: memory.base + 200, count: 0),
      IterSegment(base: memory.base + 200, count: 100),
    ]
    // One segment a run: five calls to take everything.
    var iter = try IovIter(PerSegmentList(segments: segments), direction: .source)
    var runs = 0
    #expect(
      iter.iterateSegmentsAndAdvance { run, offset, _ in
        runs += 1
        return run[0].count - offset
      } == 300)
    #expect(runs == 5)
    #expect(iter.count == 0)
    // Stopping at the end of segment 2 lands past the empty segment 3.
    var again = try IovIter(UnsafeSegmentList(segments), direction: .source)
    #expect(again.iterateSegmentsAndAdvance { _, _, _ in 200 } == 200)
    #expect(again.position == IterPosition(segmentIndex: 4, offset: 0))
    #expect(again.count == 100)
  }

  /// A segment that turned negative under the cursor stops the walk before
  /// it, whatever the body claims.
  @Test func neverMovesPastABrokenSegment() throws {
    let memory = TestMemory(size: 300)
    let list = MutableList([
      IterSegment(base: memory.base, count: 100), IterSegment(base: memory.base + 100, count: 100),
      IterSegment(base: memory.base + 200, count: 100),
    ])
    var iter = try IovIter(list, direction: .source)
    try iter.advance(by: 30)
    list.box.segments[1].count = -5
    #expect(iter.iterateSegmentsAndAdvance { _, _, limit in limit } == 70)
    #expect(iter.position == IterPosition(segmentIndex: 1, offset: 0))
    #expect(iter.count == 200)
    #expect(iter.consumedCount == 100)
    // Shorter than the offset into it: no move at all.
    list.box.segments[1].count = 100
    try iter.advance(by: 40)
    list.box.segments[1].count = 10
    #expect(iter.iterateSegmentsAndAdvance { _, _, limit in limit } == 0)
    #expect(iter.position == IterPosition(segmentIndex: 1, offset: 40))
    #expect(iter.count == 160)
  }
}
