//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore

/// One step of a model-based run: an operation on the cursor with all its
/// arguments fixed, so that a failing sequence can be replayed and shrunk.
///
/// Sendable: a plain value.
public enum ModelOperation: Hashable, Sendable, CustomStringConvertible {
  /// How a copy hands its bytes over.
  ///
  /// Sendable: a plain value.
  public enum CopyForm: Int, Hashable, Sendable, CaseIterable {
    /// Through an unsafe raw buffer pointer.
    case buffer
    /// Through a `RawSpan` (in) or a `MutableRawSpan` (out).
    case span
    /// Through an array of bytes.
    case array
    /// Out into an `OutputRawSpan` whose initialised prefix must survive (on a
    /// destination, a copy the wrong way that must be refused).
    case outputSpan
  }

  /// Copy `n` bytes in (destination) or out (source); the written bytes come from `seed`.
  case copy(Int, CopyForm, seed: UInt64)
  /// The all-or-nothing form.
  case full(Int, seed: UInt64)
  /// A copy the wrong way, which must throw and change nothing.
  case wrongDirection
  /// `iov_iter_zero`.
  case zero(Int)
  /// `iov_iter_advance`.
  case advance(Int)
  /// `iov_iter_revert`.
  case revert(Int)
  /// `iov_iter_truncate`.
  case truncate(Int)
  /// `iov_iter_reexpand`.
  case reexpand(Int)
  /// `iov_iter_save_state` into a slot.
  case save
  /// `iov_iter_restore` from the saved slot `index % slots`.
  case restore(Int)
  /// Negative arguments and a foreign state, which must throw and change nothing.
  case badArguments
  /// count, single segment count, alignment, gap alignment, npages (with a cap).
  case queries(pageLimit: Int)
  /// Gather export into `capacity` iovecs, at most `maxBytes`.
  case gather(capacity: Int, maxBytes: Int)
  /// `iov_iter_extract_pages`.
  case extract(maxBytes: Int, maxPages: Int, retain: Bool)
  /// Split at `n` and read both halves.
  case splitAt(Int)
  /// Split into pieces of at most `n`.
  case splitPieces(Int)
  /// Iterator-to-iterator copy with another segmentation of the other side.
  case iteratorCopy(Int, segmentSizes: [Int], seed: UInt64)
  /// A copy that feeds a checksum (CRC32C or the Internet checksum), in two parts.
  case checksum(Int, crc: Bool, firstPart: Int, seed: UInt64)
  /// The chunk walker, stopping after `budget` bytes.
  case walker(maxCount: Int, budget: Int)
  /// `forEachChunk`, which must not move the cursor.
  case peek
  /// A copy of the cursor moved by `n`, which must not move the original.
  case dup(Int)
  /// `nextChunk`/`nextMutableChunk`.
  case nextChunk(Int)
  /// Compare the memory with the model.
  case memoryCheck
  /// `iterateAndAdvance` with at most `maxCount` bytes (any value: a negative
  /// one is clamped to 0) and a body that returns `answers[k % answers.count]`
  /// at its `k`-th call, counting from 0 (any value: the walk clamps it to
  /// the chunk, and fewer than the chunk stops the walk), or `nil` for the
  /// whole chunk; at call number `throwAt` (counting from 0) the body throws
  /// instead, and the cursor must stand after the chunks handled before.
  case iterate(maxCount: Int, answers: [Int?], throwAt: Int?)
  /// `forEachChunk(maxCount:)`, whose body stops the walk at chunk number
  /// `stopAt` (counting from 0) by returning `false`, or by throwing when
  /// `throwing`; it must visit the model's chunks and never move the cursor.
  case chunkWalk(maxCount: Int, stopAt: Int, throwing: Bool)
  /// `extend(by:)`: taken in when the source holds the bytes, refused otherwise.
  case extend(Int)
  /// The all-or-nothing copy through an unsafe raw buffer pointer, or through
  /// a `RawSpan` (in) or `MutableRawSpan` (out) when `span`.
  case fullBuffer(Int, span: Bool, seed: UInt64)
  /// Gather export into a `MutableSpan` of `capacity` iovecs, at most `maxBytes`.
  case gatherSpan(capacity: Int, maxBytes: Int)
  /// `iov_iter_extract_pages` with `IterExtractionOptions.allowP2PDMA`.
  case extractP2P(maxBytes: Int, maxPages: Int, retain: Bool)
  /// Split at `n`, then run `head` on the head piece and `tail` on the tail,
  /// each against its own model (on a destination, both write the memory the
  /// cursor describes); the cursor itself must not move.
  case splitRun(Int, head: [ModelOperation], tail: [ModelOperation])
  /// Run `operations` on a copy of the cursor, against its own model (it may
  /// restore the cursor's saved states); the cursor itself must not move.
  case copyRun([ModelOperation])

