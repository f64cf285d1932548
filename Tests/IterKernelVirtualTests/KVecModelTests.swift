//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterKernelVirtual
import IterTestSupport
import Testing

@Suite("KVecArray against the model")
struct KVecModelTests {
  /// Builds a random kvec array whose entries have the given sizes: small
  /// ones in slab objects of several size classes (at random offsets), the
  /// rest in virtual regions, sometimes one region per entry and sometimes
  /// several entries carved out of one region, back to back or with gaps.
  /// No two entries overlap, so the flat model stays exact.
  static func randomKVecs(
    sizes: [Int], caches: [SlabAllocator], vm: VirtualAllocator, using rng: inout SeededGenerator
  ) throws -> KVecArray {
    let pageSize = IterPage.size
    var kvecs = KVecArray()
    var shared: VirtualRegion? = nil
    var sharedAt = 0
    for size in sizes {
      let fitting = caches.filter { $0.objectSize >= size }
      switch Int.random(in: 0..<3, using: &rng) {
      case 0 where !fitting.isEmpty:
        let cache = fitting.randomElement(using: &rng)!
        let object = try cache.allocate()
        let offset = Int.random(in: 0...(object.byteCount - size), using: &rng)
        try kvecs.append(object, offset: offset, count: size)
      case 1:
        let slack = Int.random(in: 0..<pageSize, using: &rng)
        let region = try vm.allocate(byteCount: max(1, size + slack))
        let offset = Int.random(in: 0...(region.byteCount - size), using: &rng)
        try kvecs.append(region, offset: offset, count: size)
      default:
        let gap = Bool.random(using: &rng) ? 0 : Int.random(in: 1...100, using: &rng)
        if shared == nil || sharedAt + gap + size > shared!.byteCount {
          shared = try vm.allocate(byteCount: max(64 * 1024, size))
          sharedAt = 0
        }
        try kvecs.append(shared!, offset: sharedAt + gap, count: size)
        sharedAt += gap + size
      }
    }
    return kvecs
  }

  /// 5 layouts × 2 directions × 10,000 operations = 100,000 operations.
  @Test(arguments: [IterDirection.source, .destination])
  func randomLayoutsMixingSlabObjectsAndRegions(direction: IterDirection) throws {
    let caches = try [8, 64, 192, 512, 2048].map { try SlabAllocator(objectSize: $0) }
    let vm = VirtualAllocator()
    var rng = SeededGenerator(seed: TestSeed.base ^ 0x4B56_4543 ^ (direction == .source ? 1 : 2))
    for (index, total) in [0, 300, 5_000, 20_000, 70_000].enumerated() {
      let seed = rng.next()
      var layoutRNG = SeededGenerator(seed: seed)
      let sizes = randomSegmentSizes(total: total, maxSegments: 150, using: &layoutRNG)
      let kvecs = try Self.randomKVecs(sizes: sizes, caches: caches, vm: vm, using: &layoutRNG)
      #expect(kvecs.byteCount == total)
      // The model checks that every extraction's release returns this to 0.
      let held: @Sendable () -> Int = {
        caches.reduce(vm.extractionRetentionCount) { $0 + $1.extractionRetentionCount }
      }
      try checkAgainstModel(
        kvecs, direction: direction, operations: 10_000, seed: seed,
        label: "KVecArray #\(index) \(direction) (\(sizes.count) kvecs, \(total) bytes)",
        retentionProbe: held)
      #expect(held() == 0)
    }
    // Every allocation went away with its array.
    #expect(caches.allSatisfy { $0.liveObjectCount == 0 })
    #expect(vm.liveRegionCount == 0)
  }
}
