//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterConformance
import IterCore
import Testing

/// The public replay entry point: a correct kind replays clean, a broken one
/// fails at the step that shows the bug, with that operation named.
@Suite("Replaying operations on the model")
struct ReplayTests {
  typealias Kind = BrokenKindTests.Kind

  /// Every kind of operation, with edge arguments the model must refuse.
  static let everything: [ModelOperation] = [
    .queries(pageLimit: 3), .copy(5, .buffer, seed: 1), .copy(7, .span, seed: 2), .copy(3, .array, seed: 3),
    .copy(4, .outputSpan, seed: 4), .full(6, seed: 5), .full(100_000, seed: 6), .wrongDirection, .zero(9),
    .save, .advance(11), .revert(4), .revert(1_000_000), .truncate(200), .reexpand(1_000_000), .reexpand(150),
    .restore(0), .badArguments, .gather(capacity: 3, maxBytes: .max), .gather(capacity: 2, maxBytes: 17),
    .extract(maxBytes: 40, maxPages: 2, retain: true), .splitAt(30), .splitPieces(70),
    .iteratorCopy(12, segmentSizes: [5, 0, 7], seed: 7), .checksum(20, crc: true, firstPart: 8, seed: 8),
    .checksum(9, crc: false, firstPart: 9, seed: 9), .walker(maxCount: 50, budget: 30), .peek, .dup(13),
    .nextChunk(16), .memoryCheck,
    // Negative and out-of-range arguments: each must be refused exactly.
    .advance(-1), .revert(-3), .truncate(-4), .reexpand(-5), .splitAt(-6), .splitPieces(0), .splitPieces(-7),
    .gather(capacity: 1, maxBytes: -8), .extract(maxBytes: -9, maxPages: 1, retain: false),
    .extract(maxBytes: 9, maxPages: 0, retain: false), .queries(pageLimit: -10), .nextChunk(-11), .dup(-12),
    .zero(-13), .walker(maxCount: -1, budget: 4), .copy(1 << 20, .buffer, seed: 10),
    // Walk bodies that return out-of-range amounts, stop early or throw.
    .iterate(maxCount: 80, answers: [nil, 3, -1], throwAt: nil),
    .iterate(maxCount: 200, answers: [nil, 1_000_000], throwAt: 2),
    .iterate(maxCount: -5, answers: [], throwAt: 0), .iterate(maxCount: .max, answers: [-7], throwAt: nil),
    .chunkWalk(maxCount: 100, stopAt: 1, throwing: false), .chunkWalk(maxCount: .max, stopAt: 2, throwing: true),
    .chunkWalk(maxCount: -1, stopAt: 0, throwing: true), .chunkWalk(maxCount: 70, stopAt: -1, throwing: true),
    // Growth (taken in only when the count left bytes out), the other forms.
    .extend(0), .extend(30), .extend(1_000_000), .extend(.max), .extend(-2), .fullBuffer(8, span: false, seed: 11),
    .fullBuffer(9, span: true, seed: 12), .fullBuffer(100_000, span: true, seed: 13),
    .fullBuffer(100_000, span: false, seed: 14), .gatherSpan(capacity: 3, maxBytes: .max),
    .gatherSpan(capacity: 2, maxBytes: 5), .gatherSpan(capacity: 1, maxBytes: -3),
    .extractP2P(maxBytes: 40, maxPages: 2, retain: false), .extractP2P(maxBytes: 7, maxPages: 1, retain: true),
    .extractP2P(maxBytes: -1, maxPages: 1, retain: false), .extractP2P(maxBytes: 1, maxPages: 0, retain: true),
    .memoryCheck,
    // Second cursors: split pieces and copies, each against its own model.
    .splitRun(
      40, head: [.copy(5, .buffer, seed: 15), .advance(3), .revert(9), .revert(2), .save, .restore(0)],
      tail: [.advance(10), .revert(11), .full(7, seed: 16), .extend(1), .extend(.max), .splitAt(4)]),
    .splitRun(-1, head: [], tail: []),
    .splitRun(1_000_000, head: [.iterate(maxCount: 9, answers: [2], throwAt: nil)], tail: []),
    .save, .copyRun([.advance(6), .restore(0), .zero(4), .nextChunk(3), .reexpand(1)]), .memoryCheck,
  ]

