//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterTestSupport
import Testing

/// A source whose segments can be changed under a cursor, which the protocol
/// forbids: every cursor operation must notice and throw, never trap or
/// touch memory no segment describes.
final class Shifting: @unchecked Sendable {
  var segments: [IterSegment]
  init(_ segments: [IterSegment]) { self.segments = segments }
}

struct ShiftingSource: IterSegmentSource {
  let box: Shifting
  var segmentCount: Int { box.segments.count }
  func segment(at index: Int) -> IterSegment { box.segments[index] }
}

/// The same, handing its segments over in bulk: the cursor's bulk loops must
/// notice the same changes.
struct ShiftingBulkSource: IterSegmentSource {
  let box: Shifting
  var segmentCount: Int { box.segments.count }
  func segment(at index: Int) -> IterSegment { box.segments[index] }
  func withContiguousSegments<R, E: Error>(
    from index: Int, _ body: (UnsafeBufferPointer<IterSegment>) throws(E) -> R
  ) throws(E) -> R? {
    let all = box.segments
    return try all.withUnsafeBufferPointer { (buffer) throws(E) -> R in
      try body(UnsafeBufferPointer(rebasing: buffer[index...]))
    }
  }
}

@Suite("Bad input and misuse never crash: IterCore")
struct RobustnessTests {
  let page = IterPage.size

  // MARK: Sources that change under a cursor

  /// Two 100-byte segments of real memory, a cursor 50 bytes into the second,
  /// then the source drops the second segment.
  func shrunk() throws -> (Layout, Shifting, IovIter<ShiftingSource>) {
    let layout = Layout([100, 100])
    let box = Shifting((0..<2).map { layout.list.segment(at: $0) })
    var iter = try IovIter(ShiftingSource(box: box), direction: .destination)
    try iter.advance(by: 150)
    box.segments.removeLast()
    return (layout, box, iter)
  }

