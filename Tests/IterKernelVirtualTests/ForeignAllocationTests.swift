//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterKernelVirtual
import Synchronization
import Testing

/// Memory owned outside the library: a malloc'd buffer freed by its owner's
/// `deinit`, which counts in `Flag.freedOwners` that it ran.
final class MallocOwner: @unchecked Sendable {
  let bytes: UnsafeMutableRawBufferPointer

  init(_ contents: [UInt8]) {
    bytes = .allocate(byteCount: contents.count, alignment: 1)
    contents.withUnsafeBytes { bytes.copyMemory(from: $0) }
  }
  deinit {
    Flag.freedOwners.add(1, ordering: .relaxed)
    bytes.deallocate()
  }
}

enum Flag {
  static let freedOwners = Atomic<Int>(0)
}

@Suite("ForeignAllocation", .serialized)
struct ForeignAllocationTests {
  @Test func aNegativeCountIsRefusedAndHoldsNothing() {
    var owner = MallocOwner([1, 2, 3])
    #expect(throws: IterError.negativeCount(argument: "count", value: -1)) {
      _ = try ForeignAllocation(unsafeBase: owner.bytes.baseAddress!, count: -1, owner: owner)
    }
    #expect(isKnownUniquelyReferenced(&owner))
  }

  @Test func aKVecArrayOverForeignMemoryReadsAndWritesIt() throws {
    let owner = MallocOwner(Array(0..<100))
    let allocation = try ForeignAllocation(unsafeBase: owner.bytes.baseAddress!, count: 100, owner: owner)
    #expect(allocation.byteCount == 100 && allocation.address == UInt(bitPattern: owner.bytes.baseAddress!))
    let kvecs = try KVecArray([KVec(allocation, offset: 10, count: 20), KVec(allocation, offset: 90, count: 10)])
    var reader = try IovIter(kvecs, direction: .source)
    #expect(try reader.read(upTo: 100) == Array(10..<30) + Array(90..<100))
    var writer = try IovIter(kvecs, direction: .destination)
    try writer.writeFull([UInt8](repeating: 0xEE, count: 30))
    #expect(owner.bytes[10] == 0xEE && owner.bytes[9] == 9 && owner.bytes[99] == 0xEE)
    // An entry past the foreign memory is refused like one past a slab object.
    #expect(throws: IterError.self) { try KVecArray([KVec(allocation, offset: 90, count: 11)]) }
  }

  /// The owner outlives every reference but the retention, and its bytes
  /// can still be read through the extracted pages; the release frees it.
  @Test func aRetentionAloneKeepsTheOwnerAlive() throws {
    let freedBefore = Flag.freedOwners.load(ordering: .relaxed)
    var pages: [IterPage] = []
    var offset = 0
    let retention: IterRetention
    do {
      let owner = MallocOwner(Array(repeating: 0x5A, count: 64) + Array(0..<64))
      let allocation = try ForeignAllocation(unsafeBase: owner.bytes.baseAddress!, count: 128, owner: owner)
      var iter = try IovIter(try KVecArray([KVec(allocation, offset: 64, count: 64)]), direction: .source)
      let extraction = try iter.extractPages(maxBytes: 64, maxPages: 4)
      #expect(extraction.retentionKind == .ownerReference && extraction.count == 64)
      #expect(allocation.extractionRetentionCount == 1)
      pages = extraction.pages
      offset = extraction.offset
      retention = extraction.takeRetention()
    }
    #expect(Flag.freedOwners.load(ordering: .relaxed) == freedBefore)
    // Read the bytes through the pages the extraction listed.
    let start = UnsafeRawPointer(bitPattern: pages[0].address)! + offset
    let read = (0..<64).map { start.load(fromByteOffset: $0, as: UInt8.self) }
    #expect(read == Array(0..<64))
    retention.release()
    #expect(Flag.freedOwners.load(ordering: .relaxed) == freedBefore + 1)
  }

  @Test func ownerRetentionCountsEachHoldOnce() throws {
    let owner = MallocOwner([7])
    let allocation = try ForeignAllocation(unsafeBase: owner.bytes.baseAddress!, count: 1, owner: owner)
    var first = Optional(allocation.ownerRetention())
    let second = allocation.ownerRetention()
    #expect(second.kind == .ownerReference && allocation.extractionRetentionCount == 2)
    first = nil
    #expect(allocation.extractionRetentionCount == 1)
    second.release()
    #expect(allocation.extractionRetentionCount == 0)
    _ = first
    #expect(allocation.description.hasPrefix("foreign 0x") && allocation.description.hasSuffix("+1"))
  }
}
