//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterBridge
import IterCore
import IterTestSupport
import Testing

/// `translateRuns(_:length:into:)`: the runs successive `translate` calls
/// give, in one call, stopping at a full buffer or an untranslatable page.
@Suite("Translating many runs in one call")
struct TranslateRunsTests {
  /// A made-up pagemap: `entries[k]` is the raw entry of page `first + k`;
  /// every other page reads as not present.
  struct FakePagemap {
    var first: UInt
    var entries: [UInt64]

    func translator(batchPages: Int) -> PagemapTranslator {
      let first = first
      let entries = entries
      return PagemapTranslator(batchPages: batchPages) { buffer, offset in
        let page = UInt(offset / 8)
        for i in 0..<buffer.count / 8 {
          let k = Int(bitPattern: page &+ UInt(i) &- first)
          buffer.storeBytes(of: k >= 0 && k < entries.count ? entries[k] : 0, toByteOffset: i * 8, as: UInt64.self)
        }
        return buffer.count
      }
    }

    /// The brute-force answer: runs of present frames that follow one
    /// another, from `address` for `length` bytes, up to the first page
    /// without a frame.
    func expectedRuns(_ address: UInt, length: Int) -> [PhysicalRun] {
      var runs: [PhysicalRun] = []
      var at = address
      var left = length
      while left > 0 {
        let k = Int(at / 4096) - Int(first)
        guard k >= 0, k < entries.count, entries[k] >> 63 == 1, entries[k] & ((1 << 55) - 1) != 0 else { break }
        let frame = entries[k] & ((1 << 55) - 1)
        var bytes = min(left, 4096 - Int(at % 4096))
        var next = k + 1
        while bytes < left, next < entries.count, entries[next] >> 63 == 1,
          entries[next] & ((1 << 55) - 1) == frame + UInt64(next - k)
        {
          bytes += min(left - bytes, 4096)
          next += 1
        }
        runs.append(PhysicalRun(address: frame * 4096 + UInt64(at % 4096), length: bytes))
        at += UInt(bytes)
        left -= bytes
      }
      return runs
    }
  }

