//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterTestSupport
import IterUser
import Testing

/// Whether the kernel enforces `RLIMIT_MEMLOCK` on this process (it does not
/// when the process has `CAP_IPC_LOCK`, as root normally has).
let memlockLimitIsEnforced = !hasIPCLockCapability()

/// Everything that pins (and so changes `VmLck`) or changes `RLIMIT_MEMLOCK`
/// lives in this one serialized suite, so that no two such tests overlap.
@Suite("User pinning and extraction", .serialized, .pinsExclusively)
struct UserPinningTests {
  let registry = UserPinRegistry.shared

  /// One extraction as the test sees it.
  struct Run: Equatable, CustomStringConvertible {
    var pages: [UInt]
    var offset: Int
    var count: Int
    var description: String {
      "Run(pages: \(pages.map { "0x" + String($0, radix: 16) }), offset: \(offset), count: \(count))"
    }
  }

  /// Extracts until the cursor is empty, releasing each pin, and returns the runs.
  func drain<S: IterSegmentSource>(
    _ iter: inout IovIter<S>, maxBytes: Int, maxPages: Int
  ) throws -> [Run] {
    var runs: [Run] = []
    while !iter.isEmpty {
      let extraction = try iter.extractPages(maxBytes: maxBytes, maxPages: maxPages)
      #expect(extraction.retentionKind == .pin)
      runs.append(
        Run(
          pages: extraction.pages.map(\.address), offset: extraction.offset, count: extraction.count
        ))
      extraction.release()
      if runs.count > 10_000 {
        Issue.record("extraction does not progress")
        break
      }
    }
    return runs
  }

  // MARK: - Extraction call sequences

