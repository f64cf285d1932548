//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterConformance
import IterCore
import Testing

/// Building a cursor checks a run of segments in one branch-free pass and
/// looks again, segment by segment, only at a run the pass suspects. These
/// check that the pass misses nothing and that its false alarms cost nothing
/// but time.
@Suite struct BuildScanTests {
  /// The rules one segment at a time, in order: what every build must agree with.
  static func model(_ segments: [IterSegment], direction: IterDirection) -> Result<Int, IterError> {
    var total = 0
    for (index, segment) in segments.enumerated() {
      if segment.count < 0 {
        return .failure(.invalidSegment(index: index, count: segment.count, reason: "negative length"))
      }
      if direction == .source && segment.count > 0 && segment.base == nil {
        return .failure(
          .invalidSegment(index: index, count: segment.count, reason: "no memory to read in a source iterator"))
      }
      let (sum, overflow) = total.addingReportingOverflow(segment.count)
      if overflow { return .failure(.lengthOverflow(total: total, limit: .max)) }
      total = sum
    }
    return .success(total)
  }

  static func build<S: IterSegmentSource>(_ source: S, direction: IterDirection) -> Result<Int, IterError> {
    do {
      return .success(try IovIter(source, direction: direction).count)
    } catch { return .failure(error) }
  }

  /// Random lists mixing the values that sit on the pass's edges: lengths of
  /// 0, small, powers of two up to 2^62, Int.max and negative; no address, a
  /// small one and one above Int.max. Every kind of access agrees with the model.
  @Test(arguments: 0..<8)
  func randomListsAgreeWithTheModel(seed: UInt64) {
    var rng = SeededGenerator(seed: 0xB01D &+ seed)
    let lengths: [Int] = [0, 1, 7, 512, 4096, 1 << 31, 1 << 32, 1 << 61, 1 << 62, .max / 2 + 1, .max, -1, .min]
    var failures = 0
    var successes = 0
    for _ in 0..<400 {
      let n = Int.random(in: 0...40, using: &rng)
      // Mostly harmless segments, so that many lists build and the bad one is anywhere.
      let segments = (0..<n).map { _ -> IterSegment in
        let rare = Int.random(in: 0..<100, using: &rng) < 12
        let count = rare ? lengths.randomElement(using: &rng)! : Int.random(in: 0...4096, using: &rng)
        let base: UnsafeMutableRawPointer?
        switch Int.random(in: 0..<20, using: &rng) {
        case 0: base = nil
        case 1: base = UnsafeMutableRawPointer(bitPattern: UInt.max - 0xFFF)
        default: base = UnsafeMutableRawPointer(bitPattern: 0x10_0000 &+ Int.random(in: 0..<(1 << 40), using: &rng))
        }
        return IterSegment(base: base, count: count)
      }
      for direction in [IterDirection.source, .destination] {
        let expected = Self.model(segments, direction: direction)
        if case .success = expected { successes += 1 } else { failures += 1 }
        #expect(Self.build(UnsafeSegmentList(segments), direction: direction) == expected)
        #expect(Self.build(PerSegmentList(segments: segments), direction: direction) == expected)
        #expect(Self.build(ChoppyList(segments: segments, garbage: []), direction: direction) == expected)
      }
    }
    // Both outcomes were exercised, not only one.
    #expect(successes > 100 && failures > 100)
  }

  /// What the pass suspects but the rules allow builds as it should.
  @Test func falseAlarmsBuild() throws {
    let high = UnsafeMutableRawPointer(bitPattern: UInt.max - 0xFFF)
    let low = UnsafeMutableRawPointer(bitPattern: 0x1000)
    let cases: [([IterSegment], Int)] = [
      // An empty segment at no address, in a source.
      ([IterSegment(base: low, count: 8), IterSegment(base: nil, count: 0), IterSegment(base: low, count: 8)], 16),
      // An address above Int.max.
      ([IterSegment(base: high, count: 16)], 16),
      // Wide lengths whose sum still fits: 2^62 alone, and 3 × 2^61.
      ([IterSegment(base: low, count: 1 << 62)], 1 << 62),
      (Array(repeating: IterSegment(base: low, count: 1 << 61), count: 3), 3 << 61),
      // Int.max exactly, after empty segments.
      ([IterSegment(base: low, count: 0), IterSegment(base: low, count: .max)], .max),
    ]
    for (segments, total) in cases {
      #expect(try IovIter(UnsafeSegmentList(segments), direction: .source).count == total)
      #expect(try IovIter(UnsafeSegmentList(segments), direction: .destination).count == total)
    }
    // And past it: 2^62 + 2^62 is 2^63; four and eight of them wrap a
    // 64-bit sum to exactly 0, which no sign shows.
    for n in [2, 4, 8] {
      let over = Array(repeating: IterSegment(base: low, count: 1 << 62), count: n)
      #expect(throws: IterError.lengthOverflow(total: 1 << 62, limit: .max)) {
        try IovIter(UnsafeSegmentList(over), direction: .source)
      }
    }
  }
}
