//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
public import IterCore
import Synchronization

/// The process-wide count of pins on user pages, which makes `mlock(2)` nest.
///
/// The kernel counts `FOLL_PIN` pins per page; `mlock(2)` and `munlock(2)` do
/// not count at all: one `munlock` undoes any number of `mlock`s of the same
/// page. So the library keeps the count. A page is locked with `mlock` when its
/// count goes from 0 to 1 and unlocked with `munlock` when it goes from 1 to 0;
/// pins of overlapping ranges therefore nest, released in any order.
/// Contiguous pages that change state together share one system call.
///
/// ```
///   pin A:   [ p0 p1 p2 ]            mlock(p0...p2)
///   pin B:         [ p2 p3 ]         mlock(p3)          counts: 1 1 2 1
///   release A:                       munlock(p0...p1)   counts: 0 0 1 1
///   release B:                       munlock(p2...p3)   counts: 0 0 0 0
/// ```
///
/// Extraction from ``UserBuffer``, ``UserIOVecArray`` and ``UserImport`` pins
/// through ``shared``; ``pin(address:count:)`` is the same operation for a
/// range of your own. Every pin comes back as an `IterRetention` that unpins
/// exactly once, when it is released or reaches the end of its life.
///
/// ## The application's own locks
///
/// When a page gets its first pin, the registry asks the kernel whether the
/// page is already locked (by the application's `mlock`, `mlock2` or
/// `mlockall`, or a `MAP_LOCKED` mapping). If it is, the registry does not
/// own that lock: the page is still pinned and counted, but the last release
/// leaves it locked. The registry only ever `munlock`s pages it locked itself.
///
/// What it cannot see:
/// - a lock the application takes on a page *after* the registry locked it
///   (the kernel keeps one lock flag per page, not a count): the registry's
///   last release unlocks that page, and the application's lock with it;
/// - a `munlock` (or `munlockall`) made elsewhere on a pinned page, which
///   undoes the pin's lock;
/// - changes another thread makes to the range's mappings or locks while the
///   pin is being taken.
///
/// A pin of pages the application locked with `MLOCK_ONFAULT` makes them
/// resident; they stay locked (now all resident) after the release.
///
/// Memory must stay mapped while it is pinned; unmapping it drops the
/// kernel's lock, and the registry's count then ends at the pin's release as
/// usual. A child made by `fork(2)` inherits the counts but not the locks;
/// releasing there unlocks nothing that was locked.
///
/// All operations are thread-safe: one `Mutex` guards the counts and is held
/// across the system calls, so that no page is unlocked while another thread
/// pins it.
///
/// The corresponding kernel functions are `pin_user_pages_fast` and
/// `unpin_user_page`.
///
/// Sendable: its pin counts are behind a lock.
public final class UserPinRegistry: Sendable {
  /// The registry of the process. There is only one: locks are per process.
  public static let shared = UserPinRegistry()

  /// The pins on one page, and whether the registry locked the page itself
  /// (`false` when the page was already locked at its first pin).
  private struct _Entry {
    var count: Int
    var ownsLock: Bool
  }

  /// The pinned pages (pages without a pin have no entry), and the sum of
  /// their counts.
  private struct _Table {
    var entries: [UInt: _Entry] = [:]
    var total = 0
  }

  private let _table = Mutex(_Table())

  /// The machine's physical pages: no pin can lock more.
  private static let _physicalPages: Int = max(1, Int(sysconf(Int32(_SC_PHYS_PAGES))))

  private init() {}

