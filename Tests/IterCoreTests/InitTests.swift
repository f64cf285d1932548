//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import Testing

@Suite("Building a cursor")
struct InitTests {
  @Test func coversEverySegmentByDefault() throws {
    let layout = Layout([3, 0, 1, 4096])
    let iter = try layout.cursor(.source)
    #expect(iter.count == 4100)
    #expect(iter.consumedCount == 0)
    #expect(iter.reexpandLimit == 4100)
    #expect(iter.position == IterPosition(segmentIndex: 0, offset: 0))
    #expect(iter.segmentsRemaining == 4)
    #expect(iter.direction == .source)
    #expect(iter.memoryKind == .user)
  }

  @Test func explicitCountMayBeSmallerButNotLarger() throws {
    let layout = Layout([10, 10])
    #expect(try layout.cursor(.source, count: 15).count == 15)
    #expect(throws: IterError.countExceedsSource(count: 21, available: 20)) {
      try layout.cursor(.source, count: 21)
    }
    #expect(throws: IterError.negativeCount(argument: "count", value: -1)) {
      try layout.cursor(.source, count: -1)
    }
  }

  /// A list written in place holds what the initializer wrote, no more; a
  /// throw after some writes is passed on; a negative capacity makes none.
  @Test func segmentListWrittenInPlace() throws {
    let layout = Layout([5, 0, 7, 9])
    let list = UnsafeSegmentList(unsafeUninitializedCapacity: 6, memoryKind: .kernelVirtual) { buffer, count in
      for i in 0..<layout.list.segmentCount { buffer[i] = layout.list.segment(at: i) }
      count = layout.list.segmentCount
    }
    #expect(list.segments == layout.list.segments)
    #expect(list.memoryKind == .kernelVirtual)
    #expect(try IovIter(list, direction: .source).count == 21)
    struct Stop: Error {}
    #expect(throws: Stop.self) {
      _ = try UnsafeSegmentList(unsafeUninitializedCapacity: 2) { buffer, count in
        buffer[0] = IterSegment(base: nil, count: 1)
        count = 1
        throw Stop()
      }
    }
    let none = UnsafeSegmentList(unsafeUninitializedCapacity: -3) { _, count in count = 0 }
    #expect(none.segmentCount == 0)
  }

  @Test func negativeSegmentLengthIsRejected() {
    let list = UnsafeSegmentList([IterSegment(base: nil, count: 4), IterSegment(base: nil, count: -1)])
    #expect(throws: IterError.invalidSegment(index: 1, count: -1, reason: "negative length")) {
      try IovIter(list, direction: .destination)
    }
  }

  @Test func memorylessSegmentCannotBeRead() throws {
    let list = UnsafeSegmentList([IterSegment(base: nil, count: 0), IterSegment(base: nil, count: 8)])
    #expect(throws: IterError.invalidSegment(index: 1, count: 8, reason: "no memory to read in a source iterator")) {
      try IovIter(list, direction: .source)
    }
    // An empty memoryless segment is harmless, and a destination may have them.
    #expect(try IovIter(UnsafeSegmentList([IterSegment(base: nil, count: 0)]), direction: .source).count == 0)
    #expect(try IovIter(list, direction: .destination).count == 8)
  }

  @Test func overflowingLengthsAreRejected() {
    let half = Int.max / 2 + 1
    let list = UnsafeSegmentList([IterSegment(base: nil, count: half), IterSegment(base: nil, count: half)])
    #expect(throws: IterError.lengthOverflow(total: half, limit: Int.max)) {
      try IovIter(list, direction: .destination)
    }
  }

  struct SinkOnly: IterSegmentSource {
    var segmentCount: Int { 1 }
    func segment(at index: Int) -> IterSegment { IterSegment(base: nil, count: 16) }
    var supportedDirections: IterDirections { .destination }
    var memoryKind: IterMemoryKind { IterMemoryKind("sink") }
  }

  @Test func unsupportedDirectionIsRejected() throws {
    #expect(throws: IterError.unsupportedDirection(.source, kind: IterMemoryKind("sink"))) {
      try IovIter(SinkOnly(), direction: .source)
    }
    #expect(try IovIter(SinkOnly(), direction: .destination).count == 16)
  }

  @Test func emptySourceGivesAnEmptyCursor() throws {
    var iter = try IovIter(UnsafeSegmentList([]), direction: .source)
    #expect(iter.isEmpty)
    #expect(try iter.read(upTo: 10) == [])
    try iter.advance(by: 5)
    #expect(iter.segmentsRemaining == 0)
    #expect(try iter.alignment == 0 && iter.gapAlignment == 0)
    #expect(try iter.pageCount() == 0)
  }

  @Test func descriptionsNameTheState() throws {
    let iter = try Layout([4]).cursor(.destination)
    #expect(iter.description.contains("destination"))
    #expect(IterSegment(base: nil, count: 3).description == "discard+3")
    #expect(IterError.revertPastStart(requested: 5, consumed: 2).description.contains("5"))
  }
}