  static func source() -> StaccatoSource {
    StaccatoSource(contents: (0..<300).map { UInt8($0 & 0xff) }, segmentSizes: [1, 0, 60, 139, 3, 97], gaps: 16)
  }

  @Test(arguments: [IterDirection.source, .destination])
  func correctKindReplaysClean(direction: IterDirection) throws {
    try replayModel(Self.everything, over: Self.source(), direction: direction)
    try replayModel(Self.everything, over: Self.source(), direction: direction, count: 120, memorySeed: 42)
  }

  /// Segments over the same memory: a write through one shows through the
  /// other, and the model must expect it.
  @Test func sharedMemoryReplaysClean() throws {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
    defer { buffer.deallocate() }
    let base = buffer.baseAddress!
    let list = UnsafeSegmentList([
      IterSegment(base: base + 8, count: 20), IterSegment(base: base, count: 16),
      IterSegment(base: base + 12, count: 30),
    ])
    let ops: [ModelOperation] = [
      .copy(10, .buffer, seed: 1), .zero(12), .walker(maxCount: 9, budget: 9), .memoryCheck, .revert(31),
      .iteratorCopy(40, segmentSizes: [40], seed: 2), .nextChunk(5), .full(11, seed: 3),
    ]
    try replayModel(ops, over: list, direction: .destination)
  }

