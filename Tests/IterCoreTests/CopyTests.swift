//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterTestSupport
import Testing

@Suite("Copy in and out")
struct CopyTests {
  @Test func writeFillsSegmentsInOrderAcrossEmptyAndOneByteSegments() throws {
    let layout = Layout([2, 0, 1, 0, 0, 3])
    var iter = try layout.cursor(.destination)
    #expect(try iter.write([1, 2, 3, 4, 5, 6, 7, 8]) == 6)  // clamped to count
    #expect(layout.bytes == [1, 2, 3, 4, 5, 6])
    #expect(iter.count == 0)
  }

  @Test func readClampsToCount() throws {
    let layout = Layout([5, 5])
    var iter = try layout.cursor(.source, count: 7)
    #expect(try iter.read(upTo: 100) == Array(layout.bytes[0..<7]))
    #expect(try iter.read(upTo: 100) == [])
  }

  @Test func pageCrossingSegmentsCopyByteExact() throws {
    let layout = Layout([100, 8192, 3], at: 4096 - 50)
    var iter = try layout.cursor(.source)
    var out = [UInt8](repeating: 0, count: layout.total)
    #expect(try out.withUnsafeMutableBytes { try iter.read(into: $0) } == layout.total)
    #expect(out == layout.bytes)
  }

  /// The kernel's iterate_iovec: a copy that ends exactly at the end of a
  /// segment steps to the next segment (even an empty one) and no further.
  @Test func copyEndingOnABoundaryStopsAtTheNextSegment() throws {
    let layout = Layout([4, 0, 0, 4])
    var iter = try layout.cursor(.source)
    _ = try iter.read(upTo: 4)
    #expect(iter.position == IterPosition(segmentIndex: 1, offset: 0))
    #expect(iter.segmentsRemaining == 3)
    #expect(iter.singleSegmentCount == 0)  // standing on an empty segment, as the kernel reports
    // An advance of zero with bytes left steps over the empty ones (iov_iter_iovec_advance).
    try iter.advance(by: 0)
    #expect(iter.position == IterPosition(segmentIndex: 3, offset: 0))
    #expect(iter.singleSegmentCount == 4)
  }

  @Test func fullConsumptionStatesMatchTheKernel() throws {
    let layout = Layout([4, 4, 0, 0])
    var byCopy = try layout.cursor(.source)
    _ = try byCopy.read(upTo: 8)
    #expect(byCopy.segmentsRemaining == 2)  // iterate_iovec: p++ once past the last full segment
    var byAdvance = try layout.cursor(.source)
    try byAdvance.advance(by: 8)
    #expect(byAdvance.segmentsRemaining == 0)  // iov_iter_advance: nr_segs == 0
    #expect(byAdvance.segmentOffset == 0)
  }

