//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterKernelVirtual
import Testing

@Suite("SlabAllocator")
struct SlabAllocatorTests {
  let pageSize = IterPage.size

  // MARK: - Size classes

  @Test func strideAndObjectsPerPageFollowTheSizeAndAlignment() throws {
    let small = try SlabAllocator(objectSize: 64)
    #expect(small.objectSize == 64)
    #expect(small.objectStride == 64)
    #expect(small.objectsPerPage == pageSize / 64)

    let odd = try SlabAllocator(objectSize: 100)
    #expect(odd.objectStride == 104)
    #expect(odd.objectsPerPage == pageSize / 104)

    let aligned = try SlabAllocator(objectSize: 100, alignment: 256)
    #expect(aligned.objectStride == 256)

    let half = try SlabAllocator(objectSize: pageSize / 2, alignment: 1)
    #expect(half.objectsPerPage == 2)
  }

  @Test func badSizesAndAlignmentsAreTypedErrors() {
    let half = pageSize / 2
    let reason = "at most \(half) (half a page) so that objects share pages"
    #expect(throws: IterError.negativeCount(argument: "objectSize", value: -1)) {
      try SlabAllocator(objectSize: -1)
    }
    #expect(
      throws: IterError.invalidArgument(
        argument: "objectSize", value: 0, reason: "an object holds at least one byte")
    ) { try SlabAllocator(objectSize: 0) }
    #expect(
      throws: IterError.invalidArgument(argument: "objectSize", value: half + 1, reason: reason)
    ) {
      try SlabAllocator(objectSize: half + 1)
    }
    #expect(throws: IterError.invalidArgument(argument: "objectSize", value: .max, reason: reason)) {
      try SlabAllocator(objectSize: .max)
    }
    #expect(throws: IterError.negativeCount(argument: "alignment", value: -8)) {
      try SlabAllocator(objectSize: 8, alignment: -8)
    }
    for alignment in [0, 3, 12] {
      #expect(
        throws: IterError.invalidArgument(
          argument: "alignment", value: alignment, reason: "must be a power of two")
      ) { try SlabAllocator(objectSize: 8, alignment: alignment) }
    }
    #expect(
      throws: IterError.invalidArgument(argument: "alignment", value: pageSize, reason: reason)
    ) {
      try SlabAllocator(objectSize: 8, alignment: pageSize)
    }
  }

  // MARK: - Packing

  @Test(arguments: [8, 64, 100, 2048])
  func severalObjectsSharePages(objectSize: Int) throws {
    let cache = try SlabAllocator(objectSize: objectSize)
    #expect(cache.pageCount == 0)
    var objects: [SlabObject] = []
    for _ in 0..<cache.objectsPerPage { objects.append(try cache.allocate()) }
    #expect(cache.pageCount == 1)
    #expect(cache.liveObjectCount == cache.objectsPerPage)
    let page = IterPage(containing: objects[0].address)
    let addresses = objects.map(\.address).sorted()
    for (k, address) in addresses.enumerated() {
      #expect(IterPage(containing: address) == page)
      #expect(IterPage(containing: address + UInt(objectSize - 1)) == page)
      #expect(address % 8 == 0)
      if k > 0 { #expect(address - addresses[k - 1] == UInt(cache.objectStride)) }
    }
    #expect(objects.allSatisfy { $0.byteCount == objectSize })

    let next = try cache.allocate()
    #expect(cache.pageCount == 2)
    #expect(IterPage(containing: next.address) != page)
    #expect(cache.liveObjectCount == cache.objectsPerPage + 1)
  }

  @Test func objectsAreMappedAndWritable() throws {
    let cache = try SlabAllocator(objectSize: 200)
    let a = try cache.allocate()
    let b = try cache.allocate()
    #expect(ProcessMaps.permissions(containing: a.address)?.hasPrefix("rw") == true)
    _ = a.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0xA5) }
    _ = b.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0x3C) }
    a.bytes.withUnsafeBytes { #expect($0.count == 200 && $0.allSatisfy { $0 == 0xA5 }) }
    b.bytes.withUnsafeBytes { #expect($0.count == 200 && $0.allSatisfy { $0 == 0x3C }) }
  }

  // MARK: - Freeing and reuse

  @Test func aFreedSlotIsReusedFirst() throws {
    let cache = try SlabAllocator(objectSize: 48)
    var a: SlabObject? = try cache.allocate()
    let b = try cache.allocate()
    let freed = a!.address
    #expect(cache.liveObjectCount == 2)
    a = nil
    #expect(cache.liveObjectCount == 1)
    let c = try cache.allocate()
    #expect(c.address == freed)
    #expect(c.address != b.address)
    #expect(cache.liveObjectCount == 2)
    #expect(cache.pageCount == 1)
  }

  @Test func reusedSlotsKeepOldBytesUnlessZeroed() throws {
    let cache = try SlabAllocator(objectSize: 32)
    let keep = try cache.allocate()  // keeps the page from being emptied
    var a: SlabObject? = try cache.allocate()
    _ = a!.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0xEE) }
    let address = a!.address
    a = nil
    let dirty = try cache.allocate()
    #expect(dirty.address == address)
    dirty.bytes.withUnsafeBytes { #expect($0.allSatisfy { $0 == 0xEE }) }
    withExtendedLifetime(keep) {}
  }

  @Test func zeroedAllocationClearsAReusedSlot() throws {
    let cache = try SlabAllocator(objectSize: 32)
    let keep = try cache.allocate()
    var a: SlabObject? = try cache.allocate()
    _ = a!.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0xEE) }
    let address = a!.address
    a = nil
    let clean = try cache.allocate(zeroed: true)
    #expect(clean.address == address)
    clean.bytes.withUnsafeBytes { #expect($0.allSatisfy { $0 == 0 }) }
    withExtendedLifetime(keep) {}
  }

  @Test func emptyPagesAreUnmappedBeyondOneCachedPage() throws {
    let cache = try SlabAllocator(objectSize: 1024)  // 4 per 4 KiB page
    var objects: [SlabObject] = []
    for _ in 0..<(3 * cache.objectsPerPage) { objects.append(try cache.allocate()) }
    #expect(cache.pageCount == 3)
    #expect(cache.emptyPageCount == 0)
    let pages = Set(objects.map { IterPage(containing: $0.address) })
    #expect(pages.count == 3)

    objects.removeAll()
    #expect(cache.liveObjectCount == 0)
    #expect(cache.pageCount == 1)
    #expect(cache.emptyPageCount == 1)

    // The cached page serves the next allocation without a new mapping.
    let one = try cache.allocate()
    #expect(cache.pageCount == 1)
    #expect(cache.emptyPageCount == 0)
    #expect(pages.contains(IterPage(containing: one.address)))
    #expect(cache.shrink() == 0)
    #expect(cache.pageCount == 1)
  }

  @Test func shrinkUnmapsTheCachedPage() throws {
    let cache = try SlabAllocator(objectSize: 64)
    var object: SlabObject? = try cache.allocate()
    let address = object!.address
    object = nil
    #expect(cache.pageCount == 1)
    #expect(ProcessMaps.isMapped(address, count: 1))
    #expect(cache.shrink() == 1)
    #expect(cache.pageCount == 0)
    #expect(cache.emptyPageCount == 0)
    #expect(cache.shrink() == 0)
    let fresh = try cache.allocate()
    #expect(cache.pageCount == 1)
    #expect(cache.liveObjectCount == 1)
    withExtendedLifetime(fresh) {}
  }

  @Test func objectsKeepTheirAllocatorAlive() throws {
    weak var weakCache: SlabAllocator?
    var object: SlabObject?
    do {
      let cache = try SlabAllocator(objectSize: 16)
      weakCache = cache
      object = try cache.allocate()
    }
    #expect(weakCache != nil)
    #expect(weakCache?.liveObjectCount == 1)
    #expect(object?.allocator === weakCache)
    object = nil
    #expect(weakCache == nil)
  }

  // MARK: - Threads

  @Test func concurrentAllocationAndFreeingNeverHandsOutALiveSlot() async throws {
    let cache = try SlabAllocator(objectSize: 24)
    let workers = 4
    let rounds = 2_000
    let failures = await withTaskGroup(of: Int.self) { group in
      for worker in 0..<workers {
        group.addTask {
          var failures = 0
          var live: [SlabObject] = []
          let mark = UInt8(worker + 1)
          for round in 0..<rounds {
            guard let object = try? cache.allocate() else {
              failures += 1
              continue
            }
            _ = object.withUnsafeMutableBytes {
              $0.initializeMemory(as: UInt8.self, repeating: mark)
            }
            live.append(object)
            if live.count > 40 || round % 7 == 0 {
              let victim = live.remove(at: (round * 31) % live.count)
              victim.bytes.withUnsafeBytes { if !$0.allSatisfy({ $0 == mark }) { failures += 1 } }
            }
          }
          for object in live {
            object.bytes.withUnsafeBytes { if !$0.allSatisfy({ $0 == mark }) { failures += 1 } }
          }
          return failures
        }
      }
      return await group.reduce(0, +)
    }
    #expect(failures == 0)
    #expect(cache.liveObjectCount == 0)
    #expect(cache.pageCount <= 1)
  }
}
