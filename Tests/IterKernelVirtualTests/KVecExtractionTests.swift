//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterKernelVirtual
import Testing

@Suite("KVecArray extraction")
struct KVecExtractionTests {
  let pageSize = IterPage.size

  struct Run: Equatable, CustomStringConvertible {
    var pages: [UInt]
    var offset: Int
    var count: Int
    var description: String { "\(count)@\(offset) \(pages.map { String($0, radix: 16) })" }
  }

  /// Extracts until the cursor is empty (or `limit` calls), checking the
  /// retention kind of every call.
  func drain(
    _ iter: inout IovIter<KVecArray>, maxBytes: Int = .max, maxPages: Int,
    options: IterExtractionOptions = [], limit: Int = 100
  ) throws -> [Run] {
    var runs: [Run] = []
    for _ in 0..<limit where iter.count > 0 {
      let before = iter.count
      let extraction = try iter.extractPages(
        maxBytes: maxBytes, maxPages: maxPages, options: options)
      #expect(extraction.retentionKind == .ownerReference)
      #expect(iter.count == before - extraction.count)
      runs.append(
        Run(
          pages: extraction.pages.map(\.address), offset: extraction.offset, count: extraction.count
        ))
      extraction.release()
    }
    return runs
  }

  func pages(_ start: UInt, _ n: Int) -> [UInt] {
    let first = start & ~UInt(pageSize - 1)
    return (0..<n).map { first + UInt($0 * pageSize) }
  }

  @Test func oneKVecPerCallWithPagesAndTheFirstOffsetOnly() throws {
    let cache = try SlabAllocator(objectSize: 64)
    let a = try cache.allocate()
    let b = try cache.allocate()
    let region = try VirtualAllocator().allocate(byteCount: 3 * pageSize)
    // a and b share one page: both runs list it, and nothing is taken on it.
    #expect(IterPage(containing: a.address) == IterPage(containing: b.address))
    let kvecs = try KVecArray([
      KVec(region, offset: 100, count: 3 * pageSize - 200),
      KVec(a, offset: 0, count: 0),
      KVec(a, offset: 8, count: 40),
      KVec(b),
      KVec(region, offset: 0, count: 10),
      // Two entries that follow on in memory are still two runs.
      KVec(region, offset: 2 * pageSize, count: 50),
      KVec(region, offset: 2 * pageSize + 50, count: 50),
    ])
    var iter = try IovIter(kvecs, direction: .source)
    let runs = try drain(&iter, maxPages: 16)
    let r = region.address
    let expected = [
      Run(pages: pages(r, 3), offset: 100, count: 3 * pageSize - 200),
      Run(pages: pages(a.address, 1), offset: Int(a.address % UInt(pageSize)) + 8, count: 40),
      Run(pages: pages(b.address, 1), offset: Int(b.address % UInt(pageSize)), count: 64),
      Run(pages: pages(r, 1), offset: 0, count: 10),
      Run(pages: pages(r + UInt(2 * pageSize), 1), offset: 0, count: 50),
      Run(pages: pages(r + UInt(2 * pageSize), 1), offset: 50, count: 50),
    ]
    #expect(runs == expected)
    #expect(iter.count == 0)
    let end = try iter.extractPages(maxBytes: .max, maxPages: 4)
    #expect(end.count == 0 && end.pages.isEmpty && end.offset == 0)
  }

