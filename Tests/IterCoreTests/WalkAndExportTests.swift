//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import Testing

@Suite("Chunk walker, gather export, splitting")
struct WalkAndExportTests {
  @Test func walkerVisitsChunksAndStopsEarly() throws {
    let layout = Layout([3, 0, 5, 2])
    var iter = try layout.cursor(.source)
    var chunks: [[UInt8]] = []
    var progresses: [Int] = []
    let done = iter.iterateAndAdvance(maxCount: 100) { chunk, progress in
      progresses.append(progress)
      let take = chunks.count == 1 ? 2 : chunk.count  // stop part-way into the second chunk
      chunks.append(Array(chunk[0..<take]))
      return take
    }
    #expect(done == 5)
    #expect(chunks == [Array(layout.bytes[0..<3]), Array(layout.bytes[3..<5])])
    #expect(progresses == [0, 3])
    #expect(iter.position == IterPosition(segmentIndex: 2, offset: 2))
  }

  @Test func walkerClampsOutOfRangeReturnsAndNegativeCounts() throws {
    var iter = try Layout([4, 4]).cursor(.source)
    #expect(iter.iterateAndAdvance(maxCount: -5) { _, _ in 99 } == 0)
    #expect(iter.iterateAndAdvance(maxCount: 6) { chunk, _ in chunk.count + 100 } == 6)
    #expect(iter.iterateAndAdvance(maxCount: 6) { _, _ in -1 } == 0)
    #expect(iter.count == 2)
  }

  struct Stop: Error, Equatable {}

  @Test func walkerThatThrowsKeepsProgress() throws {
    var iter = try Layout([4, 4, 4]).cursor(.source)
    var calls = 0
    #expect(throws: Stop()) {
      try iter.iterateAndAdvance(maxCount: 12) { (chunk, _) throws(Stop) -> Int in
        calls += 1
        if calls == 2 { throw Stop() }
        return chunk.count
      }
    }
    #expect(iter.consumedCount == 4)
  }

  @Test func forEachChunkPeeks() throws {
    let layout = Layout([2, 0, 3])
    let iter = try layout.cursor(.source)
    var seen: [UInt8] = []
    iter.forEachChunk { span in
      span.withUnsafeBytes { seen += $0 }
      return true
    }
    #expect(seen == layout.bytes)
    var first: [UInt8] = []
    iter.forEachChunk { span in
      span.withUnsafeBytes { first += $0 }
      return false
    }
    #expect(first == Array(layout.bytes[0..<2]))
    #expect(iter.consumedCount == 0)
  }

  @Test func gatherSkipsEmptySegmentsAndNeverReorders() throws {
    var iter = try IovIter(fakeList([(0x1000, 10), (0x9000, 0), (0x2000, 20), (0x3000, 30)]), direction: .source)
    try iter.advance(by: 4)
    var vectors = [iovec](repeating: iovec(), count: 8)
    let all = try vectors.withUnsafeMutableBufferPointer { try iter.gather(into: $0) }
    #expect(all == IterGather(vectorCount: 3, byteCount: 56, isComplete: true))
    #expect(vectors[0].iov_base == UnsafeMutableRawPointer(bitPattern: 0x1004) && vectors[0].iov_len == 6)
    #expect(vectors[1].iov_base == UnsafeMutableRawPointer(bitPattern: 0x2000) && vectors[1].iov_len == 20)
    #expect(vectors[2].iov_base == UnsafeMutableRawPointer(bitPattern: 0x3000) && vectors[2].iov_len == 30)
    let two = try vectors.withUnsafeMutableBufferPointer {
      try iter.gather(into: UnsafeMutableBufferPointer(rebasing: $0[0..<2]))
    }
    #expect(two == IterGather(vectorCount: 2, byteCount: 26, isComplete: false))
    let clipped = try vectors.withUnsafeMutableBufferPointer { try iter.gather(into: $0, maxBytes: 10) }
    #expect(clipped == IterGather(vectorCount: 2, byteCount: 10, isComplete: false))
    #expect(vectors[1].iov_len == 4)
    #expect(throws: IterError.negativeCount(argument: "maxBytes", value: -1)) {
      try vectors.withUnsafeMutableBufferPointer { try iter.gather(into: $0, maxBytes: -1) }
    }
    #expect(iter.consumedCount == 4)
    var span = vectors.mutableSpan
    #expect(try iter.gather(into: &span).vectorCount == 3)
  }

  @Test func gatherStopsAtAMemorylessSegment() throws {
    let list = UnsafeSegmentList([
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x1000), count: 8), IterSegment(base: nil, count: 8),
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x2000), count: 8),
    ])
    let iter = try IovIter(list, direction: .destination)
    var vectors = [iovec](repeating: iovec(), count: 4)
    let result = try vectors.withUnsafeMutableBufferPointer { try iter.gather(into: $0) }
    #expect(result == IterGather(vectorCount: 1, byteCount: 8, isComplete: false))
  }

  @Test func splitGivesDisjointConfinedPieces() throws {
    let layout = Layout([5, 5, 5])
    var iter = try layout.cursor(.source)
    try iter.advance(by: 2)
    var (head, tail) = try iter.split(at: 6)
    #expect(head.count == 6 && tail.count == 7)
    #expect(iter.consumedCount == 2 && iter.count == 13)  // the parent does not move
    #expect(throws: IterError.reexpandPastLimit(requested: 7, limit: 6)) { try head.reexpand(to: 7) }
    #expect(throws: IterError.revertPastStart(requested: 1, consumed: 0)) { try tail.revert(by: 1) }
    #expect(try head.read(upTo: 100) == Array(layout.bytes[2..<8]))
    #expect(try tail.read(upTo: 100) == Array(layout.bytes[8..<15]))
    let (all, none) = try iter.split(at: 100)
    #expect(all.count == 13 && none.count == 0)
    #expect(throws: IterError.negativeCount(argument: "n", value: -1)) { try iter.split(at: -1) }
  }

  @Test func splitIntoPieces() throws {
    let layout = Layout([7, 0, 9])
    let iter = try layout.cursor(.source)
    let pieces = try iter.split(maxPieceCount: 5)
    #expect(pieces.map(\.count) == [5, 5, 5, 1])
    var joined: [UInt8] = []
    for var piece in pieces { joined += try piece.read(upTo: 100) }
    #expect(joined == layout.bytes)
    #expect(throws: IterError.invalidArgument(argument: "maxPieceCount", value: 0, reason: "must be at least 1")) {
      try iter.split(maxPieceCount: 0)
    }
    var empty = iter
    try empty.advance(by: 16)
    #expect(try empty.split(maxPieceCount: 4).isEmpty)
  }
}
