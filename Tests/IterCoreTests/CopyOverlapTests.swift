//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterConformance
import IterCore
import Testing

/// Copies between two cursors over one buffer: `copy(from:)` must refuse
/// exactly the copies in which a byte it would read lies in memory it would
/// write (and then write nothing), and do every other copy as a copy through
/// a snapshot would. Its fast check bounds each side by the hull of the bytes
/// it covers; these layouts put the overlap at the cut ends of the first and
/// last pieces, in whole segments between them, and nowhere.
@Suite struct CopyOverlapTests {
  static let size = 512

  /// Random segments over `[0, size)`: some empty, and for a destination some
  /// without memory.
  static func segments(
    _ base: UnsafeMutableRawPointer, memoryless: Bool, using rng: inout SeededGenerator
  ) -> [(offset: Int?, count: Int)] {
    (0..<Int.random(in: 1...12, using: &rng)).map { _ in
      let count = Int.random(in: 0..<100, using: &rng) < 10 ? 0 : Int.random(in: 1...64, using: &rng)
      if memoryless && Int.random(in: 0..<8, using: &rng) == 0 { return (nil, count) }
      return (Int.random(in: 0...(size - count), using: &rng), count)
    }
  }

  /// The buffer offsets of the `n` bytes after `skip` bytes, in order; `nil`
  /// for a byte without memory.
  static func bytes(_ segments: [(offset: Int?, count: Int)], skip: Int, n: Int) -> [Int?] {
    var all: [Int?] = []
    for segment in segments {
      for k in 0..<segment.count { all.append(segment.offset.map { $0 + k }) }
    }
    return Array(all.dropFirst(skip).prefix(n))
  }

  func run<S: IterSegmentSource, D: IterSegmentSource>(
    _ make: ([IterSegment]) -> S, _ makeDestination: ([IterSegment]) -> D, seed: UInt64
  ) throws {
    var rng = SeededGenerator(seed: seed)
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.size, alignment: 16)
    defer { buffer.deallocate() }
    var refused = 0
    var copied = 0
    for _ in 0..<300 {
      for i in 0..<Self.size {
        buffer.storeBytes(of: UInt8(truncatingIfNeeded: i &* 7 &+ 3), toByteOffset: i, as: UInt8.self)
      }
      let before = Array(UnsafeRawBufferPointer(start: buffer, count: Self.size))
      let from = Self.segments(buffer, memoryless: false, using: &rng)
      let to = Self.segments(buffer, memoryless: true, using: &rng)
      func segs(_ list: [(offset: Int?, count: Int)]) -> [IterSegment] {
        list.map { IterSegment(base: $0.offset.map { buffer + $0 }, count: $0.count) }
      }
      var source = try IovIter(make(segs(from)), direction: .source)
      var destination = try IovIter(makeDestination(segs(to)), direction: .destination)
      let skipSource = Int.random(in: 0...source.count, using: &rng)
      let skipDestination = Int.random(in: 0...destination.count, using: &rng)
      try source.advance(by: skipSource)
      try destination.advance(by: skipDestination)
      let maxCount = Int.random(in: 0..<4, using: &rng) == 0 ? Int.random(in: 0...80, using: &rng) : .max
      let n = min(maxCount, source.count, destination.count)
      let reads = Self.bytes(from, skip: skipSource, n: n)
      let writes = Self.bytes(to, skip: skipDestination, n: n)
      let overlaps = !Set(reads.compactMap { $0 }).isDisjoint(with: writes.compactMap { $0 })
      do {
        let done = try destination.copy(from: &source, maxCount: maxCount)
        #expect(!overlaps, "a copy over shared bytes was not refused")
        #expect(done == n)
        var expected = before
        for (r, w) in zip(reads, writes) { if let w, let r { expected[w] = before[r] } }
        #expect(Array(UnsafeRawBufferPointer(start: buffer, count: Self.size)) == expected)
        #expect(source.consumedCount == skipSource + n && destination.consumedCount == skipDestination + n)
        copied += 1
      } catch {
        guard case .overlappingCopy = error else {
          Issue.record("\(error)")
          continue
        }
        #expect(overlaps, "a copy over disjoint bytes was refused")
        #expect(Array(UnsafeRawBufferPointer(start: buffer, count: Self.size)) == before, "nothing may be written")
        #expect(source.consumedCount == skipSource && destination.consumedCount == skipDestination)
        refused += 1
      }
    }
    #expect(refused > 30 && copied > 30)
  }

  @Test(arguments: 0..<4)
  func randomLayoutsOverOneBuffer(seed: UInt64) throws {
    try run({ UnsafeSegmentList($0) }, { UnsafeSegmentList($0) }, seed: 0xC0FE &+ seed)
    try run({ PerSegmentList(segments: $0) }, { ChoppyList(segments: $0, garbage: []) }, seed: 0xC1FE &+ seed)
    try run({ ChoppyList(segments: $0, garbage: []) }, { PerSegmentList(segments: $0) }, seed: 0xC2FE &+ seed)
  }
}