  /// Random pagemaps (mostly contiguous frames, some breaks, some pages
  /// hidden, swapped or absent), random batch sizes, ranges and buffer
  /// sizes: `translateRuns` gives the brute-force runs, `translate` the same
  /// one at a time, and a full buffer or a bad page ends the call.
  @Test func runsMatchTheBruteForceModel() throws {
    var rng = SeededGenerator(seed: TestSeed.base ^ 0x7261_6e73)
    for _ in 0..<400 {
      let count = Int.random(in: 1...40, using: &rng)
      var frame = UInt64.random(in: 1...1000, using: &rng)
      let entries: [UInt64] = (0..<count).map { _ in
        switch Int.random(in: 0..<20, using: &rng) {
        case 0: return 1 << 63  // hidden
        case 1: return 1 << 62 | 5  // swapped
        case 2: return 0  // not present
        case 3...6:
          frame += UInt64.random(in: 2...50, using: &rng)
          return 1 << 63 | frame
        default:
          frame += 1
          return 1 << 63 | frame
        }
      }
      let map = FakePagemap(first: 0x4000, entries: entries)
      let t = map.translator(batchPages: Int.random(in: 1...9, using: &rng))
      let start = 0x4000 * 4096 + UInt.random(in: 0..<UInt(count * 4096), using: &rng)
      let length = Int.random(in: 0...(count * 4096 + 8192), using: &rng)
      let capacity = Int.random(in: 0...12, using: &rng)
      let expected = map.expectedRuns(start, length: length)
      let buffer = UnsafeMutableBufferPointer<PhysicalRun>.allocate(capacity: capacity + 1)
      defer { buffer.deallocate() }
      let sentinel = PhysicalRun(address: 0xDEAD, length: -1)
      buffer.initialize(repeating: sentinel)
      let firstBad = length > 0 && expected.isEmpty
      if firstBad && capacity > 0 {
        #expect(throws: DMAError.self) {
          try t.translateRuns(start, length: length, into: .init(rebasing: buffer[..<capacity]))
        }
        #expect(throws: DMAError.self) { try t.translate(start, length: length) }
        continue
      }
      let n = try t.translateRuns(start, length: length, into: .init(rebasing: buffer[..<capacity]))
      #expect(Array(buffer[..<n]) == Array(expected.prefix(capacity)), "start \(start) length \(length)")
      #expect(buffer[capacity] == sentinel && (n..<capacity).allSatisfy { buffer[$0] == sentinel })
      // One at a time, the same runs.
      var at = start
      for run in expected.prefix(capacity) {
        let left = length - Int(at - start)
        #expect(try t.translate(at, length: left) == run)
        at += UInt(run.length)
      }
      // The default implementation (one translate a run) agrees.
      let viaDefault = try OneAtATime(inner: t).translateRuns(
        start, length: length, into: .init(rebasing: buffer[..<capacity]))
      #expect(Array(buffer[..<viaDefault]) == Array(expected.prefix(capacity)))
    }
  }

  /// Wraps a translator so that only `translate` is its own: the protocol's
  /// default `translateRuns` runs.
  struct OneAtATime: PhysicalTranslator {
    let inner: PagemapTranslator
    func translate(_ address: UInt, length: Int) throws(DMAError) -> PhysicalRun {
      try inner.translate(address, length: length)
    }
  }

  /// A translator that breaks the contract (runs of 0 bytes, or longer than
  /// asked) is refused by the default walk, which neither loops nor overruns.
  @Test func aTranslatorOutsideItsContractIsRefused() throws {
    struct Lying: PhysicalTranslator {
      var answer: Int
      func translate(_ address: UInt, length: Int) throws(DMAError) -> PhysicalRun {
        PhysicalRun(address: UInt64(address), length: answer == 0 ? 0 : length + answer)
      }
    }
    let buffer = UnsafeMutableBufferPointer<PhysicalRun>.allocate(capacity: 4)
    defer { buffer.deallocate() }
    for answer in [0, 1, 4096] {
      #expect(throws: DMAError.notTranslatable(address: 0x1000)) {
        try Lying(answer: answer).translateRuns(0x1000, length: 100, into: buffer)
      }
    }
    #expect(throws: DMAError.iterator(.negativeCount(argument: "length", value: -1))) {
      try IdentityTranslator().translateRuns(0x1000, length: -1, into: buffer)
    }
    #expect(throws: DMAError.iterator(.negativeCount(argument: "length", value: -1))) {
      try FakePagemap(first: 0, entries: []).translator(batchPages: 4).translateRuns(0x1000, length: -1, into: buffer)
    }
    #expect(try IdentityTranslator().translateRuns(0x1000, length: 0, into: buffer) == 0)
    #expect(try IdentityTranslator().translateRuns(0x1000, length: 10, into: buffer) == 1)
    #expect(buffer[0] == PhysicalRun(address: 0x1000, length: 10))
  }

  /// A bad page after good ones ends the call with the runs before it; the
  /// next call, from the bad page, throws its error.
  @Test func aBadPageEndsTheCallAndTheNextOneThrows() throws {
    let map = FakePagemap(first: 0x100, entries: [1 << 63 | 7, 1 << 63 | 8, 1 << 63 | 20, 1 << 62 | 1, 1 << 63 | 30])
    let t = map.translator(batchPages: 2)
    let buffer = UnsafeMutableBufferPointer<PhysicalRun>.allocate(capacity: 8)
    defer { buffer.deallocate() }
    let n = try t.translateRuns(0x100_008, length: 5 * 4096, into: buffer)
    #expect(n == 2)
    #expect(buffer[0] == PhysicalRun(address: 7 * 4096 + 8, length: 2 * 4096 - 8))
    #expect(buffer[1] == PhysicalRun(address: 20 * 4096, length: 4096))
    #expect(throws: DMAError.pageSwapped(address: 0x103_000)) {
      try t.translateRuns(0x103_000, length: 4096, into: buffer)
    }
  }

  /// A real 64 MiB buffer: the runs in one call are the frames pagemap
  /// shows, read independently, and those of successive `translate` calls.
  @Test func realBufferInOneCall() throws {
    let m = try Mapping(bytes: 64 << 20)
    let frames = m.pagemapFrames()
    guard frames.allSatisfy({ $0 != 0 }) else {
      print("skipped: /proc/self/pagemap shows no frames here (no CAP_SYS_ADMIN, or pages not present)")
      return
    }
    let t = try PagemapTranslator()
    let buffer = UnsafeMutableBufferPointer<PhysicalRun>.allocate(capacity: frames.count)
    defer { buffer.deallocate() }
    let base = UInt(bitPattern: m.base)
    let n = try t.translateRuns(base, length: m.count, into: buffer)
    var page = 0
    for run in buffer[..<n] {
      #expect(run.length % 4096 == 0)
      for k in 0..<run.length / 4096 {
        #expect(frames[page] == run.address / 4096 + UInt64(k), "page \(page)")
        page += 1
      }
    }
    #expect(page == frames.count)
    #expect(t.readCount <= frames.count / 4096 + 2)
    t.invalidateAll()
    var at = base
    for run in buffer[..<n] {
      #expect(try t.translate(at, length: m.count - Int(at - base)) == run)
      at += UInt(run.length)
    }
  }
}