  @Test func maxPagesCutsARunAndTheNextCallStartsAPage() throws {
    let region = try VirtualAllocator().allocate(byteCount: 3 * pageSize)
    let kvecs = try KVecArray([KVec(region, offset: 100, count: 3 * pageSize - 200)])
    var iter = try IovIter(kvecs, direction: .destination)
    let r = region.address
    let runs = try drain(&iter, maxPages: 1, options: [.retain])
    #expect(
      runs == [
        Run(pages: [r], offset: 100, count: pageSize - 100),
        Run(pages: [r + UInt(pageSize)], offset: 0, count: pageSize),
        Run(pages: [r + UInt(2 * pageSize)], offset: 0, count: pageSize - 100),
      ])
  }

  @Test func maxBytesAndTruncationCutARun() throws {
    let region = try VirtualAllocator().allocate(byteCount: 2 * pageSize)
    let kvecs = try KVecArray([KVec(region, offset: pageSize - 20, count: 100), KVec(region)])
    var iter = try IovIter(kvecs, direction: .source)
    let r = region.address
    let p = UInt(pageSize)
    // A run may cross pages inside its kvec: only its first page has an offset.
    #expect(
      try drain(&iter, maxBytes: 30, maxPages: 8, limit: 1) == [
        Run(pages: [r, r + p], offset: pageSize - 20, count: 30)
      ])
    #expect(
      try drain(&iter, maxBytes: 30, maxPages: 8, limit: 1) == [
        Run(pages: [r + p], offset: 10, count: 30)
      ])
    try iter.truncate(to: 10)
    #expect(try drain(&iter, maxPages: 8) == [Run(pages: [r + p], offset: 40, count: 10)])
    #expect(iter.reexpandLimit == 30 + 2 * pageSize)
    try iter.reexpand(to: 30 + 2 * pageSize)
    #expect(
      try drain(&iter, maxPages: 8) == [
        Run(pages: [r + p], offset: 50, count: 30),
        Run(pages: [r, r + p], offset: 0, count: 2 * pageSize),
      ])
  }

  @Test func badArgumentsAreTypedErrorsAndLeaveTheCursorUnchanged() throws {
    let kvecs = try KVecArray([KVec(try VirtualAllocator().allocate(byteCount: 1))])
    var iter = try IovIter(kvecs, direction: .source)
    let state = iter.saveState()
    #expect(throws: IterError.negativeCount(argument: "maxBytes", value: -1)) {
      _ = try iter.extractPages(maxBytes: -1, maxPages: 1)
    }
    #expect(
      throws: IterError.invalidArgument(
        argument: "maxPages", value: 0, reason: "must be at least 1")
    ) {
      _ = try iter.extractPages(maxBytes: 10, maxPages: 0)
    }
    #expect(iter.saveState() == state)
    let nothing = try iter.extractPages(maxBytes: 0, maxPages: 1)
    #expect(nothing.count == 0 && nothing.retentionKind == .none)
    #expect(iter.saveState() == state)
  }

  // MARK: - Owner retention

  /// Builds an array over one fresh allocation, a cursor over it, extracts
  /// one run, and lets everything but the extraction go.
  func extractFromOnly(
    _ allocate: () throws -> KernelVirtualAllocation, options: IterExtractionOptions,
    address: inout UInt
  ) throws -> IterExtraction {
    let owner = try allocate()
    address = owner.address
    var iter = try IovIter(try KVecArray([KVec(owner)]), direction: .destination)
    let extraction = try iter.extractPages(maxBytes: .max, maxPages: 64, options: options)
    return extraction
  }

  @Test(arguments: [IterExtractionOptions(), [.retain], [.allowP2PDMA]])
  func aSlabObjectHeldOnlyByARetentionStaysAliveUntilRelease(options: IterExtractionOptions) throws {
    let cache = try SlabAllocator(objectSize: 512)
    let neighbour = try cache.allocate()  // keeps the page mapped either way
    var address: UInt = 0
    let extraction = try extractFromOnly(
      { try cache.allocate() }, options: options, address: &address)
    #expect(extraction.retentionKind == .ownerReference)
    #expect(extraction.count == 512)
    #expect(cache.liveObjectCount == 2)
    #expect(cache.extractionRetentionCount == 1)
    // The slot is still the object's: a new allocation must not get it.
    let other = try cache.allocate()
    #expect(other.address != address)
    // The listed page is usable through the extraction alone.
    let p = UnsafeMutableRawPointer(
      bitPattern: extraction.pages[0].address + UInt(extraction.offset))!
    p.storeBytes(of: 0x77, as: UInt8.self)
    #expect(p.load(as: UInt8.self) == 0x77)

    extraction.release()
    #expect(cache.liveObjectCount == 2)  // neighbour and other
    #expect(cache.extractionRetentionCount == 0)
    let reused = try cache.allocate()
    #expect(reused.address == address)
    withExtendedLifetime((neighbour, other, reused)) {}
  }

  @Test func aRegionHeldOnlyByARetentionStaysMappedUntilRelease() throws {
    let vm = VirtualAllocator()
    var address: UInt = 0
    let extraction = try extractFromOnly(
      { try vm.allocate(byteCount: 3 * pageSize) }, options: [], address: &address)
    #expect(extraction.count == 3 * pageSize)
    #expect(extraction.pages.map(\.address) == pages(address, 3))
    #expect(vm.liveRegionCount == 1)
    #expect(vm.mappedPageCount == 3)
    #expect(vm.extractionRetentionCount == 1)
    #expect(ProcessMaps.isMapped(address, count: 3 * pageSize))
    // Touch the last byte only if it is mapped, so that a regression fails
    // the test instead of crashing the process.
    if ProcessMaps.isMapped(address, count: 3 * pageSize) {
      let last = UnsafeMutableRawPointer(bitPattern: address + UInt(3 * pageSize - 1))!
      last.storeBytes(of: 0x5A, as: UInt8.self)
      #expect(last.load(as: UInt8.self) == 0x5A)
    }

    extraction.release()
    #expect(vm.extractionRetentionCount == 0)
    #expect(vm.liveRegionCount == 0)
    #expect(vm.mappedPageCount == 0)
  }

  @Test func theEndOfARetentionsLifeReleasesIt() throws {
    let cache = try SlabAllocator(objectSize: 64)
    do {
      var address: UInt = 0
      let extraction = try extractFromOnly(
        { try cache.allocate() }, options: [.retain], address: &address)
      #expect(cache.liveObjectCount == 1)
      #expect(cache.extractionRetentionCount == 1)
      #expect(extraction.count == 64)
    }
    #expect(cache.extractionRetentionCount == 0)
    #expect(cache.liveObjectCount == 0)
  }

  @Test func eachRetentionHoldsTheOwnerOnItsOwn() throws {
    let vm = VirtualAllocator()
    var first: IterExtraction?
    var second: IterExtraction?
    do {
      let region = try vm.allocate(byteCount: 2 * pageSize)
      var iter = try IovIter(
        try KVecArray([
          KVec(region, offset: 0, count: pageSize), KVec(region, offset: pageSize, count: pageSize),
        ]),
        direction: .source)
      first = try iter.extractPages(maxBytes: .max, maxPages: 8)
      second = try iter.extractPages(maxBytes: .max, maxPages: 8)
    }
    #expect(vm.liveRegionCount == 1)
    #expect(vm.extractionRetentionCount == 2)
    first.take()!.release()
    #expect(vm.liveRegionCount == 1)
    #expect(vm.extractionRetentionCount == 1)
    #expect(second?.pages.count == 1)
    second = nil
    #expect(vm.extractionRetentionCount == 0)
    #expect(vm.liveRegionCount == 0)
  }

  @Test func extractionFromMixedKindsHoldsEachRunsOwner() throws {
    let cache = try SlabAllocator(objectSize: 100)
    let vm = VirtualAllocator()
    var iter = try IovIter(
      try KVecArray([KVec(try cache.allocate()), KVec(try vm.allocate(byteCount: 1))]),
      direction: .source)
    let slabRun = try iter.extractPages(maxBytes: .max, maxPages: 8)
    let regionRun = try iter.extractPages(maxBytes: .max, maxPages: 8)
    iter = try IovIter(KVecArray(), direction: .source)
    #expect(slabRun.count == 100 && regionRun.count == pageSize)
    #expect(cache.liveObjectCount == 1 && vm.liveRegionCount == 1)
    #expect(cache.extractionRetentionCount == 1 && vm.extractionRetentionCount == 1)
    regionRun.release()
    #expect(cache.liveObjectCount == 1 && vm.liveRegionCount == 0)
    #expect(cache.extractionRetentionCount == 1 && vm.extractionRetentionCount == 0)
    slabRun.release()
    #expect(cache.liveObjectCount == 0 && cache.extractionRetentionCount == 0)
  }
}