  /// The operation as one line of a minimal failing sequence.
  public var description: String {
    switch self {
    case .copy(let n, let form, _): "copy \(n) (\(form))"
    case .full(let n, _): "full copy \(n)"
    case .wrongDirection: "copy the wrong way"
    case .zero(let n): "zero \(n)"
    case .advance(let n): "advance \(n)"
    case .revert(let n): "revert \(n)"
    case .truncate(let n): "truncate to \(n)"
    case .reexpand(let n): "reexpand to \(n)"
    case .save: "save state"
    case .restore(let i): "restore state #\(i)"
    case .badArguments: "negative arguments and a foreign state"
    case .queries(let limit): "queries (npages cap \(limit))"
    case .gather(let c, let m): "gather into \(c) iovecs, max \(m == .max ? "all" : String(m)) bytes"
    case .extract(let b, let p, let r): "extract max \(b) bytes, \(p) pages\(r ? ", retain" : "")"
    case .splitAt(let n): "split at \(n)"
    case .splitPieces(let n): "split into pieces of \(n)"
    case .iteratorCopy(let n, let sizes, _): "iterator copy \(n) through \(sizes.count) segments"
    case .checksum(let n, let crc, let first, _): "\(crc ? "CRC32C" : "Internet checksum") copy \(n) (\(first) first)"
    case .walker(let m, let b): "iterateAndAdvance max \(m), stop after \(b)"
    case .peek: "forEachChunk"
    case .dup(let n): "advance a copy by \(n)"
    case .nextChunk(let n): "next chunk of at most \(n)"
    case .memoryCheck: "memory check"
    case .iterate(let m, let answers, let t):
      "iterateAndAdvance max \(m), answers \(answers.map { $0.map(String.init) ?? "all" })"
        + (t.map { ", throw at call \($0)" } ?? "")
    case .chunkWalk(let m, let stop, let throwing):
      "forEachChunk max \(m), \(throwing ? "throw" : "stop") at chunk \(stop)"
    case .extend(let n): "extend by \(n)"
    case .fullBuffer(let n, let span, _): "full copy \(n) (\(span ? "span" : "buffer"))"
    case .gatherSpan(let c, let m): "gather into a span of \(c) iovecs, max \(m == .max ? "all" : String(m)) bytes"
    case .extractP2P(let b, let p, let r): "extract max \(b) bytes, \(p) pages, allowP2PDMA\(r ? ", retain" : "")"
    case .splitRun(let n, let head, let tail): "split at \(n), then head \(head), tail \(tail)"
    case .copyRun(let operations): "on a copy: \(operations)"
    }
  }

