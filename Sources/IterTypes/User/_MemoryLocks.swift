//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore

/// The system calls behind ``UserPinRegistry``: `mlock(2)` and `munlock(2)` on
/// page-aligned ranges, finding the locks someone else holds, and naming why
/// a lock failed.
internal enum _MemoryLocks {
  /// Locks `range` with `mlock(2)`; returns `errno` on failure, `nil` otherwise.
  internal static func lock(_ range: Range<UInt>) -> Int32? {
    let length = Int(range.upperBound - range.lowerBound)
    return unsafe mlock(UnsafeRawPointer(bitPattern: range.lowerBound), length) == 0 ? nil : errno
  }

  /// Unlocks `range` with `munlock(2)`, except the parts in `kept` (sorted,
  /// disjoint), which stay as they are.
  ///
  /// `munlock` fails only where memory was unmapped meanwhile, which already
  /// dropped the kernel's lock; there is nothing to undo then.
  internal static func unlock(_ range: Range<UInt>, except kept: [Range<UInt>]) {
    var cursor = range.lowerBound
    for hole in kept where hole.upperBound > cursor {
      if hole.lowerBound >= range.upperBound { break }
      if hole.lowerBound > cursor { _munlock(cursor..<hole.lowerBound) }
      cursor = hole.upperBound
    }
    if cursor < range.upperBound { _munlock(cursor..<range.upperBound) }
  }

  private static func _munlock(_ range: Range<UInt>) {
    let length = Int(range.upperBound - range.lowerBound)
    _ = unsafe munlock(UnsafeRawPointer(bitPattern: range.lowerBound), length)
  }

  /// The parts of `runs` (sorted, disjoint, page-aligned) that are already
  /// locked (`VM_LOCKED`) by someone other than the registry, sorted.
  ///
  /// `msync(2)` with `MS_INVALIDATE` fails with `EBUSY` when a locked mapping
  /// meets its range, and otherwise does nothing on Linux. One call per run
  /// answers the usual case (nothing locked). When a run meets a lock, one
  /// call per mapping in it says which: `mlock` splits mappings at the edges
  /// of what it locks, so a mapping is locked all through or not at all.
  /// Cost: O(runs + mappings) system calls, none per page.
  internal static func lockedElsewhere(
    in runs: [Range<UInt>], mappings: [_Mapping]
  ) -> [Range<UInt>] {
    var locked: [Range<UInt>] = []
    var m = 0
    for run in runs where _isLocked(run) {
      while m < mappings.count && mappings[m].end <= run.lowerBound { m += 1 }
      var k = m
      while k < mappings.count && mappings[k].start < run.upperBound {
        let piece =
          max(mappings[k].start, run.lowerBound)..<min(mappings[k].end, run.upperBound)
        if _isLocked(piece) {
          if let last = locked.last, last.upperBound == piece.lowerBound {
            locked[locked.count - 1] = last.lowerBound..<piece.upperBound
          } else {
            locked.append(piece)
          }
        }
        k += 1
      }
    }
    return locked
  }

  private static func _isLocked(_ range: Range<UInt>) -> Bool {
    let length = Int(range.upperBound - range.lowerBound)
    let result = unsafe msync(
      UnsafeMutableRawPointer(bitPattern: range.lowerBound), length, MS_INVALIDATE)
    return result != 0 && errno == EBUSY
  }

  // MARK: - Why a lock failed

  /// The typed error for `mlock`'s `errno` on `run`, a part of a pin that
  /// covers `requested` bytes of whole pages. `lockedByCall` is the bytes the
  /// kernel would have counted as newly locked by this pin up to and
  /// including `run`; the locks this pin took have already been undone.
  ///
  /// - `ENOMEM` is three different things: part of the range is not mapped
  ///   (or, since the check, no longer accessible), which is
  ///   `IterError.badAddress(address:count:reason:)`; the `RLIMIT_MEMLOCK`
  ///   soft limit (only without `CAP_IPC_LOCK`, and only when `VmLck` plus
  ///   the new bytes exceeds it), which is
  ///   `IterError.resourceLimit(resource:requested:limit:errno:)`; or
  ///   anything else (too many mappings, a fault), which is
  ///   `IterError.systemCall(name:errno:)`.
  /// - `EPERM` is the limit when it is 0 and the thread lacks
  ///   `CAP_IPC_LOCK` (`can_do_mlock`); otherwise a system-call error.
  /// - `EAGAIN` (some pages could not be made resident: memory is short) is a
  ///   system-call error, not a limit.
  internal static func lockError(
    errno code: Int32, run: Range<UInt>, requested: Int, lockedByCall: Int
  ) -> IterError {
    switch code {
    case ENOMEM:
      let length = Int(run.upperBound - run.lowerBound)
      do {
        let now = try _ProcessMappings.mappings(from: run.lowerBound, to: run.upperBound)
        try _ProcessMappings.check(now, address: run.lowerBound, count: length)
      } catch {
        if case .badAddress = error { return error }
      }
      let soft = softMemlockLimit()
      if soft != Int.max && !hasIPCLockCapability(),
        let locked = lockedBytes(), locked &+ lockedByCall > soft
      {
        return .resourceLimit(
          resource: "RLIMIT_MEMLOCK", requested: requested, limit: soft, errno: code)
      }
      return .systemCall(name: "mlock", errno: code)
    case EPERM where softMemlockLimit() == 0 && !hasIPCLockCapability():
      return .resourceLimit(resource: "RLIMIT_MEMLOCK", requested: requested, limit: 0, errno: code)
    default:
      return .systemCall(name: "mlock", errno: code)
    }
  }

  /// The soft `RLIMIT_MEMLOCK` in bytes: `Int.max` for unlimited, -1 when it
  /// cannot be read.
  internal static func softMemlockLimit() -> Int {
    var limit = rlimit()
    guard unsafe getrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &limit) == 0 else {
      return -1
    }
    return limit.rlim_cur == ~rlim_t(0) ? Int.max : Int(clamping: limit.rlim_cur)
  }

  /// The process's locked memory (`VmLck` in `/proc/self/status`) in bytes.
  internal static func lockedBytes() -> Int? {
    guard let text = _ProcText.field("VmLck:", in: "/proc/self/status"),
      let kilobytes = Int(text.prefix { $0 != " " })
    else { return nil }
    return kilobytes * 1024
  }

  /// Whether the calling thread has `CAP_IPC_LOCK` in its effective set
  /// (`CapEff` in `/proc/thread-self/status`), which lifts `RLIMIT_MEMLOCK`.
  /// Capabilities are per thread, and `mlock` checks the caller's.
  internal static func hasIPCLockCapability() -> Bool {
    guard let hex = _ProcText.field("CapEff:", in: "/proc/thread-self/status"),
      let bits = UInt64(hex, radix: 16)
    else { return false }
    return bits & (1 << 14) != 0  // CAP_IPC_LOCK
  }
}
