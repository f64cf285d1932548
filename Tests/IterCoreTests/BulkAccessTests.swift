//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterTestSupport
import Testing

/// The same segments without bulk access: the cursor asks `segment(at:)`
/// for each one.
struct PerSegmentList: IterSegmentSource {
  let segments: [IterSegment]
  var segmentCount: Int { segments.count }
  func segment(at index: Int) -> IterSegment { segments[index] }
}

/// The same segments handed over in awkward runs that the cursor must cope
/// with: short runs, no run at some indices, empty runs and runs that go on
/// past `segmentCount` (the last two break the contract; the cursor falls
/// back and cuts, and must still give the same results).
struct ChoppyList: IterSegmentSource {
  let segments: [IterSegment]
  /// Past-the-end segments a run may carry, which the cursor must not use.
  let garbage: [IterSegment]
  var segmentCount: Int { segments.count }
  func segment(at index: Int) -> IterSegment { segments[index] }
  func withContiguousSegments<R, E: Error>(
    from index: Int, _ body: (UnsafeBufferPointer<IterSegment>) throws(E) -> R
  ) throws(E) -> R? {
    let run: [IterSegment]
    switch index % 7 {
    case 3: return nil
    case 5: run = []
    case 6: run = Array(segments[index...]) + garbage
    default: run = Array(segments[index..<min(segments.count, index + 1 + index % 4)])
    }
    return try run.withUnsafeBufferPointer { (buffer) throws(E) -> R in try body(buffer) }
  }
}

@Suite("Bulk segment access gives what the per-segment path gives")
struct BulkAccessTests {
  /// A random layout with empty segments mixed in, over filled memory, and
  /// three sources over it: bulk, per-segment and choppy.
  struct Fixture {
    let memory: TestMemory
    let segments: [IterSegment]
    var total: Int { segments.reduce(0) { $0 + $1.count } }

    init(seed: UInt64) {
      var rng = SeededGenerator(seed: seed)
      let total = Int.random(in: 0...3000, using: &rng)
      var sizes = randomSegmentSizes(total: total, maxSegments: 200, using: &rng)
      for _ in 0..<Int.random(in: 0...6, using: &rng) {
        sizes.insert(0, at: Int.random(in: 0...sizes.count, using: &rng))
      }
      memory = TestMemory(size: TestMemory.sizeNeeded(for: sizes))
      for k in 0..<memory.size {
        memory.base.storeBytes(of: UInt8(truncatingIfNeeded: k &* 13 &+ 5), toByteOffset: k, as: UInt8.self)
      }
      segments = memory.segments(sizes: sizes, gaps: seed % 2 == 0, using: &rng)
    }

    var bulk: UnsafeSegmentList { UnsafeSegmentList(segments) }
    var perSegment: PerSegmentList { PerSegmentList(segments: segments) }
    var choppy: ChoppyList {
      ChoppyList(segments: segments, garbage: [IterSegment(base: nil, count: -7), IterSegment(base: nil, count: 99)])
    }
  }

  /// What a sequence of reads, advances, reverts and exports saw and did.
  func trace<S: IterSegmentSource>(_ source: S, seed: UInt64) throws -> [String] {
    var rng = SeededGenerator(seed: seed)
    var iter = try IovIter(source, direction: .source)
    var out: [String] = []
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
    defer { scratch.deallocate() }
    let vectors = UnsafeMutableBufferPointer<iovec>.allocate(capacity: 64)
    defer { vectors.deallocate() }
    for _ in 0..<60 {
      switch Int.random(in: 0..<4, using: &rng) {
      case 0:
        let n = try iter.read(
          into: UnsafeMutableRawBufferPointer(rebasing: scratch[..<Int.random(in: 0...300, using: &rng)]))
        out.append("read \(n): \(Array(scratch[..<n]))")
      case 1:
        try iter.advance(by: Int.random(in: 0...400, using: &rng))
        out.append("advance")
      case 2:
        try iter.revert(by: Int.random(in: 0...iter.consumedCount, using: &rng))
        out.append("revert")
      default:
        let capacity = Int.random(in: 0...64, using: &rng)
        let g = try iter.gather(
          into: UnsafeMutableBufferPointer(rebasing: vectors[..<capacity]),
          maxBytes: Int.random(in: 0...2000, using: &rng))
        let entries = (0..<g.vectorCount).map { "\(UInt(bitPattern: vectors[$0].iov_base)):\(vectors[$0].iov_len)" }
        out.append("gather \(g) \(entries)")
      }
      out.append("at \(iter.position) count \(iter.count) consumed \(iter.consumedCount)")
    }
    return out
  }

