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
/// The registry knows only its own pins: an `mlock`, `munlock` or
/// `mlockall` made elsewhere in the process on the same pages is not counted,
/// and a `munlock` made elsewhere undoes the registry's lock. Memory must stay
/// mapped while it is pinned; unmapping it drops the kernel's lock, and the
/// registry's count then ends at the pin's release as usual. A child made by
/// `fork(2)` inherits the counts but not the locks; releasing there unlocks
/// nothing that was locked.
///
/// All operations are thread-safe: one `Mutex` guards the counts and is held
/// across the system calls, so that no page is unlocked while another thread
/// pins it.
///
/// The corresponding kernel functions are `pin_user_pages_fast` and
/// `unpin_user_page`.
public final class UserPinRegistry: Sendable {
  /// The registry of the process. There is only one: locks are per process.
  public static let shared = UserPinRegistry()

  /// The pins per page (pages without a pin have no entry), and their sum.
  private struct _Table {
    var counts: [UInt: Int] = [:]
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
  /// count raised. If a lock fails, the runs this call locked are unlocked
  /// again and every count is left as it was.
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
  ///   for its *p* pages, plus one `mlock(2)` per run of pages that were not
  ///   pinned.
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
      try _lock(first: first, pages: pages, counts: &table.counts)
      table.total += pages
    }
    return IterRetention(kind: .pin) { [self] in
      _table.withLock { table in
        _unlock(first: first, pages: pages, counts: &table.counts)
        table.total -= pages
      }
    }
  }

  /// The number of pins the registry holds on `page` (0 when it is not pinned).
  ///
  /// - Parameter page: The page; only its `IterPage.address` is used, rounded
  ///   down to a page boundary.
  /// - Complexity: O(1).
  public func pinCount(of page: IterPage) -> Int {
    let key = page.address & ~UInt(IterPage.size - 1)
    return _table.withLock { $0.counts[key] ?? 0 }
  }

  /// The number of pages with at least one pin: the pages the registry keeps
  /// locked with `mlock(2)`.
  ///
  /// - Complexity: O(1).
  public var pinnedPageCount: Int { _table.withLock { $0.counts.count } }

  /// The sum of the pins on all pages: each pin counts once per page it
  /// covers. It returns to its earlier value when every pin taken since is
  /// released, which makes it a probe for leaked pins.
  ///
  /// - Complexity: O(1).
  public var totalPinCount: Int { _table.withLock { $0.total } }

  // MARK: - Under the lock

  /// Locks the runs of unpinned pages among `pages` pages from `first`, then
  /// counts one pin on each page. Undoes its locks and throws on failure.
  private func _lock(first: UInt, pages: Int, counts: inout [UInt: Int]) throws(IterError) {
    let pageSize = UInt(IterPage.size)
    var runStart = 0
    var runLength = 0
    var lockedByCall = 0
    var k = 0
    while k <= pages {
      let isNew = k < pages && counts[first + UInt(k) * pageSize] == nil
      if isNew {
        if runLength == 0 { runStart = k }
        runLength += 1
      } else if runLength > 0 {
        let start = first + UInt(runStart) * pageSize
        let length = runLength * Int(pageSize)
        lockedByCall += length
        if let code = _MemoryLocks.lock(start..<(start + UInt(length))) {
          // mlock stops at the first failure but keeps what it had locked
          // before it; these pages have no pin, so unlock them all.
          _unlockNew(first: first, pages: runStart + runLength, counts: counts)
          throw _MemoryLocks.lockError(
            errno: code, run: start..<(start + UInt(length)), requested: pages * Int(pageSize),
            lockedByCall: lockedByCall)
        }
        runLength = 0
      }
      k += 1
    }
    for k in 0..<pages { counts[first + UInt(k) * pageSize, default: 0] += 1 }
  }

  /// Undoes the locks a failed `_lock` made on the first `pages` pages: the
  /// runs of pages that have no count yet, including the run whose `mlock`
  /// failed part-way.
  private func _unlockNew(first: UInt, pages: Int, counts: [UInt: Int]) {
    let pageSize = UInt(IterPage.size)
    var runStart = 0
    var runLength = 0
    for k in 0...pages {
      if k < pages && counts[first + UInt(k) * pageSize] == nil {
        if runLength == 0 { runStart = k }
        runLength += 1
      } else if runLength > 0 {
        let start = first + UInt(runStart) * pageSize
        _ = unsafe munlock(UnsafeRawPointer(bitPattern: start), runLength * Int(pageSize))
        runLength = 0
      }
    }
  }

  /// Drops one pin on each of `pages` pages from `first` and unlocks the runs
  /// of pages whose count reaches 0.
  private func _unlock(first: UInt, pages: Int, counts: inout [UInt: Int]) {
    let pageSize = UInt(IterPage.size)
    var runStart = 0
    var runLength = 0
    for k in 0...pages {
      var reachedZero = false
      if k < pages {
        let key = first + UInt(k) * pageSize
        guard let n = counts[key] else {
          preconditionFailure(
            "UserPinRegistry: page 0x\(String(key, radix: 16)) released without a pin")
        }
        if n == 1 {
          counts[key] = nil
          reachedZero = true
        } else {
          counts[key] = n - 1
        }
      }
      if reachedZero {
        if runLength == 0 { runStart = k }
        runLength += 1
      } else if runLength > 0 {
        let start = first + UInt(runStart) * pageSize
        // munlock fails only if the memory was unmapped while pinned, which
        // already dropped the kernel's lock; the count is gone either way.
        _ = unsafe munlock(UnsafeRawPointer(bitPattern: start), runLength * Int(pageSize))
        runLength = 0
      }
    }
  }
}
