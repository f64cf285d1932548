//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
public import IterCore

/// The first step at which a replay diverged from the model, from
/// ``replayModel(_:over:direction:count:readsMemory:memorySeed:retentionProbe:)``.
///
/// Sendable: plain values and strings, as every `Error` is.
public struct ModelReplayFailure: Error, CustomStringConvertible {
  /// The 0-based index of the operation that diverged; the count of
  /// operations when the final checks failed.
  public let step: Int
  /// The operation that diverged, or `nil` when building the cursor or the
  /// final checks failed.
  public let operation: ModelOperation?
  /// What differed: the cursor's value against the model's.
  public let message: String

  /// The step, the operation and the message on one line.
  public var description: String {
    let what = operation.map { "step \(step) (\($0))" } ?? (step == 0 ? "setup" : "after step \(step - 1)")
    return "model replay diverged at \(what): \(message)"
  }
}

/// Runs `operations`, in order, on `IovIter(source, direction:, count:)` and
/// on a flat-array model of the same bytes, and throws at the first step
/// where they differ.
///
/// After every step the cursor's count, consumed count, re-expand limit and
/// position must match the model's. Each operation also checks its own
/// results: the bytes copied (both ways, in every form), the checksums of a
/// checksummed copy against bit-by-bit reference implementations (never the
/// library's own), the `iovec`s a gather exports, the chunks walked, the
/// pages extracted (against the model's record of where each byte lives),
/// and that every call the model expects to be refused throws exactly the
/// expected `IterError` and leaves the cursor unchanged. Negative counts
/// and out-of-range arguments are part of the model: each must be refused
/// with the error that names it. A read may write nothing past the bytes it
/// returns. An extraction refused with
/// `IterError.resourceLimit` (a
/// pin over `RLIMIT_MEMLOCK`, a limit of the machine rather than of the
/// operations) is accepted when it leaves the cursor and the retentions as
/// they were.
///
/// Segments may share memory (a byte written through one shows through the
/// other: the later write wins, as in memory). With a `retentionProbe`, no
/// retention (pin, page reference, owner reference) may be held after any
/// step beyond those held before the run.
///
/// - Parameters:
///   - operations: The steps to run.
///   - source: The source; its segments must not change during the replay.
///   - direction: The cursor's direction.
///   - count: The cursor's count; `nil` for all of the source's bytes.
///   - readsMemory: Whether the model may read and write the memory the
///     segments describe. With `false` their addresses are never
///     dereferenced (they may be garbage), and an operation that would touch
///     the memory (a copy, zero fill, chunk walk or extraction) fails the
///     replay as not replayable.
///   - memorySeed: The seed of the bytes a destination's memory is filled
///     with before the first step.
///   - retentionProbe: Counts the retentions the kind holds, if it can tell.
/// - Throws: ``ModelReplayFailure``.
public func replayModel<S: IterSegmentSource>(
  _ operations: some Sequence<ModelOperation>, over source: S, direction: IterDirection, count: Int? = nil,
  readsMemory: Bool = true, memorySeed: UInt64 = 0, retentionProbe: (() -> Int)? = nil
) throws(ModelReplayFailure) {
  let held = retentionProbe?()
  let runner: ModelRunner<S>
  let layout = FlatLayout(source)
  do {
    runner = try ModelRunner(
      source: source, direction: direction, countSeed: 0, memorySeed: memorySeed, retentionProbe: retentionProbe,
      count: count ?? layout.total, readsMemory: readsMemory, layout: layout)
  } catch {
    throw ModelReplayFailure(step: 0, operation: nil, message: "building the cursor threw \(error)")
  }
  var step = 0
  for op in operations {
    do {
      try runner.replay(op)
      if let held, let probe = retentionProbe, probe() != held {
        throw ModelDivergence(message: "\(probe()) retentions held after the step, \(held) before the run")
      }
    } catch {
      throw ModelReplayFailure(step: step, operation: op, message: divergenceMessage(error))
    }
    step += 1
  }
  do {
    try runner.checkMemory()
  } catch {
    throw ModelReplayFailure(step: step, operation: nil, message: divergenceMessage(error))
  }
}