  @Test func iovecExtractionListsOneEntryPerCall() throws {
    let m = MappedPages(pages: 8)
    let a = m.address
    let p = UInt(pageSize)
    let table = [
      iovec(iov_base: m.pointer(100), iov_len: 50),  // inside page 0
      iovec(iov_base: nil, iov_len: 0),  // empty: skipped
      iovec(iov_base: m.pointer(150), iov_len: 10),  // contiguous with the first, still its own run
      iovec(iov_base: m.pointer(2 * pageSize - 10), iov_len: 30),  // crosses pages 1 and 2
      iovec(iov_base: m.pointer(3 * pageSize), iov_len: 0),  // empty
      iovec(iov_base: m.pointer(3 * pageSize), iov_len: 2 * pageSize + 5),  // pages 3, 4, 5
    ]
    var iter = try table.withUnsafeBufferPointer {
      try IovIter<UserIOVecArray>(importing: $0, direction: .source)
    }
    let runs = try drain(&iter, maxBytes: .max, maxPages: 16)
    #expect(
      runs == [
        Run(pages: [a], offset: 100, count: 50),
        Run(pages: [a], offset: 150, count: 10),
        Run(pages: [a + p, a + 2 * p], offset: pageSize - 10, count: 30),
        Run(pages: [a + 3 * p, a + 4 * p, a + 5 * p], offset: 0, count: 2 * pageSize + 5),
      ])
    #expect(registry.pinnedPageCount == 0)
  }

  @Test func extractionIsCutAtMaxPagesAndMaxBytes() throws {
    let m = MappedPages(pages: 8)
    let a = m.address
    let p = UInt(pageSize)
    let table = [
      iovec(iov_base: m.pointer(pageSize - 1), iov_len: 3 * pageSize),  // spans pages 0...3
      iovec(iov_base: m.pointer(6 * pageSize + 8), iov_len: 40),
    ]
    var iter = try table.withUnsafeBufferPointer {
      try IovIter<UserImport>(importing: $0, direction: .destination)
    }
    let runs = try drain(&iter, maxBytes: .max, maxPages: 2)
    #expect(
      runs == [
        // Only the first page has an offset.
        Run(pages: [a, a + p], offset: pageSize - 1, count: pageSize + 1),
        Run(pages: [a + 2 * p, a + 3 * p], offset: 0, count: 2 * pageSize - 1),
        Run(pages: [a + 6 * p], offset: 8, count: 40),
      ])
    var byBytes = try table.withUnsafeBufferPointer {
      try IovIter<UserImport>(importing: $0, direction: .destination)
    }
    let small = try drain(&byBytes, maxBytes: 3000, maxPages: 16)
    // Each call takes at most 3000 bytes, still from one entry at a time.
    var expected: [Run] = []
    var start = pageSize - 1
    var left = 3 * pageSize
    while left > 0 {
      let n = min(3000, left)
      let firstPage = start / pageSize
      let lastPage = (start + n - 1) / pageSize
      expected.append(
        Run(
          pages: (firstPage...lastPage).map { a + UInt($0) * p }, offset: start % pageSize, count: n
        ))
      start += n
      left -= n
    }
    expected.append(Run(pages: [a + 6 * p], offset: 8, count: 40))
    #expect(small == expected)
  }

  @Test func singleBufferExtractionWalksThePages() throws {
    let m = MappedPages(pages: 6)
    let a = m.address
    let p = UInt(pageSize)
    var iter = try IovIter(importing: m.slice(300, 4 * pageSize), direction: .source)
    let runs = try drain(&iter, maxBytes: .max, maxPages: 2)
    #expect(
      runs == [
        Run(pages: [a, a + p], offset: 300, count: 2 * pageSize - 300),
        Run(pages: [a + 2 * p, a + 3 * p], offset: 0, count: 2 * pageSize),
        Run(pages: [a + 4 * p], offset: 0, count: 300),
      ])
    // A truncated cursor extracts no further than its count; empty asks give nothing.
    var short = try IovIter(importing: m.slice(300, 4 * pageSize), direction: .source)
    try short.truncate(to: 10)
    #expect(
      try drain(&short, maxBytes: .max, maxPages: 8) == [Run(pages: [a], offset: 300, count: 10)])
    var zero = try IovIter(importing: m.slice(300, 10), direction: .source)
    let nothing = try zero.extractPages(maxBytes: 0, maxPages: 1)
    #expect(nothing.count == 0 && nothing.pages.isEmpty && zero.count == 10)
    nothing.release()
  }

  @Test func extractionFromTheMiddleOfAnEntryStartsThere() throws {
    let m = MappedPages(pages: 4)
    let table = [
      iovec(iov_base: m.pointer(0), iov_len: 10),
      iovec(iov_base: m.pointer(pageSize), iov_len: 2 * pageSize),
    ]
    var iter = try table.withUnsafeBufferPointer {
      try IovIter<UserIOVecArray>(importing: $0, direction: .source)
    }
    try iter.advance(by: 10 + pageSize + 7)
    let runs = try drain(&iter, maxBytes: .max, maxPages: 8)
    #expect(runs == [Run(pages: [m.address + 2 * UInt(pageSize)], offset: 7, count: pageSize - 7)])
  }

  // MARK: - Pins against the kernel's VmLck

  @Test func pinRaisesVmLckAndReleaseRestoresIt() throws {
    let baseline = lockedKilobytes()
    let m = MappedPages(pages: 8)
    var iter = try IovIter(
      importing: m.slice(pageSize + 5, 3 * pageSize - 10), direction: .destination)
    let extraction = try iter.extractPages(maxBytes: .max, maxPages: 8)
    #expect(extraction.pages == [m.page(1), m.page(2), m.page(3)])
    #expect(lockedKilobytes() == baseline + 3 * pageSize / 1024)
    for k in 0..<8 { #expect(registry.pinCount(of: m.page(k)) == ((1...3).contains(k) ? 1 : 0)) }
    extraction.release()
    #expect(lockedKilobytes() == baseline)
    for k in 0..<8 { #expect(registry.pinCount(of: m.page(k)) == 0) }
  }

  @Test func endOfLifeReleasesThePin() throws {
    let baseline = lockedKilobytes()
    let m = MappedPages(pages: 2)
    do {
      var iter = try IovIter(importing: m.slice(0, 2 * pageSize), direction: .source)
      let extraction = try iter.extractPages(maxBytes: .max, maxPages: 2)
      #expect(lockedKilobytes() == baseline + 2 * pageSize / 1024)
      #expect(extraction.count == 2 * pageSize)
    }
    #expect(lockedKilobytes() == baseline)
    #expect(registry.pinCount(of: m.page(0)) == 0)
  }

  /// Pins of pages 0...2 and 2...4 overlap on page 2; the kernel does not count
  /// mlock, so the registry must keep page 2 locked until both are released.
  @Test(arguments: [false, true])
  func overlappingPinsNest(releaseFirstPinFirst: Bool) throws {
    let baseline = lockedKilobytes()
    let kb = pageSize / 1024
    let m = MappedPages(pages: 6)
    var first = try IovIter(importing: m.slice(10, 3 * pageSize - 20), direction: .source)
    var second = try IovIter(
      importing: m.slice(2 * pageSize + 1, 3 * pageSize - 2), direction: .destination)
    let a = try first.extractPages(maxBytes: .max, maxPages: 8)
    #expect(lockedKilobytes() == baseline + 3 * kb)
    let b = try second.extractPages(maxBytes: .max, maxPages: 8)
    #expect(a.pages == [m.page(0), m.page(1), m.page(2)])
    #expect(b.pages == [m.page(2), m.page(3), m.page(4)])
    #expect(lockedKilobytes() == baseline + 5 * kb)
    #expect((0..<6).map { registry.pinCount(of: m.page($0)) } == [1, 1, 2, 1, 1, 0])
    if releaseFirstPinFirst {
      a.release()
      #expect(lockedKilobytes() == baseline + 3 * kb, "pages 2...4 must stay locked")
      #expect((0..<6).map { registry.pinCount(of: m.page($0)) } == [0, 0, 1, 1, 1, 0])
      b.release()
    } else {
      b.release()
      #expect(lockedKilobytes() == baseline + 3 * kb, "pages 0...2 must stay locked")
      #expect((0..<6).map { registry.pinCount(of: m.page($0)) } == [1, 1, 1, 0, 0, 0])
      a.release()
    }
    #expect(lockedKilobytes() == baseline)
    #expect((0..<6).allSatisfy { registry.pinCount(of: m.page($0)) == 0 })
  }

  @Test func samePagesPinnedTwiceStayLockedUntilTheLastRelease() throws {
    let baseline = lockedKilobytes()
    let m = MappedPages(pages: 3)
    let first = try registry.pin(address: m.address + 1, count: 2 * pageSize)
    let second = try registry.pin(address: m.address, count: 3 * pageSize)
    let third = try registry.pin(address: m.address + UInt(pageSize), count: 1)
    #expect(first.kind == .pin)
    #expect((0..<3).map { registry.pinCount(of: m.page($0)) } == [2, 3, 2])
    #expect(lockedKilobytes() == baseline + 3 * pageSize / 1024)
    second.release()
    #expect(lockedKilobytes() == baseline + 3 * pageSize / 1024)
    first.release()
    #expect((0..<3).map { registry.pinCount(of: m.page($0)) } == [0, 1, 0])
    #expect(lockedKilobytes() == baseline + pageSize / 1024)
    third.release()
    #expect(lockedKilobytes() == baseline)
    #expect(registry.pinnedPageCount == 0)
  }

  /// A hole in the middle of the range: the check of the mappings finds it
  /// before anything is locked, so earlier pins stay and the cursor does not move.
  @Test func pinOverAnUnmappedHoleFailsBeforeLocking() throws {
    let baseline = lockedKilobytes()
    let kb = pageSize / 1024
    // A test running in parallel may map into the hole; then the pin may
    // rightly succeed and the try proves nothing, so try another layout.
    for attempt in 1...20 {
      let m = MappedPages(pages: 6)
      let held = try registry.pin(address: m.address, count: 1)  // page 0
      let later = try registry.pin(address: m.address + 4 * UInt(pageSize), count: 1)  // page 4
      #expect(lockedKilobytes() == baseline + 2 * kb)
      m.punchHole(page: 2)  // never mapped back: another test's mapping may land there
      var iter = try IovIter(importing: m.slice(0, 6 * pageSize), direction: .source)
      let state = iter.saveState()
      let failure: IterError?
      do throws(IterError) {
        let run = try iter.extractPages(maxBytes: .max, maxPages: 6)
        run.release()
        failure = nil
      } catch {
        failure = error
      }
      guard m.holeIsIntact(page: 2) else {
        held.release()
        later.release()
        if attempt == 20 { Issue.record("another test kept filling the hole") }
        continue
      }
      #expect(
        failure == .badAddress(address: m.address + 2 * UInt(pageSize), count: pageSize, reason: "not mapped"))
      #expect(iter.saveState() == state && iter.count == 6 * pageSize)
      #expect((0..<6).map { k in k == 2 ? 0 : registry.pinCount(of: m.page(k)) } == [1, 0, 0, 0, 1, 0])
      #expect(lockedKilobytes() == baseline + 2 * kb, "nothing new may be locked")
      #expect(!isLocked(m.address + UInt(pageSize)))
      held.release()
      later.release()
      #expect(lockedKilobytes() == baseline)
      return
    }
  }

  @Test func concurrentOverlappingPinsBalance() async throws {
    let baseline = lockedKilobytes()
    let m = MappedPages(pages: 8)
    let address = m.address
    await withTaskGroup(of: Void.self) { group in
      for t in 0..<4 {
        group.addTask {
          for k in 0..<300 {
            let start = address + UInt(((t + k) % 5) * pageSize + 100)
            if let pin = try? UserPinRegistry.shared.pin(address: start, count: 2 * pageSize) {
              pin.release()
            } else {
              Issue.record("pin failed in task \(t)")
            }
          }
        }
      }
    }
    #expect(registry.pinnedPageCount == 0)
    #expect(lockedKilobytes() == baseline)
  }

  // MARK: - RLIMIT_MEMLOCK

  /// Lowers the soft limit so that two pages fit and eight do not, and checks
  /// the typed error with the registry, VmLck and the cursor unchanged.
  static func checkMemlockLimit() throws {
    let registry = UserPinRegistry.shared
    let saved = memlockLimit()
    let baseline = lockedKilobytes()
    let soft = baseline * 1024 + 4 * pageSize
    var lowered = saved
    lowered.rlim_cur = rlim_t(soft)
    try #require(
      setMemlockLimit(lowered), "setrlimit(RLIMIT_MEMLOCK, \(soft)) failed: errno \(errno)")
    defer { setMemlockLimit(saved) }
    let m = MappedPages(pages: 12)
    var small = try IovIter(importing: m.slice(0, 2 * pageSize), direction: .source)
    let held = try small.extractPages(maxBytes: .max, maxPages: 2)
    #expect(lockedKilobytes() == baseline + 2 * pageSize / 1024)
    var big = try IovIter(importing: m.slice(pageSize, 8 * pageSize), direction: .destination)
    let state = big.saveState()
    #expect(
      throws: IterError.resourceLimit(
        resource: "RLIMIT_MEMLOCK", requested: 8 * pageSize, limit: soft, errno: ENOMEM)
    ) {
      _ = try big.extractPages(maxBytes: .max, maxPages: 8)
    }
    #expect(big.saveState() == state && big.count == 8 * pageSize)
    #expect(lockedKilobytes() == baseline + 2 * pageSize / 1024)
    #expect(
      (0..<12).map { registry.pinCount(of: m.page($0)) } == [1, 1] + Array(repeating: 0, count: 10))
    held.release()
    #expect(lockedKilobytes() == baseline)
    #expect(registry.pinnedPageCount == 0)
  }

  @Test(
    "RLIMIT_MEMLOCK refusal is a typed error and changes nothing",
    .enabled(
      if: memlockLimitIsEnforced,
      "skipped: this process has CAP_IPC_LOCK (root), so the kernel does not enforce RLIMIT_MEMLOCK in-process; the exit test that drops root checks it instead"
    ))
  func memlockLimitIsATypedError() throws {
    try Self.checkMemlockLimit()
  }

  /// The same check in a child process that gives up root (and with it
  /// CAP_IPC_LOCK), so that the kernel enforces the limit even when the tests
  /// run as root.
  @Test(
    "RLIMIT_MEMLOCK refusal is a typed error in a process without CAP_IPC_LOCK",
    .enabled(
      if: getuid() == 0,
      "skipped: needs root to drop CAP_IPC_LOCK by changing uid; the in-process test covers an unprivileged run"
    ))
  func memlockLimitIsATypedErrorWithoutCapability() async {
    await #expect(processExitsWith: .success) {
      // Lower the limits before giving up root, then drop root: the effective
      // capabilities (CAP_IPC_LOCK among them) are cleared by the uid change.
      guard setgroups(0, nil) == 0, setgid(65534) == 0, setuid(65534) == 0
      else { exit(10) }
      guard !hasIPCLockCapability() else { exit(11) }
      try UserPinningTests.checkMemlockLimit()
    }
  }

  /// A soft limit of 0 makes mlock fail with EPERM (can_do_mlock).
  @Test(
    "a zero RLIMIT_MEMLOCK gives EPERM as a typed error",
    .enabled(if: getuid() == 0, "skipped: needs root to drop CAP_IPC_LOCK by changing uid"))
  func zeroMemlockLimitIsEPERM() async {
    await #expect(processExitsWith: .success) {
      guard setgroups(0, nil) == 0, setgid(65534) == 0, setuid(65534) == 0
      else { exit(10) }
      var limit = memlockLimit()
      limit.rlim_cur = 0
      guard setMemlockLimit(limit) else { exit(12) }
      let m = MappedPages(pages: 1)
      var iter = try IovIter(importing: m.slice(0, 100), direction: .source)
      #expect(
        throws: IterError.resourceLimit(
          resource: "RLIMIT_MEMLOCK", requested: pageSize, limit: 0, errno: EPERM)
      ) {
        _ = try iter.extractPages(maxBytes: .max, maxPages: 1)
      }
      #expect(
        iter.count == 100 && UserPinRegistry.shared.pinnedPageCount == 0 && lockedKilobytes() == 0)
    }
  }

  // MARK: - Model-based

  /// Counts every pin the registry holds; the model checks that each release
  /// brings it back.
  static let pinProbe: @Sendable () -> Int = { UserPinRegistry.shared.totalPinCount }

  /// Segments of random sizes placed in page-aligned memory with random gaps
  /// (sometimes none, so that neighbours are contiguous), filled with `bytes`.
  static func layout(
    bytes: [UInt8], seed: UInt64, maxSegments: Int = 64
  ) -> (MappedPages, [UnsafeMutableRawBufferPointer]) {
    var rng = SeededGenerator(seed: seed)
    let sizes = randomSegmentSizes(total: bytes.count, maxSegments: maxSegments, using: &rng)
    let gaps = sizes.map { _ in Bool.random(using: &rng) ? 0 : Int.random(in: 1...300, using: &rng)
    }
    let span = sizes.reduce(0, +) + gaps.reduce(0, +) + pageSize
    let m = MappedPages(pages: span / pageSize + 1)
    var offset = Int.random(in: 0..<pageSize, using: &rng)
    var buffers: [UnsafeMutableRawBufferPointer] = []
    var next = 0
    for (size, gap) in zip(sizes, gaps) {
      offset += gap
      let buffer = m.slice(offset, size)
      buffer.copyBytes(from: bytes[next..<(next + size)])
      buffers.append(buffer)
      next += size
      offset += size
    }
    return (m, buffers)
  }

  static func randomBytes(_ count: Int, using rng: inout SeededGenerator) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
  }

  @Test(arguments: [IterDirection.source, .destination])
  func iovecArrayAgreesWithTheModel(direction: IterDirection) throws {
    let baseline = lockedKilobytes()
    for round in 0..<3 {
      let seed =
        TestSeed.base &+ 0x5553_4552 &+ UInt64(round) &* 7919 &+ (direction == .source ? 0 : 1)
      var rng = SeededGenerator(seed: seed)
      let bytes = Self.randomBytes(Int.random(in: 1...30_000, using: &rng), using: &rng)
      let (memory, buffers) = Self.layout(bytes: bytes, seed: seed)
      let array = try UserIOVecArray(importing: buffers)
      try checkAgainstModel(
        array, direction: direction, operations: 10_000, seed: seed,
        label: "iovec \(direction) #\(round)",
        retentionProbe: Self.pinProbe)
      let imported = try UserImport(importing: buffers)
      try checkAgainstModel(
        imported, direction: direction, operations: 2_000, seed: seed &+ 1,
        label: "import \(direction) #\(round)",
        retentionProbe: Self.pinProbe)
      withExtendedLifetime(memory) {}
    }
    #expect(registry.totalPinCount == 0 && registry.pinnedPageCount == 0)
    #expect(lockedKilobytes() == baseline)
  }

  @Test(arguments: [IterDirection.source, .destination])
  func singleBufferAgreesWithTheModel(direction: IterDirection) throws {
    let baseline = lockedKilobytes()
    for round in 0..<4 {
      let seed =
        TestSeed.base &+ 0x5542_5546 &+ UInt64(round) &* 104_729 &+ (direction == .source ? 0 : 1)
      var rng = SeededGenerator(seed: seed)
      let m = MappedPages(pages: 6)
      let count = Int.random(in: 0...(5 * pageSize), using: &rng)
      let offset = Int.random(in: 0..<pageSize, using: &rng)
      let buffer = try UserBuffer(importing: m.slice(offset, count))
      try checkAgainstModel(
        buffer, direction: direction, operations: 8_000, seed: seed,
        label: "ubuf \(direction) #\(round)",
        retentionProbe: Self.pinProbe)
    }
    #expect(registry.totalPinCount == 0 && registry.pinnedPageCount == 0)
    #expect(lockedKilobytes() == baseline)
  }

  // MARK: - Conformance suite

  /// Keeps the memory of every source a conformance factory made alive until
  /// the test ends.
  final class Keeper: @unchecked Sendable {
    var regions: [MappedPages] = []
  }

  @Test func iovecArrayPassesTheConformanceSuite() {
    let baseline = lockedKilobytes()
    let keeper = Keeper()
    var options = ConformanceOptions()
    options.operationsPerRun = 1_500
    options.retentionProbe = Self.pinProbe
    let report = checkIterConformance(of: "UserIOVecArray", options: options) { bytes, seed in
      let (memory, buffers) = Self.layout(bytes: bytes, seed: seed)
      keeper.regions.append(memory)
      return try UserIOVecArray(importing: buffers)
    }
    report.recordIssues()
    #expect(report.layoutsChecked == options.sizes.count)
    #expect(registry.totalPinCount == 0 && lockedKilobytes() == baseline)
  }

  @Test func singleBufferPassesTheConformanceSuite() {
    let baseline = lockedKilobytes()
    let keeper = Keeper()
    var options = ConformanceOptions()
    options.operationsPerRun = 1_500
    options.retentionProbe = Self.pinProbe
    let report = checkIterConformance(of: "UserBuffer", options: options) { bytes, seed in
      let memory = MappedPages(pages: bytes.count / pageSize + 2)
      keeper.regions.append(memory)
      let buffer = memory.slice(Int(seed % UInt64(pageSize)), bytes.count)
      buffer.copyBytes(from: bytes)
      return try UserBuffer(importing: buffer)
    }
    report.recordIssues()
    #expect(report.layoutsChecked == options.sizes.count)
    #expect(registry.totalPinCount == 0 && lockedKilobytes() == baseline)
  }

  @Test func readOnlyArrayPassesTheConformanceSuiteAsASource() {
    let keeper = Keeper()
    var options = ConformanceOptions()
    options.operationsPerRun = 1_000
    options.retentionProbe = Self.pinProbe
    let report = checkIterConformance(of: "UserImport (read-only)", options: options) {
      bytes, seed in
      let (memory, buffers) = Self.layout(bytes: bytes, seed: seed)
      keeper.regions.append(memory)
      return try UserImport(importing: buffers.map { UnsafeRawBufferPointer($0) })
    }
    report.recordIssues()
    #expect(report.layoutsChecked == options.sizes.count)
    #expect(registry.totalPinCount == 0)
  }
}
