//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterConformance
import IterCore
import RingBufferKind
import Testing

/// The conformance suite over both regions of the ring: the readable bytes as
/// a source-only kind, the free space as a destination-only kind. Every layout
/// the suite asks for wraps around the end of the ring's storage.
@Suite("ByteRing conforms")
struct RingConformanceTests {
  @Test func readableRegionConforms() {
    let log = RingLog()
    var options = ConformanceOptions()
    options.retentionProbe = { log.heldExtractions }
    let report = checkIterConformance(of: "ByteRing.readableRegion", options: options) { bytes, seed in
      try readableRing(holding: bytes, seed: seed, log: log).readableRegion
    }
    report.recordIssues()
    #expect(report.isClean)
    // Every layout ran, in the one direction the region supports.
    #expect(report.layoutsChecked == options.sizes.count)
    #expect(report.operationsRun == options.sizes.count * options.operationsPerRun)
  }

  @Test func freeRegionConforms() {
    let log = RingLog()
    var options = ConformanceOptions()
    options.retentionProbe = { log.heldExtractions }
    let report = checkIterConformance(of: "ByteRing.freeRegion", options: options) { bytes, seed in
      try freeRing(holding: bytes, seed: seed, log: log).freeRegion
    }
    report.recordIssues()
    #expect(report.isClean)
    #expect(report.layoutsChecked == options.sizes.count)
    #expect(report.operationsRun == options.sizes.count * options.operationsPerRun)
  }

  /// The factories really wrap: both segments hold bytes, for any seed.
  @Test(arguments: [0, 1, 2, 0xDEAD_BEEF] as [UInt64])
  func factoriesWrapAtTheSeedsPoint(seed: UInt64) throws {
    let bytes = (0..<300).map { UInt8($0 & 0xFF) }
    let log = RingLog()
    for region in [
      try readableRing(holding: bytes, seed: seed, log: log).readableRegion,
      try freeRing(holding: bytes, seed: seed, log: log).freeRegion,
    ] {
      #expect(region.first.count > 0 && region.second.count > 0)
      #expect(region.first.count + region.second.count == bytes.count)
    }
  }
}

/// Direct tests of the ring: what the suite cannot know about it.
@Suite("ByteRing")
struct ByteRingTests {
  @Test func produceAndConsumeWrapAround() throws {
    let ring = try ByteRing(capacity: 8)
    try produce(Array("abcdef".utf8), into: ring)
    var output = try IovIter(ring.readableRegion, direction: .source)
    #expect(try output.read(upTo: 4) == Array("abcd".utf8))
    try ring.consumed(4)

    // The free space is 2 bytes at the end and 4 at the start.
    let free = ring.freeRegion
    #expect(free.first.count == 2 && free.second.count == 4)
    try produce(Array("ghijkl".utf8), into: ring)
    #expect(ring.free == 0 && ring.readable == 8 && ring.head == 4)

    // The readable bytes wrap after "efgh" and read back in order.
    let region = ring.readableRegion
    #expect(region.first.count == 4 && region.second.count == 4)
    var reader = try IovIter(region, direction: .source)
    #expect(try reader.read(upTo: 100) == Array("efghijkl".utf8))
    try ring.consumed(8)
    #expect(ring.readable == 0 && ring.head == 4)
  }

  /// The suite never changes a ring behind a cursor's back, so this is for us
  /// to check: a region is a snapshot, and producing more bytes does not
  /// change what a cursor built before sees.
  @Test func aRegionIsASnapshot() throws {
    let ring = try ByteRing(capacity: 8)
    try produce(Array("abcd".utf8), into: ring)
    var reader = try IovIter(ring.readableRegion, direction: .source)
    try produce(Array("ef".utf8), into: ring)
    #expect(reader.count == 4)
    #expect(try reader.read(upTo: 100) == Array("abcd".utf8))
    var later = try IovIter(ring.readableRegion, direction: .source)
    #expect(try later.read(upTo: 100) == Array("abcdef".utf8))
  }

  @Test func gatherExportGivesTwoVectorsInOrder() throws {
    let ring = try ByteRing(capacity: 8)
    try moveHead(of: ring, to: 5)
    try produce(Array("wrapped".utf8), into: ring)
    let region = ring.readableRegion
    let reader = try IovIter(region, direction: .source)
    var vectors = [iovec](repeating: iovec(), count: 4)
    let gathered = try vectors.withUnsafeMutableBufferPointer { (buffer) throws(IterError) -> IterGather in
      try reader.gather(into: buffer)
    }
    #expect(gathered == IterGather(vectorCount: 2, byteCount: 7, isComplete: true))
    #expect(vectors[0].iov_base == region.first.base && vectors[0].iov_len == 3)
    #expect(vectors[1].iov_base == region.second.base && vectors[1].iov_len == 4)
  }

  @Test func wrongDirectionIsRefused() throws {
    let ring = try ByteRing(capacity: 8)
    try produce(Array("abc".utf8), into: ring)
    let kind = IterMemoryKind("byte-ring")
    #expect(throws: IterError.unsupportedDirection(.destination, kind: kind)) {
      try IovIter(ring.readableRegion, direction: .destination)
    }
    #expect(throws: IterError.unsupportedDirection(.source, kind: kind)) {
      try IovIter(ring.freeRegion, direction: .source)
    }
    // A copy the wrong way through a cursor is refused too, and moves nothing.
    var input = try IovIter(ring.freeRegion, direction: .destination)
    #expect(throws: IterError.self) { try input.read(upTo: 1) }
    #expect(input.count == 5 && input.consumedCount == 0)
  }

  @Test func badCountsAreTypedErrorsAndChangeNothing() throws {
    #expect(throws: IterError.self) { try ByteRing(capacity: 0) }
    let ring = try ByteRing(capacity: 8)
    try produce(Array("abc".utf8), into: ring)
    #expect(throws: IterError.self) { try ring.produced(6) }
    #expect(throws: IterError.self) { try ring.consumed(4) }
    #expect(throws: IterError.self) { try ring.consumed(-1) }
    #expect(ring.readable == 3 && ring.head == 0)
  }

  @Test func extractionHoldsTheRingUntilReleasedAndStopsAtTheWrap() throws {
    let ring = try ByteRing(capacity: 8192)
    try moveHead(of: ring, to: 8000)
    try produce([UInt8](repeating: 1, count: 500), into: ring)
    var reader = try IovIter(ring.readableRegion, direction: .source)
    #expect(!reader.extractionWillPin)
    let first = try reader.extractPages(maxBytes: 10_000, maxPages: 4)
    #expect(first.count == 192 && first.retentionKind == .ownerReference)
    #expect(ring.heldExtractions == 1)
    let second = try reader.extractPages(maxBytes: 10_000, maxPages: 4)
    #expect(second.count == 308)
    #expect(ring.heldExtractions == 2)
    first.release()
    second.release()
    #expect(ring.heldExtractions == 0)
  }
}
