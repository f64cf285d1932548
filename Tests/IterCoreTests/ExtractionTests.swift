//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import Testing

@Suite("Page extraction and retention")
struct ExtractionTests {
  let page = IterPage.size

  @Test func oneSegmentPerCallWithTheOffsetOnTheFirstPageOnly() throws {
    let p = UInt(page)
    var iter = try IovIter(fakeList([(p - 0x100, 0x300), (0, 0), (4 * p, 2 * page + 5)]), direction: .source)
    let first = try iter.extractPages(maxBytes: .max, maxPages: 16)
    #expect(first.offset == page - 0x100 && first.count == 0x300)
    #expect(first.pages == [IterPage(address: 0), IterPage(address: p)])
    #expect(first.retentionKind == .none)
    first.release()
    let second = try iter.extractPages(maxBytes: .max, maxPages: 16)  // skips the empty segment
    #expect(second.offset == 0 && second.count == 2 * page + 5)
    #expect(second.pages == [IterPage(address: 4 * p), IterPage(address: 5 * p), IterPage(address: 6 * p)])
    #expect(iter.count == 0)
    let none = try iter.extractPages(maxBytes: .max, maxPages: 16)
    #expect(none.count == 0 && none.pages.isEmpty)
  }

  @Test func runIsCutAtMaxPagesAndMaxBytes() throws {
    let p = UInt(page)
    var iter = try IovIter(fakeList([(p + 0xF00, 3 * page)]), direction: .destination)
    let cut = try iter.extractPages(maxBytes: .max, maxPages: 2)
    #expect(cut.count == 2 * page - 0xF00 && cut.offset == 0xF00 && cut.pages.count == 2)
    let small = try iter.extractPages(maxBytes: 10, maxPages: 2)
    #expect(small.count == 10 && small.offset == 0 && small.pages == [IterPage(address: 3 * p)])
    #expect(iter.consumedCount == 2 * page - 0xF00 + 10)
  }

  @Test func badArgumentsThrowAndChangeNothing() throws {
    var iter = try IovIter(fakeList([(0x1000, 100)]), direction: .source)
    #expect(throws: IterError.invalidArgument(argument: "maxPages", value: 0, reason: "must be at least 1")) {
      _ = try iter.extractPages(maxBytes: 10, maxPages: 0)
    }
    #expect(throws: IterError.negativeCount(argument: "maxBytes", value: -1)) {
      _ = try iter.extractPages(maxBytes: -1, maxPages: 1)
    }
    let zero = try iter.extractPages(maxBytes: 0, maxPages: 1)  // nothing to do: empty, nothing moves
    #expect(zero.count == 0)
    #expect(iter.count == 100)
    #expect(!iter.extractionWillPin)
  }

  @Test func memorylessBytesCannotBeExtracted() throws {
    var iter = try IovIter(UnsafeSegmentList([IterSegment(base: nil, count: 10)]), direction: .destination)
    #expect(throws: IterError.extractionUnsupported(kind: .user)) {
      _ = try iter.extractPages(maxBytes: 5, maxPages: 1)
    }
    #expect(iter.count == 10)
  }

  /// A kind that takes a counted hold on each run, to show that every
  /// retention is released exactly once, explicitly or at its end of life.
  final class Holds: @unchecked Sendable {
    var held = 0
    var released = 0
  }
  struct Counted: IterSegmentSource {
    let holds: Holds
    let list: UnsafeSegmentList
    var segmentCount: Int { list.segmentCount }
    func segment(at index: Int) -> IterSegment { list.segment(at: index) }
    func retention(for options: IterExtractionOptions) -> IterRetentionKind { .ownerReference }
    func extractPages(
      at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
    )
      throws(IterError) -> IterExtraction
    {
      try IterExtraction.singleSegmentRun(of: self, at: position, maxBytes: maxBytes, maxPages: maxPages) {
        _, _ throws(IterError) in
        holds.held += 1
        let holds = holds
        return IterRetention(kind: .ownerReference) { holds.released += 1 }
      }
    }
  }

  @Test func retentionIsReleasedExactlyOnce() throws {
    let holds = Holds()
    var iter = try IovIter(
      Counted(holds: holds, list: fakeList([(0x1000, 10), (0x3000, 10), (0x5000, 10)])), direction: .source)
    let a = try iter.extractPages(maxBytes: .max, maxPages: 4)
    #expect(a.retentionKind == .ownerReference)
    #expect(holds.held == 1 && holds.released == 0)
    a.release()
    #expect(holds.released == 1)
    do {
      let b = try iter.extractPages(maxBytes: .max, maxPages: 4)
      #expect(b.count == 10)
    }  // dropped: its end of life releases it
    #expect(holds.held == 2 && holds.released == 2)
    let c = try iter.extractPages(maxBytes: .max, maxPages: 4)
    let retention = c.takeRetention()
    #expect(holds.released == 2)  // the retention moved out is still held
    retention.release()
    #expect(holds.released == 3)
  }
}
