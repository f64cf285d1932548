//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterKernelVirtual
import Testing

@Suite("KVecArray")
struct KVecArrayTests {
  let pageSize = IterPage.size

  // MARK: - Validation

  @Test func entriesInsideTheirAllocationAreAccepted() throws {
    let cache = try SlabAllocator(objectSize: 64)
    let object = try cache.allocate()
    let region = try VirtualAllocator().allocate(byteCount: 2 * pageSize)
    let kvecs = try KVecArray([
      KVec(object),
      KVec(object, offset: 64, count: 0),  // empty, at the very end
      KVec(region, offset: 100, count: 2 * pageSize - 100),
      KVec(region, offset: 0, count: 0),
    ])
    #expect(kvecs.count == 4)
    #expect(kvecs.segmentCount == 4)
    #expect(kvecs.byteCount == 64 + 2 * pageSize - 100)
    #expect(
      kvecs.segment(at: 0)
        == IterSegment(base: UnsafeMutableRawPointer(bitPattern: object.address), count: 64))
    #expect(kvecs.segment(at: 2).address == region.address + 100)
    #expect(kvecs.segment(at: 2).count == 2 * pageSize - 100)
    #expect(kvecs[1].owner === object && kvecs[1].offset == 64 && kvecs[1].count == 0)
    #expect(kvecs[2].owner === region && kvecs[2].offset == 100)
    #expect(kvecs.entries.map(\.offset) == [0, 64, 100, 0])
    #expect(kvecs.entries.map(\.count) == [64, 0, 2 * pageSize - 100, 0])
  }

  /// (offset, count, reason) for a 64-byte object.
  static let badEntries: [(Int, Int, String)] = [
    (0, -1, "negative length"),
    (0, .min, "negative length"),
    (-1, 10, "negative offset -1"),
    (.min, 0, "negative offset \(Int.min)"),
    (0, 65, "offset 0 + length 65 runs past the end of a 64-byte allocation"),
    (60, 5, "offset 60 + length 5 runs past the end of a 64-byte allocation"),
    (65, 0, "offset 65 + length 0 runs past the end of a 64-byte allocation"),
    (1, .max, "offset 1 + length \(Int.max) runs past the end of a 64-byte allocation"),
    (.max, .max, "offset \(Int.max) + length \(Int.max) runs past the end of a 64-byte allocation"),
  ]

  @Test(arguments: badEntries)
  func badEntriesAreTypedErrorsAndLeaveTheArrayUnchanged(
    offset: Int, count: Int, reason: String
  ) throws {
    let cache = try SlabAllocator(objectSize: 64)
    let object = try cache.allocate()
    var kvecs = try KVecArray([
      KVec(object, offset: 0, count: 10), KVec(object, offset: 10, count: 20),
    ])
    let before = kvecs.entries.map { "\($0)" }
    #expect(throws: IterError.invalidSegment(index: 2, count: count, reason: reason)) {
      try kvecs.append(object, offset: offset, count: count)
    }
    #expect(kvecs.count == 2)
    #expect(kvecs.byteCount == 30)
    #expect(kvecs.entries.map { "\($0)" } == before)

    // Building a whole array names the bad entry's index and creates nothing.
    #expect(throws: IterError.invalidSegment(index: 1, count: count, reason: reason)) {
      try KVecArray([KVec(object), KVec(object, offset: offset, count: count), KVec(object)])
    }
  }

  @Test func regionBoundsAreTheWholePages() throws {
    let region = try VirtualAllocator().allocate(byteCount: 10)  // one page
    var kvecs = KVecArray()
    try kvecs.append(region, offset: pageSize - 1, count: 1)
    #expect(
      throws: IterError.invalidSegment(
        index: 1, count: 2,
        reason:
          "offset \(pageSize - 1) + length 2 runs past the end of a \(pageSize)-byte allocation")
    ) { try kvecs.append(region, offset: pageSize - 1, count: 2) }
    #expect(kvecs.count == 1)
  }

  // MARK: - Ownership

  @Test func theArrayKeepsItsOwnersAlive() throws {
    let cache = try SlabAllocator(objectSize: 128)
    let vm = VirtualAllocator()
    var kvecs: KVecArray? = try KVecArray([
      KVec(try cache.allocate()), KVec(try vm.allocate(byteCount: 5000)),
    ])
    #expect(cache.liveObjectCount == 1)
    #expect(vm.liveRegionCount == 1)
    var iter: IovIter<KVecArray>? = try IovIter(kvecs!, direction: .destination)
    kvecs = nil
    // The cursor's copy of the array still holds both owners.
    #expect(cache.liveObjectCount == 1)
    #expect(vm.liveRegionCount == 1)
    try iter!.write([UInt8](repeating: 0x42, count: iter!.count))
    iter = nil
    #expect(cache.liveObjectCount == 0)
    #expect(vm.liveRegionCount == 0)
  }

  // MARK: - Kind

  @Test func theKindIsKernelVirtualInBothDirectionsWithOwnerRetention() throws {
    let kvecs = try KVecArray([KVec(try SlabAllocator(objectSize: 8).allocate())])
    #expect(kvecs.memoryKind == .kernelVirtual)
    #expect(kvecs.supportedDirections == .both)
    for options: IterExtractionOptions in [[], [.retain], [.allowP2PDMA], [.retain, .allowP2PDMA]] {
      #expect(kvecs.retention(for: options) == .ownerReference)
    }
    #expect(!kvecs.extractionWillPin)
    let source = try IovIter(kvecs, direction: .source)
    let destination = try IovIter(kvecs, direction: .destination)
    #expect(source.memoryKind == .kernelVirtual)
    #expect(!destination.extractionWillPin)
  }

  // MARK: - Copies through a cursor

  @Test func bytesWrittenThroughACursorLandInTheAllocations() throws {
    let cache = try SlabAllocator(objectSize: 32)
    let a = try cache.allocate(zeroed: true)
    let b = try cache.allocate(zeroed: true)
    let region = try VirtualAllocator().allocate(byteCount: 2 * pageSize)
    let kvecs = try KVecArray([
      KVec(a, offset: 4, count: 20), KVec(b, offset: 0, count: 0),
      KVec(region, offset: pageSize - 10, count: 30), KVec(b, offset: 30, count: 2),
    ])
    let payload = (0..<52).map { UInt8($0 + 1) }
    var iter = try IovIter(kvecs, direction: .destination)
    #expect(try iter.write(payload) == 52)
    #expect(iter.count == 0)
    a.bytes.withUnsafeBytes { raw in
      #expect(Array(raw[0..<4]) == [0, 0, 0, 0])
      #expect(Array(raw[4..<24]) == Array(payload[0..<20]))
      #expect(raw[24..<32].allSatisfy { $0 == 0 })
    }
    region.bytes.withUnsafeBytes { raw in
      #expect(Array(raw[(pageSize - 10)..<(pageSize + 20)]) == Array(payload[20..<50]))
    }
    b.bytes.withUnsafeBytes { raw in #expect(Array(raw[30..<32]) == Array(payload[50..<52])) }

    var reader = try IovIter(kvecs, direction: .source)
    #expect(try reader.read(upTo: 100) == payload)
    #expect(throws: IterError.wrongDirection(operation: "copy_to_iter", direction: .source)) {
      try reader.write([1])
    }
  }
}
