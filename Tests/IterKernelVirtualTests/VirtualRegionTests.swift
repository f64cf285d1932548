//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterKernelVirtual
import Testing

@Suite("VirtualRegion")
struct VirtualRegionTests {
  let pageSize = IterPage.size

  @Test(arguments: [(1, 1), (4096, 1), (4097, 2), (10_000, 3), (1 << 20, 256)])
  func regionsAreWholePagesMappedUntilTheOwnerDies(request: Int, pages: Int) throws {
    let vm = VirtualAllocator()
    var region: VirtualRegion? = try vm.allocate(byteCount: request)
    let address = region!.address
    #expect(region!.byteCount == pages * pageSize)
    #expect(region!.pageCount == pages)
    #expect(address % UInt(pageSize) == 0)
    #expect(region!.pages == (0..<pages).map { IterPage(address: address + UInt($0 * pageSize)) })
    #expect(vm.liveRegionCount == 1)
    #expect(vm.mappedPageCount == pages)
    #expect(ProcessMaps.isMapped(address, count: pages * pageSize))
    #expect(ProcessMaps.permissions(containing: address)?.hasPrefix("rw") == true)
    // The guard page after the region cannot be touched, as after a vmalloc area.
    #expect(ProcessMaps.permissions(containing: address + UInt(pages * pageSize)) == "---p")

    region = nil
    #expect(vm.liveRegionCount == 0)
    #expect(vm.mappedPageCount == 0)
  }

  @Test func regionsAreZeroFilledAndWritableToTheLastByte() throws {
    let region = try VirtualAllocator().allocate(byteCount: 3 * pageSize)
    region.bytes.withUnsafeBytes { #expect($0.count == 3 * pageSize && $0.allSatisfy { $0 == 0 }) }
    region.withUnsafeMutableBytes { raw in
      for k in 0..<raw.count { raw[k] = UInt8(truncatingIfNeeded: k &* 7) }
    }
    region.bytes.withUnsafeBytes { raw in
      #expect(
        raw[0] == 0 && raw[1] == 7
          && raw[raw.count - 1] == UInt8(truncatingIfNeeded: (raw.count - 1) &* 7))
    }
  }

  @Test func countsFollowSeveralRegions() throws {
    let vm = VirtualAllocator()
    var regions: [VirtualRegion] = []
    for size in [1, 5000, 3 * pageSize] { regions.append(try vm.allocate(byteCount: size)) }
    #expect(vm.liveRegionCount == 3)
    #expect(vm.mappedPageCount == 1 + 2 + 3)
    regions.remove(at: 1)
    #expect(vm.liveRegionCount == 2)
    #expect(vm.mappedPageCount == 4)
    regions.removeAll()
    #expect(vm.liveRegionCount == 0)
    #expect(vm.mappedPageCount == 0)
  }

  @Test func badSizesAreTypedErrorsAndMapNothing() {
    let vm = VirtualAllocator()
    #expect(throws: IterError.negativeCount(argument: "byteCount", value: -1)) {
      try vm.allocate(byteCount: -1)
    }
    #expect(throws: IterError.negativeCount(argument: "byteCount", value: .min)) {
      try vm.allocate(byteCount: .min)
    }
    #expect(
      throws: IterError.invalidArgument(
        argument: "byteCount", value: 0, reason: "a region holds at least one byte")
    ) { try vm.allocate(byteCount: 0) }
    let limit = VirtualAllocator.maximumByteCount
    #expect(limit == (Int.max & ~(pageSize - 1)) - pageSize)
    for size in [Int.max, Int.max - 1, limit + 1] {
      #expect(throws: IterError.lengthOverflow(total: size, limit: limit)) {
        try vm.allocate(byteCount: size)
      }
    }
    // Within the arithmetic limit but far beyond the address space: mmap says ENOMEM.
    for size in [limit, 1 << 60] {
      #expect(throws: IterError.systemCall(name: "mmap", errno: ENOMEM)) {
        try vm.allocate(byteCount: size)
      }
    }
    #expect(vm.liveRegionCount == 0)
    #expect(vm.mappedPageCount == 0)
  }

  @Test func regionsKeepTheirAllocatorAlive() throws {
    weak var weakAllocator: VirtualAllocator?
    var region: VirtualRegion?
    do {
      let vm = VirtualAllocator()
      weakAllocator = vm
      region = try vm.allocate(byteCount: 1)
    }
    #expect(weakAllocator?.liveRegionCount == 1)
    #expect(region?.allocator === weakAllocator)
    region = nil
    #expect(weakAllocator == nil)
  }
}
