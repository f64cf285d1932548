//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterTestSupport
import IterUser
import Testing

/// The outcome of one pin, with the hold released at once.
private func pinOutcome(address: UInt, count: Int) -> Result<IterRetentionKind, IterError> {
  outcome { () throws(IterError) in
    let hold = try UserPinRegistry.shared.pin(address: address, count: count)
    let kind = hold.kind
    hold.release()
    return kind
  }
}

/// `pin(address:count:)` checks its arguments and the process's mappings
/// before it locks anything, and names what is wrong with a typed error.
@Suite("Pinning checks the range first", .serialized, .pinsExclusively)
struct PinRangeTests {
  let registry = UserPinRegistry.shared

  @Test(arguments: [Int.min, -1])
  func negativeCountIsAnError(count: Int) {
    #expect(
      pinOutcome(address: 0x1000, count: count)
        == .failure(.negativeCount(argument: "count", value: count)))
  }

  @Test(arguments: [UInt(0), 0x1000, UInt.max])
  func zeroCountPinsNothing(address: UInt) {
    #expect(pinOutcome(address: address, count: 0) == .success(.none))
    #expect(registry.pinnedPageCount == 0)
  }

  @Test(
    arguments: [
      (UInt.max - 10, 11), (UInt.max, 1), (UInt.max, Int.max), (UInt(1) << 63 + 1, Int.max),
    ] as [(UInt, Int)])
  func rangeThatWrapsIsAnError(address: UInt, count: Int) {
    #expect(
      pinOutcome(address: address, count: count)
        == .failure(
          .invalidArgument(
            argument: "address", value: Int(bitPattern: address),
            reason: "\(count) bytes from here wrap past the end of the address space")))
  }

  /// Ranges nothing is mapped in: page 0, the top of the user address space,
  /// kernel addresses, and a range that runs from page 0 to the end.
  @Test(
    arguments: [
      (0, 1), (0, Int.max), (0x1000, 4096), (UInt(1) << 47 - 4096, 4096),
      (0xffff_8000_0000_0000, 1 << 40), (0xffff_ffff_ff60_0000, 4096),
    ] as [(UInt, Int)])
  func unmappedRangeIsABadAddress(address: UInt, count: Int) {
    let baseline = lockedKilobytes()
    let result = pinOutcome(address: address, count: count)
    guard case .failure(.badAddress(let at, let length, let reason)) = result else {
      Issue.record("expected badAddress, got \(result)")
      return
    }
    #expect(reason == "not mapped")
    #expect(at == address && length > 0 && length <= count)
    #expect(registry.pinnedPageCount == 0 && lockedKilobytes() == baseline)
  }

  @Test func protNoneIsABadAddressEvenWithCapIPCLock() throws {
    let baseline = lockedKilobytes()
    let m = MappedPages(pages: 4, reserveOnly: true)
    #expect(
      pinOutcome(address: m.address + 100, count: 2 * pageSize)
        == .failure(
          .badAddress(
            address: m.address + 100, count: 2 * pageSize, reason: "no access (PROT_NONE)")))
    #expect(registry.pinnedPageCount == 0 && lockedKilobytes() == baseline)
    #expect(!isLocked(m.address), "a failed pin must leave no lock behind")
  }

  /// Pages 0 and 1 readable, page 2 `PROT_NONE`, page 3 readable: the error
  /// names page 2 alone, and nothing is locked.
  @Test func protNonePageInsideARangeIsNamed() throws {
    let baseline = lockedKilobytes()
    let m = MappedPages(pages: 4)
    #expect(mprotect(m.pointer(2 * pageSize), pageSize, PROT_NONE) == 0)
    #expect(
      pinOutcome(address: m.address, count: 4 * pageSize)
        == .failure(
          .badAddress(
            address: m.address + 2 * UInt(pageSize), count: pageSize,
            reason: "no access (PROT_NONE)")))
    #expect(registry.pinnedPageCount == 0 && lockedKilobytes() == baseline)
    #expect(!isLocked(m.address))
    // A read-only page is accessible: mlock takes it.
    #expect(mprotect(m.pointer(2 * pageSize), pageSize, PROT_READ) == 0)
    #expect(pinOutcome(address: m.address, count: 4 * pageSize) == .success(.pin))
    #expect(lockedKilobytes() == baseline)
  }

  /// The hostile case: a range of terabytes. Before the check came first, the
  /// registry walked every page of it before the first `mlock` (about 100 ms
  /// per 4 GiB here, so minutes for the largest); now each fails at once.
  @Test(arguments: [30, 40, 46])
  func hugeBogusRangesFailFast(log2Size: Int) throws {
    let size = 1 << log2Size
    let reserved = mmap(nil, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
    try #require(
      reserved != MAP_FAILED && reserved != nil,
      "reserving 2^\(log2Size) bytes of address space failed: errno \(errno)")
    let address = UInt(bitPattern: reserved)
    let clock = ContinuousClock()
    var result: Result<IterRetentionKind, IterError> = .success(.none)
    let protNone = clock.measure { result = pinOutcome(address: address, count: size) }
    #expect(
      result
        == .failure(.badAddress(address: address, count: size, reason: "no access (PROT_NONE)")))
    // The same range once it is unmapped.
    #expect(munmap(reserved, size) == 0)
    let unmapped = clock.measure { result = pinOutcome(address: address, count: size) }
    guard case .failure(.badAddress(address, _, "not mapped")) = result else {
      Issue.record("expected badAddress not mapped, got \(result)")
      return
    }
    #expect(protNone < .milliseconds(200), "PROT_NONE 2^\(log2Size) bytes took \(protNone)")
    #expect(unmapped < .milliseconds(200), "unmapped 2^\(log2Size) bytes took \(unmapped)")
    #expect(registry.pinnedPageCount == 0)
  }

  /// A mapped, accessible range larger than the machine's memory could never
  /// be locked; it is refused before any page is looked at.
  @Test func rangeLargerThanPhysicalMemoryIsRefused() throws {
    let physical = Int(sysconf(Int32(_SC_PHYS_PAGES))) * pageSize
    let size = (physical / pageSize + 1) * pageSize
    let p = mmap(
      nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
    try #require(p != MAP_FAILED && p != nil, "mmap of \(size) bytes failed: errno \(errno)")
    defer { munmap(p, size) }
    let result = pinOutcome(address: UInt(bitPattern: p), count: size)
    guard case .failure(.invalidArgument(argument: "count", value: size, let reason)) = result
    else {
      Issue.record("expected invalidArgument for count, got \(result)")
      return
    }
    #expect(reason.contains("physical memory"))
    #expect(registry.pinnedPageCount == 0)
  }
}