  /// Pins the pages under `count` bytes at `address` and returns the hold that
  /// unpins them.
  ///
  /// The range is checked against the process's mappings before anything
  /// else, in time that grows with the number of mappings it meets, not with
  /// its size (the `PROCMAP_QUERY` ioctl, or the text of `/proc/self/maps` on
  /// kernels before 6.11). Then pages nobody else has pinned are locked with
  /// `mlock(2)`, one call per contiguous run, and the others only have their
  /// count raised. A page that was already locked by the application is
  /// pinned without taking over its lock (see "The application's own locks"
  /// in ``UserPinRegistry``). If a lock fails, the runs this call locked are
  /// unlocked again, except the application's own locks, and every count is
  /// left as it was.
  ///
  /// - Parameters:
  ///   - address: The first byte.
  ///   - count: The number of bytes; 0 pins nothing and returns an empty hold.
  /// - Returns: An `IterRetention` of kind `IterRetentionKind.pin` whose
  ///   release unpins the same pages exactly once.
  /// - Throws: Nothing is pinned and nothing changes when it throws.
  ///   - `IterError.negativeCount(argument:value:)` for a negative `count`;
  ///   - `IterError.invalidArgument(argument:value:reason:)` for a range that
  ///     wraps past the end of the address space (argument `"address"`), or
  ///     that spans more pages than the machine has (argument `"count"`);
  ///   - `IterError.badAddress(address:count:reason:)` for the first part of
  ///     the range that is not mapped (reason `"not mapped"`) or is mapped
  ///     without access (reason `"no access (PROT_NONE)"`); the kernel's pin
  ///     gives `-EFAULT`;
  ///   - `IterError.resourceLimit(resource:requested:limit:errno:)` with
  ///     resource `"RLIMIT_MEMLOCK"` when that limit refused the lock: the
  ///     bytes of whole pages the pin covers, the soft limit, and `mlock`'s
  ///     `ENOMEM` (the limit was exceeded) or `EPERM` (the limit is 0);
  ///     never when the thread has `CAP_IPC_LOCK`, which lifts the limit;
  ///   - `IterError.systemCall(name:errno:)` for any other failure: `mlock`'s
  ///     `EAGAIN` (memory too short to make the pages resident), an `ENOMEM`
  ///     that is neither of the above (too many mappings), or `/proc/self/maps`
  ///     that cannot be read.
  /// - Complexity: O(*m*) for the *m* mappings the range meets, then O(*p*)
  ///   for its *p* pages, plus one `mlock(2)` and one `msync(2)` per run of
  ///   pages that were not pinned, and one `msync(2)` per mapping of a run
  ///   that holds a lock of the application's.
  ///
  /// The corresponding kernel function is `pin_user_pages_fast`.
  public func pin(address: UInt, count: Int) throws(IterError) -> IterRetention {
    guard count >= 0 else { throw .negativeCount(argument: "count", value: count) }
    guard count > 0 else { return IterRetention() }
    let (end, wraps) = address.addingReportingOverflow(UInt(count))
    guard !wraps else {
      throw .invalidArgument(
        argument: "address", value: Int(bitPattern: address),
        reason: "\(count) bytes from here wrap past the end of the address space")
    }
    let pageSize = UInt(IterPage.size)
    let first = address & ~(pageSize - 1)
    let mappings = try _ProcessMappings.mappings(from: first, to: end)
    try _ProcessMappings.check(mappings, address: address, count: count)
    let pages = Int((end - 1 - first) / pageSize) + 1
    guard pages <= Self._physicalPages else {
      throw .invalidArgument(
        argument: "count", value: count,
        reason: "spans \(pages) pages, more than the \(Self._physicalPages) pages of "
          + "physical memory, which can never all be locked")
    }
    try _table.withLock { (table) throws(IterError) -> Void in
      try _lock(first: first, pages: pages, mappings: mappings, table: &table)
    }
    return IterRetention(kind: .pin) { [self] in
      _table.withLock { table in _unlock(first: first, pages: pages, table: &table) }
    }
  }

  /// The number of pins the registry holds on `page` (0 when it is not pinned).
  ///
  /// - Parameter page: The page; only its `IterPage.address` is used, rounded
  ///   down to a page boundary.
  /// - Complexity: O(1).
  public func pinCount(of page: IterPage) -> Int {
    let key = page.address & ~UInt(IterPage.size - 1)
    return _table.withLock { $0.entries[key]?.count ?? 0 }
  }

  /// Whether the registry holds `page`'s lock itself and so unlocks it at the
  /// last release: `nil` when the page is not pinned, `false` when it was
  /// already locked by the application at its first pin.
  package func _ownsLock(on page: IterPage) -> Bool? {
    let key = page.address & ~UInt(IterPage.size - 1)
    return _table.withLock { $0.entries[key]?.ownsLock }
  }

