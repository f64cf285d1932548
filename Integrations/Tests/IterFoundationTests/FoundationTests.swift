//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Dispatch
import Foundation
import IntegrationTestSupport
import IterConformance
import IterCore
import IterFoundation
import Testing

/// A `DispatchData` whose regions are the seed's pieces of `bytes` (each
/// appended as its own buffer, so the regions stay apart).
func dispatchData(holding bytes: [UInt8], seed: UInt64) -> DispatchData {
  var data = DispatchData.empty
  for piece in seededPieces(of: bytes, seed: seed) where !piece.isEmpty {
    piece.withUnsafeBytes { data.append($0) }
  }
  return data
}

/// A `Data` holding `bytes`, sometimes a slice of a larger one (its storage
/// then starts before its bytes).
func data(holding bytes: [UInt8], seed: UInt64) -> Data {
  let lead = seededChoice(0...40, seed: seed, salt: 0xDA7A)
  guard lead % 2 == 1 else { return Data(bytes) }
  let whole = Data(repeating: 0xAA, count: lead) + Data(bytes) + Data(repeating: 0xBB, count: 5)
  return whole[(whole.startIndex + lead)..<(whole.startIndex + lead + bytes.count)]
}

@Suite("Foundation kinds conform")
struct FoundationConformanceTests {
  @Test func dispatchDataRegionsConform() {
    let (report, options) = checkConformance(
      of: "DataRegionsSegments<DispatchData>", holds: \DataRegionsSegments<DispatchData>.heldExtractions
    ) { bytes, seed in DataRegionsSegments(dispatchData(holding: bytes, seed: seed)) }
    report.recordIssues()
    #expect(report.isClean)
    #expect(report.operationsRun == options.sizes.count * options.operationsPerRun)
  }

  @Test func dataRegionsConform() {
    let (report, _) = checkConformance(
      of: "DataRegionsSegments<Data>", holds: \DataRegionsSegments<Data>.heldExtractions
    ) { bytes, seed in DataRegionsSegments(data(holding: bytes, seed: seed)) }
    report.recordIssues()
    #expect(report.isClean)
  }

  @Test func dataConformsBothWays() {
    let (report, options) = checkConformance(of: "DataSegments", holds: \DataSegments.heldExtractions) {
      bytes, seed in DataSegments(data(holding: bytes, seed: seed))
    }
    report.recordIssues()
    #expect(report.isClean)
    // Both directions ran the model.
    #expect(report.operationsRun == 2 * options.sizes.count * options.operationsPerRun)
  }
}

@Suite("Foundation kinds")
struct FoundationKindTests {
  @Test func severalRegionsAreSeveralSegments() throws {
    var dd = DispatchData.empty
    for word in ["one ", "two ", "three"] { Array(word.utf8).withUnsafeBytes { dd.append($0) } }
    let kind = DataRegionsSegments(dd)
    #expect(kind.segmentCount == dd.regions.count)
    #expect(kind.segmentCount == 3)
    var iter = try IovIter(kind, direction: .source)
    #expect(try Data(iter: &iter) == Data("one two three".utf8))
    #expect(iter.count == 0)
    #expect(throws: IterError.self) { try IovIter(kind, direction: .destination) }
  }

  @Test func dataInitCopiesAndAdvances() throws {
    let kind = DataSegments(Data((0..<100).map { UInt8($0) }))
    var iter = try IovIter(kind, direction: .source)
    try iter.advance(by: 90)
    #expect(try Data(iter: &iter) == Data((90..<100).map { UInt8($0) }))
    #expect(iter.count == 0)
    #expect(try Data(iter: &iter).isEmpty)
    var destination = try IovIter(kind, direction: .destination)
    #expect(throws: IterError.self) { try Data(iter: &destination) }
    #expect(destination.count == 100)
  }

  /// A destination writes storage of its own, for a shared `Data` of either
  /// size class, and `data` hands back what it wrote.
  @Test(arguments: [5, 14, 15, 4096])
  func aDestinationNeverWritesTheCallersCopy(count: Int) throws {
    let original = Data(repeating: 0x11, count: count)
    let kind = DataSegments(original)
    var iter = try IovIter(kind, direction: .destination)
    try iter.writeFull([UInt8](repeating: 0x22, count: count))
    #expect(original == Data(repeating: 0x11, count: count))
    #expect(kind.data == Data(repeating: 0x22, count: count))
  }

  @Test func aRetentionKeepsTheBytesAliveAfterTheDataIsGone() throws {
    let payload = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
    let retention: IterRetention
    var start: UInt = 0
    var count = 0
    do {
      let kind = DataRegionsSegments(Data(payload))
      var iter = try IovIter(kind, direction: .source)
      let extraction = try iter.extractPages(maxBytes: 5000, maxPages: 8)
      #expect(kind.heldExtractions == 1)
      (start, count) = (extraction.pages[0].address + UInt(extraction.offset), extraction.count)
      retention = extraction.takeRetention()
    }
    let base = UnsafeRawPointer(bitPattern: start)!
    #expect(count == 5000)
    #expect((0..<count).map { base.load(fromByteOffset: $0, as: UInt8.self) } == payload)
    retention.release()
  }
}
