//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterTestSupport
import Testing

@Suite("Model-based: random operation sequences against a flat array")
struct ModelBasedTests {
  /// 12 layouts × 2 directions × 5,000 operations = 120,000 operations.
  @Test(arguments: [IterDirection.source, .destination])
  func randomLayouts(direction: IterDirection) throws {
    var rng = SeededGenerator(seed: TestSeed.base ^ (direction == .source ? 1 : 2))
    for layoutIndex in 0..<12 {
      let seed = rng.next()
      var layoutRNG = SeededGenerator(seed: seed)
      let total = [0, 1, 7, 300, 5000, 20000, 70000][layoutIndex % 7]
      let sizes = randomSegmentSizes(total: total, maxSegments: 200, using: &layoutRNG)
      let memory = TestMemory(size: TestMemory.sizeNeeded(for: sizes))
      let segments = memory.segments(sizes: sizes, gaps: layoutIndex % 2 == 0, using: &layoutRNG)
      try checkAgainstModel(
        UnsafeSegmentList(segments), direction: direction, operations: 5_000, seed: seed,
        label: "UnsafeSegmentList #\(layoutIndex) \(direction) (\(sizes.count) segments, \(total) bytes)")
      withExtendedLifetime(memory) {}
    }
  }

  /// A 1 MiB layout of 4 KiB pages with a few odd segments, both directions.
  @Test(arguments: [IterDirection.source, .destination])
  func oneMebibyteLayout(direction: IterDirection) throws {
    var rng = SeededGenerator(seed: TestSeed.base ^ 0x1_0000)
    var sizes = [Int](repeating: 4096, count: 255)
    sizes += [0, 1, 4095, 0]
    let memory = TestMemory(size: TestMemory.sizeNeeded(for: sizes))
    let segments = memory.segments(sizes: sizes, gaps: false, using: &rng)
    try checkAgainstModel(
      UnsafeSegmentList(segments), direction: direction, operations: 1_500, seed: rng.next(),
      label: "1 MiB \(direction)")
    withExtendedLifetime(memory) {}
  }
}