  @Test(arguments: 0..<40)
  func walksAgree(seed: UInt64) throws {
    let f = Fixture(seed: seed)
    let expected = try trace(f.perSegment, seed: seed)
    #expect(try trace(f.bulk, seed: seed) == expected)
    #expect(try trace(f.choppy, seed: seed) == expected)
  }

  /// Writes through a destination cursor, then copies iterator to iterator.
  @Test(arguments: 0..<40)
  func writesAndIteratorCopiesAgree(seed: UInt64) throws {
    var results: [[UInt8]] = []
    for form in 0..<3 {
      let f = Fixture(seed: seed)
      let g = Fixture(seed: seed &+ 1000)
      let bytes = (0..<f.total).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
      func run<D: IterSegmentSource, S: IterSegmentSource>(_ d: D, _ s: S) throws -> [UInt8] {
        var into = try IovIter(d, direction: .destination)
        #expect(try into.write(bytes) == f.total)
        var from = try IovIter(d, direction: .source)
        var sink = try IovIter(s, direction: .destination)
        var copied: [Int] = []
        while true {
          let n = try sink.copy(from: &from, maxCount: 97)
          if n == 0 { break }
          copied.append(n)
        }
        var check = try IovIter(d, direction: .source)
        var back = try IovIter(s, direction: .source)
        return try check.read(upTo: .max) + back.read(upTo: .max) + copied.map { UInt8(truncatingIfNeeded: $0) }
      }
      switch form {
      case 0: results.append(try run(f.perSegment, g.perSegment))
      case 1: results.append(try run(f.bulk, g.bulk))
      default: results.append(try run(f.choppy, g.choppy))
      }
      #expect(Array(results[form].prefix(f.total)) == bytes)
    }
    #expect(results[1] == results[0])
    #expect(results[2] == results[0])
  }

  /// Building over bad segments throws the same error, naming the same
  /// segment, with bulk access or without.
  @Test(arguments: 0..<4)
  func buildErrorsAgree(form: Int) {
    func at(_ k: Int) -> UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: 0x1000 + k * 64) }
    let good = (0..<9).map { IterSegment(base: at($0), count: $0 % 3) }  // 9 bytes
    let bad: [IterSegment]
    let expected: (source: IterError?, destination: IterError?)
    switch form {
    case 0:
      bad = [IterSegment(base: nil, count: 0), IterSegment(base: nil, count: -3)]
      let e = IterError.invalidSegment(index: 10, count: -3, reason: "negative length")
      expected = (e, e)
    case 1:
      bad = [IterSegment(base: at(9), count: 5), IterSegment(base: nil, count: 4)]
      expected = (.invalidSegment(index: 10, count: 4, reason: "no memory to read in a source iterator"), nil)
    case 2:
      bad = [IterSegment(base: at(9), count: .max), IterSegment(base: nil, count: -1)]
      expected = (.lengthOverflow(total: 9, limit: .max), .lengthOverflow(total: 9, limit: .max))
    default:
      bad = [IterSegment(base: at(9), count: .max / 2 + 1), IterSegment(base: at(10), count: .max / 2 + 1)]
      let e = IterError.lengthOverflow(total: 9 + .max / 2 + 1, limit: .max)
      expected = (e, e)
    }
    let segments = good + bad
    for direction in [IterDirection.source, .destination] {
      func error<S: IterSegmentSource>(_ s: S) -> IterError? {
        do {
          _ = try IovIter(s, direction: direction)
          return nil
        } catch { return error }
      }
      let wanted = direction == .source ? expected.source : expected.destination
      #expect(error(PerSegmentList(segments: segments)) == wanted)
      #expect(error(UnsafeSegmentList(segments)) == wanted)
      #expect(error(ChoppyList(segments: segments, garbage: [])) == wanted)
    }
  }
}
