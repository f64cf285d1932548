//===----------------------------------------------------------------------===//
// swift-iov-iter fuzzing
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterConformance
import IterCore

extension FuzzInput {
  /// The largest copy an operation asks for: enough to cross every segment
  /// of a harness's memory, small enough to keep an execution fast.
  static let maxCopy = 8192

  /// Decodes operations on a cursor over a source of `total` bytes from the input, until
  /// it is used up or `limit` operations are decoded: one byte picks the
  /// operation, the next ones its arguments (``arg(hint:)``: negative, huge
  /// and edge values included, which the model must see refused). With
  /// `memory: false` only operations that never touch the described memory
  /// are decoded.
  public mutating func operations(total: Int, memory: Bool, limit: Int = 400) -> [ModelOperation] {
    var ops: [ModelOperation] = []
    while !isEmpty && ops.count < limit {
      ops += operation(total: total, memory: memory, nested: false)
    }
    return ops
  }

  /// Decodes one operation (none when its arguments do not suit `total`);
  /// with `nested`, no operation that runs others on a second cursor.
  private mutating func operation(total: Int, memory: Bool, nested: Bool) -> [ModelOperation] {
    var ops: [ModelOperation] = []
    // Queries and the misuse checks count pages and extents with plain
    // arithmetic; no real memory is this large.
    let huge = total > Int.max / 2
    do {
      let pick = Int(u8())
      // Without memory, the last picks (252...) go to the later operations,
      // so that inputs written before them decode as they did.
      let op = memory ? pick % 23 : pick >= 252 ? 22 : [4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 20][pick % 12]
      switch op {
      case 0: ops.append(.copy(size(total), ModelOperation.CopyForm.allCases[below(4)], seed: UInt64(u8())))
      case 1: ops.append(.full(size(total), seed: UInt64(u8())))
      case 2: ops.append(.wrongDirection)
      case 3: ops.append(.zero(arg(hint: total)))
      case 4: ops.append(.advance(arg(hint: total)))
      case 5: ops.append(.revert(arg(hint: total / 2)))
      case 6: ops.append(.truncate(arg(hint: total)))
      case 7: ops.append(.reexpand(arg(hint: total)))
      case 8: ops.append(.save)
      case 9: ops.append(.restore(below(8)))
      case 10: if !huge { ops.append(.badArguments) }
      case 11: if !huge { ops.append(.queries(pageLimit: arg(hint: 4))) }
      case 12: ops.append(.gather(capacity: below(10), maxBytes: arg(hint: total)))
      case 13:
        let maxBytes = arg(hint: total)
        let maxPages = u8() % 4 == 0 ? arg(hint: 1) : 1 + below(8)
        ops.append(.extract(maxBytes: maxBytes, maxPages: maxPages, retain: bool()))
      case 14: ops.append(.splitAt(arg(hint: total / 2)))
      case 15:
        // Hundreds of tiny pieces are slow and prove nothing more.
        let n = arg(hint: total / 3)
        ops.append(.splitPieces(n >= 1 && total / n > 256 ? total / 256 + 1 : n))
      case 16:
        let n = size(total)
        var sizes: [Int] = []
        var left = n
        for _ in 0..<below(4) where left > 0 {
          let s = below(left + 1)
          sizes.append(s)
          left -= s
        }
        ops.append(.iteratorCopy(n, segmentSizes: sizes + [left], seed: UInt64(u8())))
      case 17:
        let n = size(total)
        ops.append(.checksum(n, crc: bool(), firstPart: below(n + 1), seed: UInt64(u8())))
      case 18: ops.append(.walker(maxCount: arg(hint: total), budget: Int(u16())))
      case 19: ops.append(.peek)
      case 20: ops.append(.dup(arg(hint: total)))
      case 21: ops.append(.nextChunk(arg(hint: total)))
      default:
        // One more byte picks among the memory check and the later operations,
        // so that inputs written before them decode as they did.
        let more = Int(u8())
        switch memory ? more % 9 : [0, 3, 5, 7, 8][more % 5] {
        case 1:
          var answers: [Int?] = []
          for _ in 0..<(1 + below(4)) { answers.append(u8() % 4 == 0 ? arg(hint: 64) : nil) }
          let throwAt = Int(u8() % 8)
          ops.append(.iterate(maxCount: arg(hint: total), answers: answers, throwAt: throwAt < 5 ? throwAt : nil))
        case 2: ops.append(.chunkWalk(maxCount: arg(hint: total), stopAt: Int(u8() % 8), throwing: bool()))
        case 3: ops.append(.extend(arg(hint: 4)))
        case 4: ops.append(.fullBuffer(size(total), span: bool(), seed: UInt64(u8())))
        case 5: ops.append(.gatherSpan(capacity: below(10), maxBytes: arg(hint: total)))
        case 6:
          let maxBytes = arg(hint: total)
          let maxPages = u8() % 4 == 0 ? arg(hint: 1) : 1 + below(8)
          ops.append(.extractP2P(maxBytes: maxBytes, maxPages: maxPages, retain: bool()))
        case 7 where !nested:
          // Operations on both pieces of a split.
          let n = arg(hint: total / 2)
          let head = operations(count: below(4), total: total, memory: memory)
          ops.append(.splitRun(n, head: head, tail: operations(count: below(4), total: total, memory: memory)))
        case 8 where !nested: ops.append(.copyRun(operations(count: 1 + below(4), total: total, memory: memory)))
        default: ops.append(.memoryCheck)
        }
      }
    }
    return ops
  }

  /// Up to `count` operations for a second cursor.
  private mutating func operations(count: Int, total: Int, memory: Bool) -> [ModelOperation] {
    (0..<count).flatMap { _ in operation(total: total, memory: memory, nested: true) }
  }

  /// The size of a copy: an argument clamped to `0...maxCopy`.
  private mutating func size(_ total: Int) -> Int {
    Swift.min(Swift.max(0, arg(hint: total)), FuzzInput.maxCopy)
  }
}

/// Replays `operations` on a cursor over `source` and on the conformance
/// model (IterConformance's `replayModel`); stops the process with the step,
/// the operation, the difference and the operations up to it when they
/// disagree, so that libFuzzer records the input.
public func replayOrCrash<S: IterSegmentSource>(
  _ operations: [ModelOperation], over source: S, direction: IterDirection, count: Int? = nil,
  readsMemory: Bool = true, retentionProbe: (() -> Int)? = nil
) {
  if FuzzConfig.trace {
    print(
      "replay on a \(direction) cursor (count \(count.map(String.init) ?? "all"), memory \(readsMemory)): \(operations)"
    )
  }
  do {
    try replayModel(
      operations, over: source, direction: direction, count: count, readsMemory: readsMemory,
      retentionProbe: retentionProbe)
  } catch {
    let steps = operations.prefix(error.step + 1).enumerated().map { "\($0.offset). \($0.element)" }
    check(false, "\(error)\n  \(direction) cursor; operations:\n    \(steps.joined(separator: "\n    "))")
  }
}