  /// A random operation whose arguments suit a cursor with `count` bytes left
  /// and `consumed` bytes behind it (any value is legal: the model knows what
  /// every argument must do).
  static func random(
    count: Int, consumed: Int, reexpandLimit: Int, using rng: inout SeededGenerator
  ) -> ModelOperation {
    func size(_ top: Int) -> Int {
      let n = Int.random(in: 0...(top + 16), using: &rng)
      return Bool.random(using: &rng) ? n : n / 4
    }
    switch Int.random(in: 0..<39, using: &rng) {
    case 0, 1, 2: return .copy(size(count), .buffer, seed: rng.next())
    case 3: return .copy(size(count), ModelOperation.CopyForm.allCases.randomElement(using: &rng)!, seed: rng.next())
    case 4: return .copy(size(count), .outputSpan, seed: rng.next())
    case 5: return .full(size(count), seed: rng.next())
    case 6: return .wrongDirection
    case 7: return .zero(size(count))
    case 8, 9: return .advance(size(count))
    case 10, 11:
      let r = Int.random(in: 0...(consumed + 3), using: &rng)
      return .revert(Bool.random(using: &rng) ? r : r / 8)
    case 12: return .truncate(Int.random(in: 0...(count + 4), using: &rng))
    case 13: return .reexpand(Int.random(in: 0...(reexpandLimit + 4), using: &rng))
    case 14: return .save
    case 15: return .restore(Int.random(in: 0..<4, using: &rng))
    case 16: return .badArguments
    case 17: return .queries(pageLimit: Int.random(in: 0...(count / 2048 + 4), using: &rng))
    case 18:
      let maxBytes = Bool.random(using: &rng) ? Int.max : Int.random(in: 0...(count + 8), using: &rng)
      return .gather(capacity: Int.random(in: 0...6, using: &rng), maxBytes: maxBytes)
    case 19, 20:
      return .extract(
        maxBytes: Int.random(in: 0...(count + 64), using: &rng), maxPages: Int.random(in: 1...5, using: &rng),
        retain: Bool.random(using: &rng))
    case 21: return .splitAt(size(count))
    case 22: return .splitPieces(Int.random(in: 1...max(1, count / 3 + 1), using: &rng))
    case 23, 24:
      let n = Int.random(in: 0...(count + 8), using: &rng)
      return .iteratorCopy(
        n, segmentSizes: randomSegmentSizes(total: n, maxSegments: 12, using: &rng), seed: rng.next())
    case 25:
      let n = size(count)
      return .checksum(
        n, crc: Bool.random(using: &rng), firstPart: Int.random(in: 0...n, using: &rng), seed: rng.next())
    case 26: return .walker(maxCount: size(count), budget: Int.random(in: 0...(count + 4), using: &rng))
    case 27: return .peek
    case 28: return .dup(size(count))
    case 29: return .nextChunk(Int.random(in: 0...(count + 4), using: &rng))
    case 30:
      let answers = (0..<Int.random(in: 1...3, using: &rng)).map { _ -> Int? in
        Int.random(in: 0..<3, using: &rng) == 0 ? nil : Int.random(in: -2...(count / 2 + 2), using: &rng)
      }
      return .iterate(
        maxCount: size(count) - 2, answers: answers,
        throwAt: Bool.random(using: &rng) ? nil : Int.random(in: 0..<4, using: &rng))
    case 31:
      return .chunkWalk(
        maxCount: size(count) - 2, stopAt: Int.random(in: 0..<4, using: &rng), throwing: Bool.random(using: &rng))
    case 32: return .extend(Int.random(in: -1...(reexpandLimit + 8), using: &rng))
    case 33: return .fullBuffer(size(count), span: Bool.random(using: &rng), seed: rng.next())
    case 34:
      let maxBytes = Bool.random(using: &rng) ? Int.max : Int.random(in: 0...(count + 8), using: &rng)
      return .gatherSpan(capacity: Int.random(in: 0...6, using: &rng), maxBytes: maxBytes)
    case 35:
      return .extractP2P(
        maxBytes: Int.random(in: 0...(count + 64), using: &rng), maxPages: Int.random(in: 1...5, using: &rng),
        retain: Bool.random(using: &rng))
    case 36, 37:
      // A few operations on a second cursor, drawn as for the first.
      func some(_ count: Int) -> [ModelOperation] {
        (0..<Int.random(in: 0...3, using: &rng)).map { _ in
          var op: ModelOperation
          repeat {
            op = random(count: count, consumed: 0, reexpandLimit: count, using: &rng)
          } while op.isRun
          return op
        }
      }
      if Bool.random(using: &rng) { return .copyRun(some(count)) }
      let n = size(count)
      return .splitRun(n, head: some(min(n, count)), tail: some(count - min(n, count)))
    default: return .memoryCheck
    }
  }
}

extension ModelOperation {
  /// Whether the operation runs operations on a second cursor.
  var isRun: Bool {
    switch self {
    case .splitRun, .copyRun: true
    default: false
    }
  }
}
