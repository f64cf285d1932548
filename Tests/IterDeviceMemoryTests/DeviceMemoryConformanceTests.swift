//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterDeviceMemory
import IterTestSupport
import Testing

/// Ranges holding `bytes`, in one to three apertures, at seed-chosen offsets:
/// back to back, with gaps, from page starts, with empty entries.
func deviceRanges(holding bytes: [UInt8], seed: UInt64) throws -> DeviceRangeArray {
  var rng = SeededGenerator(seed: seed)
  let pageSize = IterPage.size
  let sizes = randomSegmentSizes(total: bytes.count, maxSegments: 80, using: &rng)
  let apertureCount = Int.random(in: 1...3, using: &rng)
  let room = sizes.reduce(0) { $0 + $1 + 2 * pageSize } / apertureCount + pageSize
  let apertures = try (0..<apertureCount).map { k in
    try DeviceMemory(byteCount: room, busAddress: UInt64(k + 1) << 32)
  }
  var at = [Int](repeating: 0, count: apertureCount)
  var ranges = DeviceRangeArray()
  var consumed = 0
  for size in sizes {
    var k = Int.random(in: 0..<apertureCount, using: &rng)
    if at[k] + size + pageSize > apertures[k].byteCount { k = at.indices.min { at[$0] < at[$1] }! }
    switch Int.random(in: 0..<3, using: &rng) {
    case 0: break
    case 1: at[k] = (at[k] + pageSize - 1) & ~(pageSize - 1)
    default: at[k] += Int.random(in: 1...40, using: &rng)
    }
    let offset = at[k]
    apertures[k].withUnsafeMutableBytes { raw in
      for j in 0..<size { raw[offset + j] = bytes[consumed + j] }
    }
    try ranges.append(apertures[k], offset: offset, count: size)
    at[k] += size
    consumed += size
  }
  return ranges
}

@Suite("DeviceRangeArray conforms")
struct DeviceMemoryConformanceTests {
  @Test func conformsInBothDirections() {
    var options = ConformanceOptions()
    options.operationsPerRun = 2_000
    let report = checkIterConformance(of: "DeviceRangeArray", options: options) { bytes, seed in
      try deviceRanges(holding: bytes, seed: seed)
    }
    report.recordIssues()
    #expect(report.isClean && report.layoutsChecked == options.sizes.count)
  }

  @Test(arguments: [IterDirection.source, .destination])
  func agreesWithTheModel(direction: IterDirection) throws {
    var rng = SeededGenerator(seed: TestSeed.base ^ 0xDE71CE ^ (direction == .source ? 1 : 2))
    for (index, total) in [0, 1, 4_000, 30_000].enumerated() {
      let seed = rng.next()
      let ranges = try deviceRanges(holding: randomBytes(total, seed: seed), seed: seed)
      try checkAgainstModel(
        ranges, direction: direction, operations: 5_000, seed: seed,
        label: "DeviceRangeArray #\(index) \(direction) (\(ranges.count) ranges, \(total) bytes)")
    }
  }

  /// In a chain with memory that can be retained, `.retain` is refused at the
  /// device member only, and the suite accepts that.
  @Test func aChainWithDeviceMemoryConforms() {
    var options = ConformanceOptions()
    options.operationsPerRun = 1_000
    let report = checkIterConformance(of: "IterChain(list, device)", options: options) { bytes, seed in
      let half = bytes.count / 2
      let ram = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, half), alignment: 64)
      ram.copyBytes(from: bytes[..<half])
      _keep.append(ram)
      let chain = IterChain(direction: .source)
      try chain.append(UnsafeSegmentList([IterSegment(base: ram.baseAddress, count: half)]))
      try chain.append(try deviceRanges(holding: Array(bytes[half...]), seed: seed))
      return chain
    }
    report.recordIssues()
    #expect(report.isClean)
  }
}

/// RAM the chain test lends out; kept for the process's life.
nonisolated(unsafe) var _keep: [UnsafeMutableRawBufferPointer] = []

/// `n` bytes drawn from `seed`.
func randomBytes(_ n: Int, seed: UInt64) -> [UInt8] {
  var rng = SeededGenerator(seed: seed)
  return (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
}
