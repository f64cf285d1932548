//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterDiscard
import IterTestSupport
import Testing

@Suite("DiscardSink")
struct DiscardSinkTests {
  // MARK: - Building

  @Test func theSinkIsOneSegmentWithoutMemory() throws {
    let sink = try DiscardSink(count: 4096)
    #expect(sink.count == 4096)
    #expect(sink.segmentCount == 1)
    #expect(!sink.segment(at: 0).hasMemory)
    #expect(sink.segment(at: 0).count == 4096)
    #expect(sink.memoryKind == .discard)
    #expect(sink.supportedDirections == .destination)
    for options: IterExtractionOptions in [[], [.retain], [.allowP2PDMA]] {
      #expect(sink.retention(for: options) == .none)
    }
    #expect(!sink.extractionWillPin)
    #expect("\(sink)" == "discard+4096")
  }

  @Test func aNegativeCountIsATypedError() {
    #expect(throws: IterError.negativeCount(argument: "count", value: -1)) {
      try DiscardSink(count: -1)
    }
    #expect(throws: IterError.negativeCount(argument: "count", value: .min)) {
      try IovIter(discarding: .min)
    }
  }

  @Test func aSourceCursorCannotBeBuilt() throws {
    #expect(throws: IterError.unsupportedDirection(.source, kind: .discard)) {
      try IovIter(DiscardSink(count: 10), direction: .source)
    }
    #expect(throws: IterError.unsupportedDirection(.source, kind: .discard)) {
      try IovIter(DiscardSink(count: 0), direction: .source)
    }
    let iter = try IovIter(discarding: 10)
    #expect(iter.direction == .destination)
    #expect(iter.memoryKind == .discard)
    #expect(iter.count == 10)
  }

  @Test func aCountNarrowerThanTheSinkIsAllowedButNotWider() throws {
    let sink = try DiscardSink(count: 100)
    #expect(try IovIter(sink, direction: .destination, count: 40).count == 40)
    #expect(throws: IterError.countExceedsSource(count: 101, available: 100)) {
      try IovIter(sink, direction: .destination, count: 101)
    }
  }

  // MARK: - Copying into it

  @Test func copyingInConsumesBytesAndKeepsNone() throws {
    var iter = try IovIter(discarding: 4096)
    #expect(try iter.write([UInt8](repeating: 7, count: 100)) == 100)
    #expect(iter.count == 3996)
    #expect(iter.consumedCount == 100)
    #expect(try iter.write([UInt8](repeating: 7, count: 5000)) == 3996)
    #expect(iter.count == 0)
    #expect(try iter.write([1, 2, 3]) == 0)
    #expect(iter.consumedCount == 4096)
  }

  @Test func zeroFillAndFullCopiesConsume() throws {
    var iter = try IovIter(discarding: 50)
    #expect(try iter.zero(20) == 20)
    try iter.writeFull([UInt8](repeating: 1, count: 25))
    #expect(iter.count == 5)
    let state = iter.saveState()
    #expect(throws: IterError.insufficientBytes(requested: 6, remaining: 5)) {
      try iter.writeFull([UInt8](repeating: 1, count: 6))
    }
    #expect(iter.saveState() == state)
    #expect(throws: IterError.negativeCount(argument: "n", value: -1)) { try iter.zero(-1) }
    #expect(iter.saveState() == state)
  }

  @Test func checksummedCopiesStillSumTheBytes() throws {
    var iter = try IovIter(discarding: 8)
    var sum = InternetChecksum()
    let bytes: [UInt8] = [0x45, 0x00, 0x00, 0x1c, 0xff, 0xff]
    let n = try bytes.withUnsafeBytes { try iter.write($0, checksum: &sum) }
    #expect(n == 6)
    var reference = InternetChecksum()
    bytes.withUnsafeBytes { reference.update($0) }
    #expect(sum.value == reference.value)
    #expect(iter.count == 2)
  }

  @Test func copyingFromASourceCursorConsumesBoth() throws {
    var bytes = [UInt8](repeating: 9, count: 300)
    try bytes.withUnsafeMutableBytes { raw in
      let list = UnsafeSegmentList([
        IterSegment(UnsafeMutableRawBufferPointer(rebasing: raw[0..<100])),
        IterSegment(UnsafeMutableRawBufferPointer(rebasing: raw[100..<300])),
      ])
      var source = try IovIter(list, direction: .source)
      var sink = try IovIter(discarding: 250)
      #expect(try sink.copy(from: &source) == 250)
      #expect(sink.count == 0)
      #expect(source.count == 50)
      #expect(source.position == IterPosition(segmentIndex: 1, offset: 150))
    }
    #expect(bytes.allSatisfy { $0 == 9 })
  }

  @Test func theWalkerConsumesWithoutCallingTheBody() throws {
    var iter = try IovIter(discarding: 64)
    var calls = 0
    let n = iter.iterateAndAdvance(maxCount: 40) { chunk, _ in
      calls += 1
      return chunk.count
    }
    #expect(n == 40)
    #expect(calls == 0)
    #expect(iter.count == 24)
    iter.forEachChunk { _ in
      calls += 1
      return true
    }
    #expect(calls == 0)
  }

  // MARK: - Copying out of it

  @Test func copyingOutIsAWrongDirectionError() throws {
    var iter = try IovIter(discarding: 100)
    try iter.advance(by: 10)
    let state = iter.saveState()
    var buffer = [UInt8](repeating: 0, count: 8)
    #expect(throws: IterError.wrongDirection(operation: "copy_from_iter", direction: .destination)) {
      try buffer.withUnsafeMutableBytes { _ = try iter.read(into: $0) }
    }
    #expect(throws: IterError.wrongDirection(operation: "copy_from_iter", direction: .destination)) {
      _ = try iter.read(upTo: 8)
    }
    #expect(
      throws: IterError.wrongDirection(operation: "copy_from_iter_full", direction: .destination)
    ) {
      _ = try iter.readFull(count: 8)
    }
    var sum = InternetChecksum()
    #expect(
      throws: IterError.wrongDirection(
        operation: "csum_and_copy_from_iter", direction: .destination)
    ) {
      try buffer.withUnsafeMutableBytes { _ = try iter.read(into: $0, checksum: &sum) }
    }
    // As the other side of an iterator copy, a sink is not a source.
    var other = try IovIter(discarding: 100)
    #expect(
      throws: IterError.wrongDirection(operation: "copy from iterator", direction: .destination)
    ) {
      try other.copy(from: &iter)
    }
    #expect(iter.saveState() == state)
    #expect(other.count == 100)
    #expect(buffer.allSatisfy { $0 == 0 })
  }

  // MARK: - Extraction

  @Test func extractionIsUnsupported() throws {
    var iter = try IovIter(discarding: 8192)
    let state = iter.saveState()
    for options: IterExtractionOptions in [[], [.retain]] {
      #expect(throws: IterError.extractionUnsupported(kind: .discard)) {
        _ = try iter.extractPages(maxBytes: 4096, maxPages: 4, options: options)
      }
    }
    #expect(iter.saveState() == state)
    #expect(throws: IterError.extractionUnsupported(kind: .discard)) {
      _ = try DiscardSink(count: 1).extractPages(
        at: IterPosition(segmentIndex: 0, offset: 0), maxBytes: 1, maxPages: 1, options: [])
    }
    // Asking for nothing returns nothing before the kind is looked at, as in the kernel.
    let nothing = try iter.extractPages(maxBytes: 0, maxPages: 1)
    #expect(nothing.count == 0 && nothing.pages.isEmpty)
    var empty = try IovIter(discarding: 0)
    let none = try empty.extractPages(maxBytes: 100, maxPages: 1)
    #expect(none.count == 0)
    #expect(iter.saveState() == state)
  }

  // MARK: - Movement and state

  @Test func movementChangesOnlyTheCounts() throws {
    var iter = try IovIter(discarding: 1000)
    try iter.advance(by: 300)
    #expect(iter.count == 700 && iter.consumedCount == 300)
    #expect(iter.position == IterPosition(segmentIndex: 0, offset: 300))
    try iter.revert(by: 100)
    #expect(iter.count == 800 && iter.position.offset == 200)
    let saved = iter.saveState()
    try iter.truncate(to: 50)
    #expect(iter.count == 50)
    #expect(iter.singleSegmentCount == 50)
    try iter.reexpand(to: 800)
    #expect(iter.count == 800)
    try iter.advance(by: 5000)  // clamps
    #expect(iter.count == 0 && iter.consumedCount == 1000)
    try iter.restore(saved)
    #expect(iter.count == 800 && iter.consumedCount == 200)
    try iter.revert(by: 200)
    #expect(iter.count == 1000 && iter.position == IterPosition(segmentIndex: 0, offset: 0))
  }

  @Test func misuseOfMovementIsATypedErrorAndLeavesTheCursorUnchanged() throws {
    var iter = try IovIter(discarding: 100)
    try iter.advance(by: 40)
    try iter.truncate(to: 30)
    let state = iter.saveState()
    #expect(throws: IterError.revertPastStart(requested: 41, consumed: 40)) {
      try iter.revert(by: 41)
    }
    #expect(throws: IterError.reexpandPastLimit(requested: 61, limit: 60)) {
      try iter.reexpand(to: 61)
    }
    #expect(throws: IterError.negativeCount(argument: "n", value: -5)) { try iter.advance(by: -5) }
    #expect(throws: IterError.negativeCount(argument: "n", value: -5)) { try iter.truncate(to: -5) }
    let stranger = try IovIter(discarding: 100)
    #expect(throws: IterError.foreignState) { try iter.restore(stranger.saveState()) }
    #expect(iter.saveState() == state)
    #expect(iter.count == 30)
  }

  // MARK: - Queries

  @Test(arguments: [0, 1, 4095, 4096, 1 << 20])
  func alignmentAndPageCountAreZero(count: Int) throws {
    var iter = try IovIter(discarding: count)
    #expect(try iter.alignment == 0)
    #expect(try iter.gapAlignment == 0)
    #expect(try iter.pageCount() == 0)
    #expect(try iter.pageCount(limit: 3) == 0)
    #expect(iter.singleSegmentCount == count)
    try iter.advance(by: count / 3)
    #expect(try iter.alignment == 0)
    #expect(try iter.pageCount() == 0)
    #expect(throws: IterError.negativeCount(argument: "limit", value: -1)) {
      try iter.pageCount(limit: -1)
    }
  }

  @Test func gatherExportsNothing() throws {
    var vectors = [iovec](repeating: iovec(), count: 4)
    let iter = try IovIter(discarding: 512)
    let result = try vectors.withUnsafeMutableBufferPointer { try iter.gather(into: $0) }
    #expect(result == IterGather(vectorCount: 0, byteCount: 0, isComplete: false))
    #expect(iter.count == 512)
    let empty = try IovIter(discarding: 0)
    let none = try vectors.withUnsafeMutableBufferPointer { try empty.gather(into: $0) }
    #expect(none == IterGather(vectorCount: 0, byteCount: 0, isComplete: true))
  }

  @Test func splittingGivesDisjointSinks() throws {
    let iter = try IovIter(discarding: 1000)
    let (head, tail) = try iter.split(at: 300)
    #expect(head.count == 300 && tail.count == 700)
    #expect(head.memoryKind == .discard && tail.direction == .destination)
    let pieces = try iter.split(maxPieceCount: 256)
    #expect(pieces.map(\.count) == [256, 256, 256, 232])
  }

  // MARK: - Model

  /// 6 sinks × 20,000 operations = 120,000 operations, destination only.
  @Test(arguments: [0, 1, 100, 4096, 70_000, 200_000])
  func randomOperationsAgainstTheModel(count: Int) throws {
    var rng = SeededGenerator(seed: TestSeed.base ^ 0xD15C_A4D ^ UInt64(count))
    let seed = rng.next()
    try checkAgainstModel(
      try DiscardSink(count: count), direction: .destination, operations: 20_000, seed: seed,
      label: "DiscardSink (\(count) bytes)")
  }
}