  /// Addresses that must never be dereferenced: only the operations that
  /// leave memory alone may run, and one that would touch it is refused.
  @Test func replayWithoutMemory() throws {
    let list = UnsafeSegmentList([
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x10_0000_1003), count: 1 << 30),
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x20_0000_0000), count: 4097),
    ])
    let ops: [ModelOperation] = [
      .queries(pageLimit: 9), .advance(5000), .gather(capacity: 4, maxBytes: .max), .save, .truncate(77),
      .splitAt(30), .splitPieces(1 << 20), .splitPieces(1), .restore(0), .revert(4000), .dup(9), .badArguments,
    ]
    try replayModel(ops, over: list, direction: .source, readsMemory: false)
    let failure = #expect(throws: ModelReplayFailure.self) {
      try replayModel(ops + [.copy(1, .buffer, seed: 0)], over: list, direction: .source, readsMemory: false)
    }
    #expect(failure?.step == ops.count)
    #expect(failure?.message.contains("not replayable") == true)
  }

  /// Extraction lists the pages one page too high: the failure is at the
  /// extraction, not before and not at the end.
  @Test func brokenExtractionFailsAtItsStep() {
    var kind = Kind(inner: Self.source())
    kind.extract = BrokenKindTests.shiftedPages
    let ops: [ModelOperation] = [
      .advance(70), .copy(4, .buffer, seed: 1), .extract(maxBytes: 0, maxPages: 1, retain: false),
      .extract(maxBytes: 10, maxPages: 1, retain: false), .advance(1),
    ]
    let failure = #expect(throws: ModelReplayFailure.self) {
      try replayModel(ops, over: kind, direction: .source)
    }
    #expect(failure?.step == 3)
    #expect(failure?.operation == ops[3])
    #expect(failure?.message.contains("extraction") == true, "\(String(describing: failure))")
    #expect(
      failure?.description.contains("step 3 (extract max 10 bytes, 1 pages)") == true, "\(String(describing: failure))")
  }

  /// A kind that never releases what an extraction holds is caught at the
  /// extraction by the retention probe.
  @Test func leakedRetentionFailsAtItsStep() {
    final class Holds: @unchecked Sendable { var held = 0 }
    let holds = Holds()
    var kind = Kind(inner: Self.source())
    kind.retentionKind = .ownerReference
    kind.extract = { kind, position, maxBytes, maxPages throws(IterError) in
      try IterExtraction.singleSegmentRun(of: kind, at: position, maxBytes: maxBytes, maxPages: maxPages) {
        _, _ throws(IterError) in
        holds.held += 1
        return IterRetention(kind: .ownerReference) {}
      }
    }
    let ops: [ModelOperation] = [.advance(3), .extract(maxBytes: 5, maxPages: 1, retain: true), .advance(1)]
    let failure = #expect(throws: ModelReplayFailure.self) {
      try replayModel(ops, over: kind, direction: .source, retentionProbe: { holds.held })
    }
    #expect(failure?.step == 1)
    #expect(failure?.message.contains("retentions") == true, "\(String(describing: failure))")
  }

  /// Whether the last segment of ``kindWhoseLastSegmentMoves()`` has moved.
  final class Moved: @unchecked Sendable { var yes = false }

  /// A kind whose last segment moves one byte up once `yes` is set.
  static func kindWhoseLastSegmentMoves() -> (Kind, Moved) {
    let moved = Moved()
    var kind = Kind(inner: source())
    let last = kind.inner.segmentCount - 1
    kind.segmentHook = { index, s in
      index == last && moved.yes ? IterSegment(base: s.base! + 1, count: s.count) : s
    }
    return (kind, moved)
  }

  /// Replays `operations` on a source cursor over ``kindWhoseLastSegmentMoves()``,
  /// whose segment moves once the cursor is built (when the first operation
  /// is asked for), and expects a failure.
  static func failureAfterTheSegmentMoves(
    _ operations: [ModelOperation], sourceLocation: SourceLocation = #_sourceLocation
  ) -> ModelReplayFailure? {
    let (kind, moved) = kindWhoseLastSegmentMoves()
    let ops = operations.lazy.map { op in
      moved.yes = true
      return op
    }
    return #expect(throws: ModelReplayFailure.self, sourceLocation: sourceLocation) {
      try replayModel(ops, over: kind, direction: .source)
    }
  }

  /// A segment that moves after the model took its layout: the cursor reads
  /// other bytes than the model has, at the first copy that reaches it.
  @Test func segmentThatMovesFailsAtTheFirstCopyThatSeesIt() {
    let failure = Self.failureAfterTheSegmentMoves([.copy(200, .array, seed: 0), .copy(200, .array, seed: 0)])
    #expect(failure?.step == 1, "\(String(describing: failure))")
    #expect(failure?.message.contains("differ from the model") == true, "\(String(describing: failure))")
  }

  /// A kind whose last segment moves after the model took its layout: each
  /// walker, full copy and gather form compares what it is handed with the
  /// model's addresses and bytes, so it fails at its own step.
  @Test(arguments: [
    ModelOperation.iterate(maxCount: .max, answers: [nil], throwAt: nil),
    .iterate(maxCount: .max, answers: [nil], throwAt: 4), .chunkWalk(maxCount: .max, stopAt: 9, throwing: false),
    .fullBuffer(300, span: true, seed: 0), .fullBuffer(300, span: false, seed: 0),
    .gatherSpan(capacity: 9, maxBytes: .max), .extractP2P(maxBytes: 1, maxPages: 1, retain: false),
  ])
  func movedSegmentFailsAtTheWalk(op: ModelOperation) {
    let prefix: [ModelOperation] = op.isExtraction ? [.advance(203)] : []
    let failure = Self.failureAfterTheSegmentMoves([.advance(0)] + prefix + [op])
    #expect(failure?.operation == op, "\(String(describing: failure))")
  }

  /// A piece of a split runs its operations against its own model: a bug
  /// seen through it is named with the piece, the step and the operation.
  @Test func movedSegmentSeenThroughASplitPieceFails() {
    let split = ModelOperation.splitRun(50, head: [.advance(1)], tail: [.advance(1), .copy(200, .buffer, seed: 0)])
    let failure = Self.failureAfterTheSegmentMoves([.advance(0), .copyRun([.advance(2)]), split])
    #expect(failure?.step == 2, "\(String(describing: failure))")
    #expect(
      failure?.message.contains("the tail of split(at: 50), step 1 (copy 200 (buffer))") == true,
      "\(String(describing: failure))")
  }

  /// The walker's clamp and stop rules are the model's: a body that returns
  /// a negative amount stops the walk there, one that returns too much takes
  /// the chunk, a throw leaves the cursor after the chunks before it.
  @Test func walkerRulesMatchTheDocumentedSemantics() throws {
    var iter = try IovIter(Self.source(), direction: .source)
    struct Stop: Error {}
    #expect(throws: Stop.self) {
      try iter.iterateAndAdvance(maxCount: .max) { (_, progress) throws(Stop) -> Int in
        if progress > 0 { throw Stop() }
        return 1_000
      }
    }
    // The first chunk is 1 byte (the empty segment is stepped over).
    #expect(iter.consumedCount == 1)
    try replayModel(
      [.iterate(maxCount: .max, answers: [1_000], throwAt: 1), .iterate(maxCount: 10, answers: [-3], throwAt: nil)],
      over: Self.source(), direction: .source)
  }

  /// Segments that disappear after the cursor is built: `extend(by:)` that the
  /// model takes in is refused, at its step.
  @Test func extendOverSegmentsThatVanishFails() {
    final class Gone: @unchecked Sendable { var yes = false }
    let gone = Gone()
    var kind = Kind(inner: Self.source())
    let all = kind.inner.segmentCount
    kind.countHook = { gone.yes ? all - 1 : $0 }
    let ops = [ModelOperation.extend(10), .extend(100)].lazy.map { op in
      gone.yes = true
      return op
    }
    let failure = #expect(throws: ModelReplayFailure.self) {
      try replayModel(ops, over: kind, direction: .source, count: 120)
    }
    #expect(failure?.step == 1, "\(String(describing: failure))")
    #expect(failure?.message.contains("exceeds the 203 bytes") == true, "\(String(describing: failure))")
  }

  /// A pin refused by RLIMIT_MEMLOCK is the machine's limit: accepted when it
  /// holds nothing and moves nothing; a refusal that keeps a hold is caught.
  @Test(arguments: [false, true])
  func resourceLimitIsAllowedButNotALeak(leaks: Bool) {
    final class Holds: @unchecked Sendable { var held = 0 }
    let holds = Holds()
    var kind = Kind(inner: Self.source())
    kind.retentionKind = .pin
    kind.extract = { _, _, maxBytes, _ throws(IterError) in
      if leaks { holds.held += 1 }
      throw .resourceLimit(resource: "RLIMIT_MEMLOCK", requested: maxBytes, limit: 0, errno: ENOMEM)
    }
    let ops: [ModelOperation] = [
      .advance(2), .extract(maxBytes: 8, maxPages: 1, retain: false),
      .extractP2P(maxBytes: 9, maxPages: 2, retain: true),
      .copy(3, .buffer, seed: 0),
    ]
    let run = { try replayModel(ops, over: kind, direction: .source, retentionProbe: { holds.held }) }
    if leaks {
      let failure = #expect(throws: ModelReplayFailure.self) { try run() }
      #expect(failure?.step == 1, "\(String(describing: failure))")
      #expect(failure?.message.contains("resource limit left 1 retentions") == true, "\(String(describing: failure))")
    } else {
      #expect(throws: Never.self) { try run() }
    }
  }

  /// A kind that answers "pin" when asked for the extraction's retention and
  /// "none" when asked again: `extractionWillPin` then disagrees with the
  /// extraction it describes.
  @Test func extractionWillPinThatDisagreesFails() {
    let failure = #expect(throws: ModelReplayFailure.self) {
      try replayModel(
        [.advance(1), .extract(maxBytes: 5, maxPages: 1, retain: false)], over: FlipKind(inner: Self.source()),
        direction: .source)
    }
    #expect(failure?.step == 1, "\(String(describing: failure))")
    #expect(failure?.message.contains("extractionWillPin is false") == true, "\(String(describing: failure))")
  }
}

/// Says `.pin` at every other question about its retention, and pins.
private struct FlipKind: IterSegmentSource {
  final class Answers: @unchecked Sendable { var asked = 0 }
  var inner: StaccatoSource
  let answers = Answers()
  var segmentCount: Int { inner.segmentCount }
  func segment(at index: Int) -> IterSegment { inner.segment(at: index) }
  var supportedDirections: IterDirections { .both }
  func retention(for options: IterExtractionOptions) -> IterRetentionKind {
    answers.asked += 1
    return answers.asked % 2 == 1 ? .pin : .none
  }
  func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  )
    throws(IterError) -> IterExtraction
  {
    try IterExtraction.singleSegmentRun(of: self, at: position, maxBytes: maxBytes, maxPages: maxPages) {
      _, _ throws(IterError) in IterRetention(kind: .pin) {}
    }
  }
}

extension ModelOperation {
  fileprivate var isExtraction: Bool {
    switch self {
    case .extract, .extractP2P: true
    default: false
    }
  }
}
