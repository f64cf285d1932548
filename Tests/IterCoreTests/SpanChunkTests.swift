//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import Testing

@Suite("Chunks as spans")
struct SpanChunkTests {
  @Test func nextChunkWalksSegmentsInOrder() throws {
    let layout = Layout([3, 0, 2, 4])
    var iter = try layout.cursor(.source)
    var chunks: [[UInt8]] = []
    while true {
      let chunk = try iter.nextChunk(maxCount: 3)
      if chunk.isEmpty { break }
      chunks.append(chunk.withUnsafeBytes { Array($0) })
    }
    let b = layout.bytes
    #expect(chunks == [Array(b[0..<3]), Array(b[3..<5]), Array(b[5..<8]), Array(b[8..<9])])
    #expect(iter.count == 0)
    try iter.revert(by: 9)
    #expect(throws: IterError.negativeCount(argument: "maxCount", value: -1)) { _ = try iter.nextChunk(maxCount: -1) }
    var destination = try layout.cursor(.destination)
    #expect(throws: IterError.wrongDirection(operation: "next chunk", direction: .destination)) {
      _ = try destination.nextChunk()
    }
  }

  @Test func nextMutableChunkWritesInPlaceAndSkipsDiscard() throws {
    let layout = Layout([2, 2])
    let list = UnsafeSegmentList([
      layout.list.segment(at: 0), IterSegment(base: nil, count: 5), layout.list.segment(at: 1),
    ])
    var iter = try IovIter(list, direction: .destination)
    var value: UInt8 = 1
    while true {
      var chunk = try iter.nextMutableChunk()
      if chunk.byteCount == 0 { break }
      for k in 0..<chunk.byteCount {
        chunk.storeBytes(of: value, toByteOffset: k, as: UInt8.self)
        value += 1
      }
    }
    #expect(layout.bytes == [1, 2, 3, 4])
    #expect(iter.count == 0 && iter.consumedCount == 9)
    var source = try layout.cursor(.source)
    #expect(throws: IterError.wrongDirection(operation: "next mutable chunk", direction: .source)) {
      _ = try source.nextMutableChunk()
    }
  }
}

@Suite("Broken sources are typed errors")
struct BrokenSourceTests {
  /// A source that breaks the extraction contract by reporting more bytes
  /// than it was allowed: a kind's output is input, so the cursor throws.
  struct Overreporting: IterSegmentSource {
    var segmentCount: Int { 1 }
    func segment(at index: Int) -> IterSegment {
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x1000), count: 64)
    }
    func extractPages(
      at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
    )
      throws(IterError) -> IterExtraction
    {
      IterExtraction(pages: [IterPage(address: 0x1000)], offset: 0, count: maxBytes + 1, retention: IterRetention())
    }
  }

  @Test func extractionReportingTooManyBytesIsATypedErrorNotATrap() throws {
    var iter = try IovIter(Overreporting(), direction: .source)
    #expect {
      _ = try iter.extractPages(maxBytes: 8, maxPages: 1)
    } throws: { error in
      guard case .extractionContractViolated(_, let reason)? = error as? IterError else { return false }
      return reason.contains("allowed 1...8")
    }
    #expect(iter.consumedCount == 0)
  }
}

@Suite("Chunk steps move like advance")
struct ChunkStepPositionTests {
  @Test(arguments: [Int.max, 4])
  func nextChunkEndsWhereAnAdvanceWould(maxCount: Int) throws {
    let layout = Layout([4, 0, 4])
    var iter = try layout.cursor(.source)
    _ = try iter.nextChunk(maxCount: maxCount)
    #expect(iter.position == IterPosition(segmentIndex: 2, offset: 0))
    #expect(iter.singleSegmentCount == 4)
  }
}
