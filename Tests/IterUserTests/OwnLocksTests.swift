//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterTestSupport
import IterUser
import Testing

/// `mlock2(2)`, which Glibc's Swift module does not declare, from the C library.
private let mlock2: (@convention(c) (UnsafeRawPointer?, Int, UInt32) -> Int32)? = {
  guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mlock2") else { return nil }
  return unsafeBitCast(symbol, to: (@convention(c) (UnsafeRawPointer?, Int, UInt32) -> Int32).self)
}()

/// Pinning memory the application has locked itself, with a real `mlock` by
/// the test on the same pages; `/proc/self/smaps` (`VmFlags: … lo`) says what
/// the kernel holds locked afterwards.
@Suite("The application's own locks", .serialized, .pinsExclusively)
struct OwnLocksTests {
  let registry = UserPinRegistry.shared

  /// The locked state of each page of `m`, from the kernel.
  func locks(_ m: MappedPages, _ pages: Int) -> [Bool] {
    (0..<pages).map { isLocked(m.address + UInt($0 * pageSize)) }
  }

  @Test func releaseKeepsTheApplicationsLock() throws {
    let m = MappedPages(pages: 4)
    #expect(mlock(m.pointer(pageSize), pageSize) == 0)
    defer { munlock(m.pointer(pageSize), pageSize) }
    let baseline = lockedKilobytes()
    #expect(locks(m, 4) == [false, true, false, false])
    var iter = try IovIter(importing: m.slice(10, 4 * pageSize - 20), direction: .source)
    let extraction = try iter.extractPages(maxBytes: .max, maxPages: 4)
    #expect(extraction.pages.count == 4)
    #expect(locks(m, 4) == [true, true, true, true])
    #expect((0..<4).map { registry._ownsLock(on: m.page($0)) } == [true, false, true, true])
    #expect(lockedKilobytes() == baseline + 3 * pageSize / 1024)
    extraction.release()
    #expect(locks(m, 4) == [false, true, false, false], "the application's lock must survive")
    #expect(lockedKilobytes() == baseline)
    #expect(registry.pinnedPageCount == 0)
  }

  @Test func wholeRangeLockedByTheApplicationStaysLocked() throws {
    let m = MappedPages(pages: 3)
    #expect(mlock(m.base, 3 * pageSize) == 0)
    defer { munlock(m.base, 3 * pageSize) }
    let baseline = lockedKilobytes()
    let first = try registry.pin(address: m.address, count: 3 * pageSize)
    let second = try registry.pin(address: m.address + 5, count: pageSize)
    #expect((0..<3).map { registry._ownsLock(on: m.page($0)) } == [false, false, false])
    #expect(lockedKilobytes() == baseline)
    first.release()
    second.release()
    #expect(locks(m, 3) == [true, true, true])
    #expect(lockedKilobytes() == baseline)
  }

  /// Page 0 pinned by the registry, page 2 locked by the application, then a
  /// pin of pages 0...3: only pages 1 and 3 are the registry's new locks.
  @Test func applicationLockBesideRegistryPinsIsTold() throws {
    let m = MappedPages(pages: 4)
    let baseline = lockedKilobytes()
    let held = try registry.pin(address: m.address, count: 1)
    #expect(mlock(m.pointer(2 * pageSize), pageSize) == 0)
    defer { munlock(m.pointer(2 * pageSize), pageSize) }
    let all = try registry.pin(address: m.address, count: 4 * pageSize)
    #expect((0..<4).map { registry._ownsLock(on: m.page($0)) } == [true, true, false, true])
    #expect((0..<4).map { registry.pinCount(of: m.page($0)) } == [2, 1, 1, 1])
    #expect(lockedKilobytes() == baseline + 4 * pageSize / 1024)
    all.release()
    #expect(locks(m, 4) == [true, false, true, false])
    held.release()
    #expect(locks(m, 4) == [false, false, true, false])
    #expect(lockedKilobytes() == baseline + pageSize / 1024)
  }