extension ModelRunner {
  /// Runs `op` as ``replayModel`` does: refused when the model cannot stand
  /// for it, as a call that must throw when an argument is out of range.
  func replay(_ op: ModelOperation) throws(ModelDivergence) {
    if let problem = unreplayable(op) { throw ModelDivergence(message: "not replayable: \(problem)") }
    if try !refuseInvalidArguments(op) { try run(op) }
  }

  /// Runs `operations` on this (second) cursor's model; a divergence names
  /// `cursor`, the step and the operation.
  func replay(_ operations: [ModelOperation], _ cursor: @autoclosure () -> String) throws(ModelDivergence) {
    for (step, op) in operations.enumerated() {
      do {
        try replay(op)
      } catch {
        throw ModelDivergence(message: "\(cursor()), step \(step) (\(op)): \(error.message)")
      }
    }
    try checkState()
  }

  /// Why the model cannot run `op` (an argument it cannot stand for, or
  /// memory it may not touch), or `nil`.
  func unreplayable(_ op: ModelOperation) -> String? {
    switch op {
    case .copy(let n, _, _), .full(let n, _), .fullBuffer(let n, _, _), .checksum(let n, _, _, _),
      .iteratorCopy(let n, _, _):
      if n < 0 { return "a copy of a negative size" }
    case .restore(let index):
      if index < 0 { return "a negative slot" }
    case .gather(let capacity, _), .gatherSpan(let capacity, _):
      if capacity < 0 { return "a negative capacity" }
    case .walker(_, let budget):
      if budget < 0 { return "a negative budget" }
    case .queries:
      // The model counts pages and extents with plain arithmetic; no real
      // memory is this large.
      if count > Int.max / 2 { return "queries over more than Int.max / 2 bytes" }
    case .badArguments:
      if layout.total - extent == Int.max { return "an extent Int.max bytes short of the source" }
    default: break
    }
    if case .checksum(let n, _, let first, _) = op, first < 0 || first > n { return "a first part outside the copy" }
    if case .iteratorCopy(let n, let sizes, _) = op, sizes.contains(where: { $0 < 0 }) || sizes.reduce(0, +) != n {
      return "segment sizes that do not add up to the copy"
    }
    if !readsMemory && op.touchesMemory { return "it touches memory the replay may not read" }
    return nil
  }

  /// Runs `op` as a call that must be refused, when one of its arguments is
  /// negative or out of range; returns whether it did.
  func refuseInvalidArguments(_ op: ModelOperation) throws(ModelDivergence) -> Bool {
    let call: () throws -> Void
    let expected: IterError
    var byValue = false  // compare the argument and value only, not the reason
    switch op {
    case .zero(let n) where n < 0 && isDestination:
      (expected, call) = (.negativeCount(argument: "n", value: n), { _ = try self.iter.zero(n) })
    case .advance(let n) where n < 0:
      (expected, call) = (.negativeCount(argument: "n", value: n), { try self.iter.advance(by: n) })
    case .dup(let n) where n < 0:
      (expected, call) = (
        .negativeCount(argument: "n", value: n),
        {
          var copy = self.iter
          try copy.advance(by: n)
        }
      )
    case .revert(let n) where n < 0:
      (expected, call) = (.negativeCount(argument: "n", value: n), { try self.iter.revert(by: n) })
    case .truncate(let n) where n < 0:
      (expected, call) = (.negativeCount(argument: "n", value: n), { try self.iter.truncate(to: n) })
    case .reexpand(let n) where n < 0:
      (expected, call) = (.negativeCount(argument: "n", value: n), { try self.iter.reexpand(to: n) })
    case .splitAt(let n) where n < 0, .splitRun(let n, _, _) where n < 0:
      (expected, call) = (.negativeCount(argument: "n", value: n), { _ = try self.iter.split(at: n) })
    case .splitPieces(let n)
    where n < 1 || (count > 0 && (count - 1) / n + 1 > IovIter<S>.maxSplitPieceCount):
      byValue = n >= 1
      (expected, call) = (
        .invalidArgument(argument: "maxPieceCount", value: n, reason: "must be at least 1"),
        { _ = try self.iter.split(maxPieceCount: n) }
      )
    case .gather(let capacity, let maxBytes) where maxBytes < 0:
      (expected, call) = (
        .negativeCount(argument: "maxBytes", value: maxBytes),
        {
          var vectors = [iovec](repeating: iovec(), count: capacity)
          _ = try vectors.withUnsafeMutableBufferPointer { try self.iter.gather(into: $0, maxBytes: maxBytes) }
        }
      )
    case .gatherSpan(let capacity, let maxBytes) where maxBytes < 0:
      (expected, call) = (
        .negativeCount(argument: "maxBytes", value: maxBytes),
        {
          var vectors = [iovec](repeating: iovec(), count: capacity)
          var entries = vectors.mutableSpan
          _ = try self.iter.gather(into: &entries, maxBytes: maxBytes)
        }
      )
    case .extract(let maxBytes, let maxPages, let retain) where maxBytes < 0 || maxPages < 1,
      .extractP2P(let maxBytes, let maxPages, let retain) where maxBytes < 0 || maxPages < 1:
      var options: IterExtractionOptions = retain ? [.retain] : []
      if case .extractP2P = op { options.insert(.allowP2PDMA) }
      (expected, call) = (
        maxBytes < 0
          ? .negativeCount(argument: "maxBytes", value: maxBytes)
          : .invalidArgument(argument: "maxPages", value: maxPages, reason: "must be at least 1"),
        { _ = try self.iter.extractPages(maxBytes: maxBytes, maxPages: maxPages, options: options) }
      )
    case .queries(let limit) where limit < 0:
      (expected, call) = (
        .negativeCount(argument: "limit", value: limit), { _ = try self.iter.pageCount(limit: limit) }
      )
    case .nextChunk(let n) where n < 0:
      let destination = isDestination
      (expected, call) = (
        .negativeCount(argument: "maxCount", value: n),
        {
          try takeNextChunk(&self.iter, maxCount: n, mutable: destination)
        }
      )
    default:
      return false
    }
    try expectFailure("\(op)", call) { error in
      guard byValue else { return error == expected }
      if case .invalidArgument(let a, let v, _) = error, case .invalidArgument(let b, let w, _) = expected {
        return a == b && v == w
      }
      return false
    }
    try checkState()
    return true
  }