  @Test func wrongDirectionThrowsAndChangesNothing() throws {
    let layout = Layout([8])
    var source = try layout.cursor(.source)
    try source.advance(by: 2)
    let state = source.saveState()
    #expect(throws: IterError.wrongDirection(operation: "copy_to_iter", direction: .source)) {
      try source.write([1, 2])
    }
    #expect(throws: IterError.wrongDirection(operation: "iov_iter_zero", direction: .source)) {
      try source.zero(1)
    }
    #expect(source.saveState() == state)
    var destination = try layout.cursor(.destination)
    #expect(throws: IterError.wrongDirection(operation: "copy_from_iter", direction: .destination)) {
      try destination.read(upTo: 1)
    }
    #expect(throws: IterError.wrongDirection(operation: "copy_from_iter_full", direction: .destination)) {
      try destination.readFull(count: 1)
    }
    #expect(destination.count == 8)
  }

  @Test func fullFormsCopyAllOrNothing() throws {
    let layout = Layout([3, 3])
    let before = layout.bytes
    var iter = try layout.cursor(.destination)
    #expect(throws: IterError.insufficientBytes(requested: 7, remaining: 6)) {
      try iter.writeFull([UInt8](repeating: 9, count: 7))
    }
    #expect(layout.bytes == before)  // the kernel would have written 6 bytes, then reverted
    #expect(iter.count == 6)
    try iter.writeFull([1, 2, 3, 4, 5, 6])
    #expect(layout.bytes == [1, 2, 3, 4, 5, 6])

    var source = try layout.cursor(.source)
    #expect(throws: IterError.insufficientBytes(requested: 7, remaining: 6)) { try source.readFull(count: 7) }
    var buffer = [UInt8](repeating: 0, count: 7)
    #expect(throws: IterError.insufficientBytes(requested: 7, remaining: 6)) {
      try buffer.withUnsafeMutableBytes { try source.readFull(into: $0) }
    }
    #expect(buffer == [0, 0, 0, 0, 0, 0, 0])
    #expect(try source.readFull(count: 6) == [1, 2, 3, 4, 5, 6])
  }

  @Test func spanForms() throws {
    let layout = Layout([2, 5])
    var dst = try layout.cursor(.destination)
    let bytes: [UInt8] = [10, 11, 12, 13, 14, 15, 16]
    #expect(try dst.write(bytes.span.bytes) == 7)
    var src = try layout.cursor(.source)
    var out = [UInt8](repeating: 0, count: 4)
    var span = out.mutableSpan
    var raw = span.mutableBytes
    #expect(try src.read(into: &raw) == 4)
    _ = consume raw
    _ = consume span
    #expect(out == [10, 11, 12, 13])
    let rest = [UInt8](unsafeUninitializedCapacity: 10) { buffer, initialized in
      var output = OutputRawSpan(buffer: UnsafeMutableRawBufferPointer(buffer), initializedCount: 0)
      _ = try? src.read(into: &output)
      initialized = output.finalize(for: UnsafeMutableRawBufferPointer(buffer))
    }
    #expect(rest == [14, 15, 16])
  }

  @Test func zeroFills() throws {
    let layout = Layout([3, 0, 4])
    var iter = try layout.cursor(.destination)
    try iter.advance(by: 1)
    #expect(try iter.zero(5) == 5)
    #expect(Array(layout.bytes[1..<6]) == [0, 0, 0, 0, 0])
    #expect(layout.bytes[6] != 0 || layout.bytes[0] != 0)
    #expect(throws: IterError.negativeCount(argument: "n", value: -2)) { try iter.zero(-2) }
  }

  @Test func iteratorToIteratorWithUnequalBoundaries() throws {
    let from = Layout([1, 5, 0, 2, 9])
    let into = Layout([4, 4, 0, 4, 5])
    var src = try from.cursor(.source)
    var dst = try into.cursor(.destination)
    #expect(try dst.copy(from: &src, maxCount: 10) == 10)
    #expect(src.count == 7 && dst.count == 7)
    #expect(try dst.copy(from: &src) == 7)
    #expect(into.bytes == from.bytes)
  }

  @Test func iteratorToIteratorChecksDirectionsFirst() throws {
    let a = Layout([4])
    let b = Layout([4])
    var src = try a.cursor(.source)
    var alsoSource = try b.cursor(.source)
    #expect(throws: IterError.wrongDirection(operation: "copy to iterator", direction: .source)) {
      try alsoSource.copy(from: &src)
    }
    var dst = try b.cursor(.destination)
    var alsoDestination = try a.cursor(.destination)
    #expect(throws: IterError.wrongDirection(operation: "copy from iterator", direction: .destination)) {
      try dst.copy(from: &alsoDestination)
    }
    #expect(throws: IterError.negativeCount(argument: "maxCount", value: -1)) {
      try dst.copy(from: &src, maxCount: -1)
    }
    #expect(src.count == 4 && dst.count == 4 && alsoDestination.count == 4)
  }

  @Test func copyIntoMemorylessSegmentsConsumes() throws {
    let layout = Layout([2, 2])
    let list = UnsafeSegmentList([
      layout.list.segment(at: 0), IterSegment(base: nil, count: 3), layout.list.segment(at: 1),
    ])
    var iter = try IovIter(list, direction: .destination)
    #expect(try iter.write([1, 2, 3, 4, 5, 6, 7]) == 7)
    #expect(layout.bytes == [1, 2, 6, 7])
  }
}