  /// The documented limit: the kernel keeps one lock flag per page, so a lock
  /// the application takes *after* the registry locked the page cannot be
  /// told from the registry's, and the last release unlocks it.
  @Test func applicationLockTakenAfterThePinEndsWithTheRelease() throws {
    let m = MappedPages(pages: 1)
    let pin = try registry.pin(address: m.address, count: 1)
    #expect(registry._ownsLock(on: m.page(0)) == true)
    #expect(mlock(m.base, pageSize) == 0)
    pin.release()
    #expect(!isLocked(m.address), "documented: the registry cannot see a later lock")
  }

  @Test(
    .enabled(if: mlock2 != nil, "skipped: this C library has no mlock2"))
  func onFaultLockStaysLocked() throws {
    let m = MappedPages(pages: 2)
    #expect(mlock2!(m.base, 2 * pageSize, UInt32(1)) == 0)  // MLOCK_ONFAULT
    defer { munlock(m.base, 2 * pageSize) }
    #expect(vmFlags(containing: m.address)?.isSuperset(of: ["lo", "lf"]) == true)
    let pin = try registry.pin(address: m.address, count: 2 * pageSize)
    #expect(registry._ownsLock(on: m.page(0)) == false)
    pin.release()
    #expect(locks(m, 2) == [true, true])
  }

  /// `mlockall` locks every mapping; in a child process, so that the locks do
  /// not reach the other tests. `MCL_ONFAULT` keeps it from faulting in the
  /// whole test binary.
  @Test func mlockallLocksSurviveAPin() async {
    await #expect(processExitsWith: .success) {
      let m = MappedPages(pages: 3)
      guard mlockall(MCL_CURRENT | MCL_ONFAULT) == 0 else { exit(20) }
      guard isLocked(m.address) else { exit(21) }
      let pin = try UserPinRegistry.shared.pin(address: m.address + 1, count: 2 * pageSize)
      guard UserPinRegistry.shared._ownsLock(on: m.page(0)) == false else { exit(22) }
      pin.release()
      guard isLocked(m.address), isLocked(m.address + UInt(pageSize)) else { exit(23) }
    }
  }

  /// A pin that fails part-way (the second run of new pages exceeds
  /// `RLIMIT_MEMLOCK`) undoes the first run, but not the application's lock
  /// inside it, nor an earlier pin. Needs the limit enforced: a child that
  /// gives up root (and `CAP_IPC_LOCK`).
  @Test(
    .enabled(if: getuid() == 0, "skipped: needs root to drop CAP_IPC_LOCK by changing uid"))
  func failedPinKeepsTheApplicationsLock() async {
    await #expect(processExitsWith: .success) {
      let registry = UserPinRegistry.shared
      let m = MappedPages(pages: 10)
      guard mlock(m.pointer(pageSize), pageSize) == 0 else { exit(30) }  // the application's
      let held = try registry.pin(address: m.address + 5 * UInt(pageSize), count: 1)  // page 5
      guard setgroups(0, nil) == 0, setgid(65534) == 0, setuid(65534) == 0 else { exit(31) }
      guard !hasIPCLockCapability() else { exit(32) }
      let baseline = lockedKilobytes()  // pages 1 and 5, and whatever else is locked
      var limit = memlockLimit()
      // Runs [0...4] (4 new pages: page 1 is already locked) fit; [6...9] do not.
      limit.rlim_cur = rlim_t(baseline * 1024 + 5 * pageSize)
      guard setMemlockLimit(limit) else { exit(33) }
      #expect(
        throws: IterError.resourceLimit(
          resource: "RLIMIT_MEMLOCK", requested: 10 * pageSize, limit: Int(limit.rlim_cur),
          errno: ENOMEM)
      ) {
        _ = try registry.pin(address: m.address, count: 10 * pageSize)
      }
      let kernel = (0..<10).map { isLocked(m.address + UInt($0 * pageSize)) }
      #expect(kernel == (0..<10).map { $0 == 1 || $0 == 5 })
      #expect(lockedKilobytes() == baseline)
      #expect(
        (0..<10).map { registry.pinCount(of: m.page($0)) } == (0..<10).map { $0 == 5 ? 1 : 0 })
      held.release()
    }
  }
}