  /// Records `bytes` written at logical offset `at`, and at every other
  /// offset whose memory they share (the later write wins).
  func store(_ bytes: ArraySlice<UInt8>, at: Int) {
    data.replaceSubrange(at..<(at + bytes.count), with: bytes)
    guard aliased else { return }
    var done = 0
    for (p, skip, length) in layout.covering(at, bytes.count) {
      defer { done += length }
      guard p.base != nil else { continue }
      let from = p.address &+ UInt(skip)
      let to = from &+ UInt(length)
      for q in layout.pieces where q.base != nil {
        let lo = max(from, q.address)
        let hi = min(to, q.address &+ UInt(q.length))
        guard lo < hi else { continue }
        for a in lo..<hi {
          data[q.start + Int(a - q.address)] = bytes[bytes.startIndex + done + Int(a - from)]
        }
      }
    }
  }
}

/// Takes the next chunk of `iter` (mutable on a destination) and lets it go.
private func takeNextChunk<S: IterSegmentSource>(_ iter: inout IovIter<S>, maxCount: Int, mutable: Bool) throws {
  if mutable {
    _ = try iter.nextMutableChunk(maxCount: maxCount).byteCount
  } else {
    _ = try iter.nextChunk(maxCount: maxCount).byteCount
  }
}

extension FlatLayout {
  /// Whether two pieces with memory overlap.
  var hasAliases: Bool {
    let spans = pieces.filter { $0.base != nil }.map { ($0.address, $0.address &+ UInt($0.length)) }.sorted {
      $0.0 < $1.0
    }
    return zip(spans, spans.dropFirst()).contains { $0.1 > $1.0 }
  }
}

extension ModelOperation {
  /// Whether the operation reads or writes the memory behind the segments.
  var touchesMemory: Bool {
    switch self {
    case .copy, .full, .wrongDirection, .zero, .extract, .iteratorCopy, .checksum, .walker, .peek, .nextChunk,
      .iterate, .chunkWalk, .fullBuffer, .extractP2P:
      true
    case .splitRun(_, let head, let tail): (head + tail).contains { $0.touchesMemory }
    case .copyRun(let operations): operations.contains { $0.touchesMemory }
    case .advance, .revert, .truncate, .reexpand, .save, .restore, .badArguments, .queries, .gather, .splitAt,
      .splitPieces, .dup, .memoryCheck, .extend, .gatherSpan:
      false
    }
  }
}