  /// The number of pages with at least one pin. Each is locked: by the
  /// registry, or by the application when it had locked the page first.
  ///
  /// - Complexity: O(1).
  public var pinnedPageCount: Int { _table.withLock { $0.entries.count } }

  /// The sum of the pins on all pages: each pin counts once per page it
  /// covers. It returns to its earlier value when every pin taken since is
  /// released, which makes it a probe for leaked pins.
  ///
  /// - Complexity: O(1).
  public var totalPinCount: Int { _table.withLock { $0.total } }

  // MARK: - Under the lock

  /// Locks the runs of unpinned pages among `pages` pages from `first`, then
  /// counts one pin on each page. Undoes its locks and throws on failure.
  private func _lock(
    first: UInt, pages: Int, mappings: [_Mapping], table: inout _Table
  ) throws(IterError) {
    let pageSize = UInt(IterPage.size)
    let runs = _runs(first: first, pages: pages) { table.entries[$0] == nil }
    let lockedElsewhere = _MemoryLocks.lockedElsewhere(in: runs, mappings: mappings)
    var lockedByCall = 0
    for (i, run) in runs.enumerated() {
      lockedByCall += Int(run.upperBound - run.lowerBound)
      if let code = _MemoryLocks.lock(run) {
        // mlock stops at the first failure but keeps what it had locked
        // before it; these pages have no pin, so unlock them all, except the
        // application's own locks.
        for locked in runs[...i] { _MemoryLocks.unlock(locked, except: lockedElsewhere) }
        let theirs = lockedElsewhere.reduce(0) { sum, range in
          range.lowerBound < run.upperBound ? sum + Int(range.upperBound - range.lowerBound) : sum
        }
        throw _MemoryLocks.lockError(
          errno: code, run: run, requested: pages * Int(pageSize),
          lockedByCall: lockedByCall - theirs)
      }
    }
    var elsewhere = lockedElsewhere.makeIterator()
    var next = elsewhere.next()
    for k in 0..<pages {
      let key = first + UInt(k) * pageSize
      if let entry = table.entries.index(forKey: key) {
        table.entries.values[entry].count += 1
      } else {
        while let range = next, range.upperBound <= key { next = elsewhere.next() }
        let isTheirs = next.map { $0.contains(key) } ?? false
        table.entries[key] = _Entry(count: 1, ownsLock: !isTheirs)
      }
    }
    table.total += pages
  }

  /// Drops one pin on each of `pages` pages from `first` and unlocks the runs
  /// of pages whose count reaches 0 and whose lock the registry owns.
  private func _unlock(first: UInt, pages: Int, table: inout _Table) {
    let toUnlock = _runs(first: first, pages: pages) { key in
      guard let entry = table.entries.index(forKey: key) else {
        preconditionFailure(
          "UserPinRegistry: page 0x\(String(key, radix: 16)) released without a pin")
      }
      if table.entries.values[entry].count == 1 {
        return table.entries.remove(at: entry).value.ownsLock
      }
      table.entries.values[entry].count -= 1
      return false
    }
    table.total -= pages
    for run in toUnlock { _MemoryLocks.unlock(run, except: []) }
  }

  /// The address ranges of the runs of pages, among `pages` pages from
  /// `first`, for which `select` is `true`; `select` is called once per page,
  /// in order.
  private func _runs(
    first: UInt, pages: Int, where select: (UInt) -> Bool
  ) -> [Range<UInt>] {
    let pageSize = UInt(IterPage.size)
    var runs: [Range<UInt>] = []
    var runStart: UInt? = nil
    for k in 0..<pages {
      let key = first + UInt(k) * pageSize
      if select(key) {
        if runStart == nil { runStart = key }
      } else if let start = runStart {
        runs.append(start..<key)
        runStart = nil
      }
    }
    if let start = runStart { runs.append(start..<(first + UInt(pages) * pageSize)) }
    return runs
  }
}