  @Test func aSourceThatLostSegmentsIsATypedErrorForEveryWalk() throws {
    var (_, _, iter) = try shrunk()
    let before = iter.saveState()
    func isChanged(_ error: IterError) -> Bool {
      if case .sourceChanged = error { true } else { false }
    }
    #expect(throws: IterError.self) { _ = try iter.write([UInt8](repeating: 1, count: 10)) }
    #expect(throws: IterError.self) { _ = try iter.zero(10) }
    #expect(throws: IterError.self) { _ = try iter.pageCount() }
    #expect(throws: IterError.self) { _ = try iter.alignment }
    #expect(throws: IterError.self) { _ = try iter.gapAlignment }
    #expect(throws: IterError.self) { try iter.advance(by: 10) }
    #expect(throws: IterError.self) { _ = try iter.nextMutableChunk() }
    #expect(throws: IterError.self) { _ = try iter.split(maxPieceCount: 7) }
    var vectors = [iovec](repeating: iovec(), count: 4)
    #expect(throws: IterError.self) {
      _ = try vectors.withUnsafeMutableBufferPointer { try iter.gather(into: $0) }
    }
    do {
      _ = try iter.write([UInt8](repeating: 1, count: 10))
    } catch {
      #expect(isChanged(error), "\(error)")
      #expect("\(error)".contains("end"))
    }
    #expect(iter.saveState() == before)
    #expect(iter.singleSegmentCount >= 0)
  }

  @Test func aSegmentShorterThanTheOffsetIntoItIsATypedError() throws {
    let layout = Layout([100, 100])
    let box = Shifting((0..<2).map { layout.list.segment(at: $0) })
    var iter = try IovIter(ShiftingSource(box: box), direction: .source)
    try iter.advance(by: 60)
    box.segments[0].count = 20  // the cursor stands at offset 60 of a 20-byte segment
    let before = iter.saveState()
    var out = [UInt8](repeating: 0, count: 30)
    #expect(throws: IterError.self) {
      _ = try out.withUnsafeMutableBytes { try iter.read(into: $0) }
    }
    #expect(throws: IterError.self) { _ = try iter.read(upTo: 30) }
    #expect(throws: IterError.self) { _ = try iter.alignment }
    #expect(iter.saveState() == before)
    // Negative lengths appearing later are refused the same way.
    box.segments[0].count = 100
    box.segments[1].count = -5
    #expect(throws: IterError.self) { _ = try iter.pageCount() }
    #expect(throws: IterError.self) { try iter.advance(by: 100) }
    #expect(iter.saveState() == before)
  }

  @Test func revertOverSegmentsThatShrankThrowsInsteadOfWalkingOffTheFront() throws {
    let layout = Layout([100, 100])
    let box = Shifting((0..<2).map { layout.list.segment(at: $0) })
    var iter = try IovIter(ShiftingSource(box: box), direction: .destination)
    try iter.advance(by: 150)
    box.segments[0].count = 10
    let before = iter.saveState()
    #expect(throws: IterError.self) { try iter.revert(by: 150) }
    #expect(iter.saveState() == before)
    try iter.revert(by: 40)  // still inside the second segment: fine
    #expect(iter.segmentOffset == 10)
  }

  /// Advance and revert through bulk runs: a segment that shrank or turned
  /// negative under the cursor is a typed error and the cursor stays put.
  @Test func bulkAdvanceAndRevertNoticeChangedSegments() throws {
    let layout = Layout([100, 100, 100])
    let box = Shifting((0..<3).map { layout.list.segment(at: $0) })
    var iter = try IovIter(ShiftingBulkSource(box: box), direction: .destination)
    try iter.advance(by: 250)
    #expect(iter.position == IterPosition(segmentIndex: 2, offset: 50))
    // Revert over a negative length.
    box.segments[1].count = -5
    var before = iter.saveState()
    #expect(throws: IterError.self) { try iter.revert(by: 120) }
    #expect(iter.saveState() == before)
    // Revert past what the shrunk segments hold.
    box.segments[1].count = 10
    #expect(throws: IterError.self) { try iter.revert(by: 200) }
    #expect(iter.saveState() == before)
    // Revert that lands in a shrunk segment that still holds the bytes.
    try iter.revert(by: 55)
    #expect(iter.position == IterPosition(segmentIndex: 1, offset: 5))
    // Advance over a negative length.
    box.segments[2].count = -1
    before = iter.saveState()
    #expect(throws: IterError.self) { try iter.advance(by: 20) }
    #expect(iter.saveState() == before)
    box.segments[2].count = 100
    try iter.advance(by: 20)
    #expect(iter.position == IterPosition(segmentIndex: 2, offset: 15))
  }

  @Test func copyBetweenCursorsNoticesEitherSideChanging() throws {
    let from = Layout([64, 64])
    let to = Layout([64, 64])
    let box = Shifting((0..<2).map { to.list.segment(at: $0) })
    var source = try from.cursor(.source)
    var destination = try IovIter(ShiftingSource(box: box), direction: .destination)
    box.segments.removeLast()
    let (s, d) = (source.saveState(), destination.saveState())
    #expect(throws: IterError.self) { _ = try destination.copy(from: &source) }
    #expect(source.saveState() == s && destination.saveState() == d)
  }

  // MARK: Extraction: a kind's output is input

  /// A kind whose extraction is whatever the test says.
  struct Lying: IterSegmentSource {
    let list: UnsafeSegmentList
    let answer: @Sendable (IterPosition, Int, Int) -> (pages: [IterPage], offset: Int, count: Int)
    let released: Counter
    var segmentCount: Int { list.segmentCount }
    func segment(at index: Int) -> IterSegment { list.segment(at: index) }
    func extractPages(
      at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
    ) throws(IterError) -> IterExtraction {
      let a = answer(position, maxBytes, maxPages)
      let released = self.released
      return IterExtraction(
        pages: a.pages, offset: a.offset, count: a.count,
        retention: IterRetention(kind: .ownerReference) { released.value += 1 })
    }
  }
  final class Counter: @unchecked Sendable { var value = 0 }

  func lying(
    _ answer: @escaping @Sendable (IterPosition, Int, Int) -> (pages: [IterPage], offset: Int, count: Int)
  ) throws -> (IovIter<Lying>, Counter) {
    let counter = Counter()
    let p = UInt(page)
    let list = fakeList([(4 * p + 16, 3 * page - 16), (9 * p, page)])
    return (try IovIter(Lying(list: list, answer: answer, released: counter), direction: .source), counter)
  }

  @Test(arguments: [
    "too many bytes", "too many pages", "no bytes", "offset outside the page", "too few pages",
    "unaligned page", "wrong page", "wrong offset",
  ])
  func aBrokenExtractionIsATypedErrorAndItsHoldIsReleased(_ mistake: String) throws {
    let p = UInt(page)
    let page = self.page
    let (cursor, counter) = try lying { position, maxBytes, maxPages in
      let right = (pages: [IterPage(address: 4 * p), IterPage(address: 5 * p)], offset: 16, count: 2 * page - 16)
      switch mistake {
      case "too many bytes": return (right.pages, 16, maxBytes + 1)
      case "too many pages": return ((0..<(maxPages + 1)).map { IterPage(address: (4 + UInt($0)) * p) }, 16, 1)
      case "no bytes": return ([], 0, 0)
      case "offset outside the page": return (right.pages, page + 16, right.count)
      case "too few pages": return ([right.pages[0]], 16, right.count)
      case "unaligned page": return ([IterPage(address: 4 * p + 8), right.pages[1]], 16, right.count)
      case "wrong page": return ([IterPage(address: 4 * p), IterPage(address: 7 * p)], 16, right.count)
      default: return (right.pages, 32, right.count - 16)
      }
    }
    var iter = cursor
    do {
      _ = try iter.extractPages(maxBytes: 2 * page - 16, maxPages: 2)
      Issue.record("\(mistake): no error")
    } catch {
      guard case .extractionContractViolated(let kind, let reason) = error else {
        Issue.record("\(mistake): \(error)")
        return
      }
      #expect(kind == .user)
      #expect(reason.contains("maxBytes: \(2 * page - 16)"), "\(reason)")
    }
    #expect(iter.consumedCount == 0 && iter.count == 4 * page - 16)
    #expect(counter.value == 1, "the broken extraction's hold must be released once")
  }

  @Test func aPageListAcrossNonContiguousSegmentsIsTheContractNotAViolation() throws {
    // The run crosses from the end of the first segment to the second, which
    // is elsewhere: a page list (the folio queue's kind of run), allowed.
    let p = UInt(page)
    let page = self.page
    var (iter, counter) = try lying { _, _, _ in
      (
        [IterPage(address: 4 * p), IterPage(address: 5 * p), IterPage(address: 6 * p), IterPage(address: 9 * p)],
        16, 4 * page - 16
      )
    }
    let run = try iter.extractPages(maxBytes: .max, maxPages: 8)
    #expect(run.count == 4 * page - 16 && iter.count == 0)
    run.release()
    #expect(counter.value == 1)
  }

  @Test func directCallsToExtractPagesWithBadArgumentsThrow() throws {
    let list = fakeList([(0x1000, 100), (0x3000, 50)])
    for (position, maxBytes, maxPages) in [
      (IterPosition(segmentIndex: 0, offset: -1), 10, 1),
      (IterPosition(segmentIndex: -1, offset: 0), 10, 1),
      (IterPosition(segmentIndex: Int.min, offset: Int.min), 10, 1),
      (IterPosition(segmentIndex: 0, offset: 101), 10, 1),
      (IterPosition(segmentIndex: 2, offset: 1), 10, 1),
      (IterPosition(segmentIndex: 3, offset: 0), 10, 1),
      (IterPosition(segmentIndex: Int.max, offset: 0), 10, 1),
      (IterPosition(segmentIndex: 0, offset: 0), -1, 1),
      (IterPosition(segmentIndex: 0, offset: 0), 10, 0),
      (IterPosition(segmentIndex: 0, offset: 0), 10, Int.min),
    ] {
      #expect(throws: IterError.self, "\(position) \(maxBytes) \(maxPages)") {
        _ = try list.extractPages(at: position, maxBytes: maxBytes, maxPages: maxPages, options: [])
      }
    }
    // At the end, or nothing asked: empty, no error.
    let end = try list.extractPages(
      at: IterPosition(segmentIndex: 2, offset: 0), maxBytes: 10, maxPages: 1, options: [])
    #expect(end.count == 0)
    let none = try list.extractPages(
      at: IterPosition(segmentIndex: 0, offset: 0), maxBytes: 0, maxPages: 1, options: [])
    #expect(none.count == 0)
    // A run from a direct call with huge limits is bounded by the segment.
    let whole = try list.extractPages(
      at: IterPosition(segmentIndex: 1, offset: 0), maxBytes: .max, maxPages: .max, options: [])
    #expect(whole.count == 50 && whole.pages.count == 1)
  }

  @Test func chainRetentionAndExtractionAtBadPositionsThrow() throws {
    let chain = IterChain(direction: .source)
    try chain.append(fakeList([(0x1000, 100)]))
    for position in [
      IterPosition(segmentIndex: -1, offset: 0), IterPosition(segmentIndex: Int.min, offset: 0),
      IterPosition(segmentIndex: 0, offset: -1), IterPosition(segmentIndex: 0, offset: 101),
      IterPosition(segmentIndex: Int.max, offset: 0),
    ] {
      #expect(throws: IterError.self) { _ = try chain.retention(for: [], at: position) }
      #expect(throws: IterError.self) {
        _ = try chain.extractPages(at: position, maxBytes: 1, maxPages: 1, options: [])
      }
    }
    #expect(try chain.retention(for: [], at: IterPosition(segmentIndex: 1, offset: 0)) == .none)
    #expect(throws: IterError.self) {
      _ = try chain.extractPages(at: IterPosition(segmentIndex: 0, offset: 0), maxBytes: 1, maxPages: 0, options: [])
    }
  }

  // MARK: Split by a huge piece count

  @Test func splittingAHugeCursorIsRefusedUpFrontAndCanBeWalkedLazily() throws {
    let sink = UnsafeSegmentList([IterSegment(base: nil, count: .max)])
    let iter = try IovIter(sink, direction: .destination)
    for size in [1, 4096, 1 << 20, Int.max / (1 << 20) - 1] {
      #expect(throws: IterError.self, "\(size)") { _ = try iter.split(maxPieceCount: size) }
    }
    #expect(try iter.split(maxPieceCount: .max).count == 1)
    #expect(try iter.split(maxPieceCount: Int.max / 3).count == 4)
    let pieces = try iter.pieces(maxPieceCount: 1)
    #expect(pieces.pieceCount == Int.max)
    var firstThree: [Int] = []
    for piece in pieces.prefix(3) { firstThree.append(piece.count) }
    #expect(firstThree == [1, 1, 1])
    #expect(throws: IterError.self) { _ = try iter.pieces(maxPieceCount: 0) }
    #expect(throws: IterError.self) { _ = try iter.pieces(maxPieceCount: Int.min) }
  }

  // MARK: Copies between overlapping cursors

  @Test func copyBetweenOverlappingCursorsIsRefusedAndWritesNothing() throws {
    let layout = Layout([256])
    let base = layout.memory.base
    let original = layout.bytes
    func list(_ pairs: [(Int, Int)]) -> UnsafeSegmentList {
      UnsafeSegmentList(pairs.map { IterSegment(base: base + $0.0, count: $0.1) })
    }
    // The destination's second segment lies on the source's first bytes.
    var source = try IovIter(list([(0, 64), (128, 64)]), direction: .source)
    var destination = try IovIter(list([(200, 32), (32, 64)]), direction: .destination)
    do {
      _ = try destination.copy(from: &source)
      Issue.record("no error")
    } catch {
      guard case .overlappingCopy(let to, let from, let count) = error else {
        Issue.record("\(error)")
        return
      }
      #expect(count == 96)
      #expect(to == UInt(bitPattern: base + 32) && from == UInt(bitPattern: base))
    }
    #expect(layout.bytes == original, "nothing may be written")
    #expect(source.consumedCount == 0 && destination.consumedCount == 0)
    // The same cursor copied onto itself overlaps too.
    var same = try IovIter(list([(0, 64)]), direction: .destination)
    var again = try IovIter(list([(0, 64)]), direction: .source)
    #expect(throws: IterError.self) { _ = try same.copy(from: &again) }
  }

  @Test func copyWithinOneBufferOverDisjointInterleavedRangesIsFine() throws {
    let layout = Layout([256])
    let base = layout.memory.base
    let original = layout.bytes
    // Hulls meet, ranges do not: even bytes of 16-byte stripes to odd ones.
    let from = UnsafeSegmentList((0..<8).map { IterSegment(base: base + $0 * 32, count: 16) })
    let to = UnsafeSegmentList((0..<8).map { IterSegment(base: base + $0 * 32 + 16, count: 16) })
    var source = try IovIter(from, direction: .source)
    var destination = try IovIter(to, direction: .destination)
    #expect(try destination.copy(from: &source) == 128)
    let now = layout.bytes
    for stripe in 0..<8 {
      #expect(
        Array(now[(stripe * 32 + 16)..<(stripe * 32 + 32)]) == Array(original[(stripe * 32)..<(stripe * 32 + 16)]))
    }
  }

  // MARK: Starting inside a source

  @Test func aCursorStartedAtAnOffsetReportsTheOffsetInItsSegmentAndCannotRevertBeforeIt() throws {
    let layout = Layout([300, 200])
    var iter = try IovIter(layout.list, direction: .source, offset: 100)
    #expect(iter.segmentOffset == 100 && iter.count == 400 && iter.consumedCount == 0)
    try iter.advance(by: 10)
    #expect(iter.segmentOffset == 110)
    try iter.revert(by: 10)
    #expect(iter.segmentOffset == 100)
    #expect(throws: IterError.revertPastStart(requested: 1, consumed: 0)) { try iter.revert(by: 1) }
    #expect(try iter.read(upTo: 4) == Array(layout.bytes[100..<104]))
    let ending = try IovIter(layout.list, direction: .source, offset: 300, count: 5)
    #expect(ending.position == IterPosition(segmentIndex: 1, offset: 0))
    #expect(throws: IterError.self) { _ = try IovIter(layout.list, direction: .source, offset: 501) }
    #expect(throws: IterError.self) { _ = try IovIter(layout.list, direction: .source, offset: -1) }
    #expect(throws: IterError.self) { _ = try IovIter(layout.list, direction: .source, offset: 100, count: 401) }
    #expect(throws: IterError.self) { _ = try IovIter(layout.list, direction: .source, offset: .max, count: .max) }
  }
}
