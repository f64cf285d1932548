//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore

let pageSize = IterPage.size

/// Page-aligned anonymous memory from `mmap(2)`, unmapped when the last
/// reference goes. `reserveOnly` maps `PROT_NONE` + `MAP_NORESERVE`: address
/// space without memory, which must never be read or written.
final class MappedPages {
  let base: UnsafeMutableRawPointer
  let byteCount: Int

  init(pages: Int, reserveOnly: Bool = false) {
    byteCount = pages * pageSize
    let protection = reserveOnly ? PROT_NONE : PROT_READ | PROT_WRITE
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | (reserveOnly ? MAP_NORESERVE : 0)
    let p = mmap(nil, byteCount, protection, flags, -1, 0)
    precondition(p != MAP_FAILED && p != nil, "mmap of \(pages) pages failed: errno \(errno)")
    base = p!
  }

  /// Pages unmapped by ``punchHole(page:)``: never unmapped again, since
  /// another test's mapping may have landed there since.
  private(set) var holes: Set<Int> = []

  deinit {
    var k = 0
    let pages = byteCount / pageSize
    while k < pages {
      if holes.contains(k) {
        k += 1
        continue
      }
      var end = k
      while end < pages && !holes.contains(end) { end += 1 }
      munmap(base + k * pageSize, (end - k) * pageSize)
      k = end
    }
  }

  /// Unmaps page `k`, leaving a hole. Tests run in parallel, so another
  /// test's `mmap` may fill it: check ``holeIsIntact(page:)`` after using it.
  func punchHole(page k: Int) {
    precondition(munmap(base + k * pageSize, pageSize) == 0)
    holes.insert(k)
  }

  /// Whether page `k` is still unmapped (`msync` fails with `ENOMEM` there).
  func holeIsIntact(page k: Int) -> Bool {
    msync(base + k * pageSize, pageSize, MS_ASYNC) == -1 && errno == ENOMEM
  }

  var address: UInt { UInt(bitPattern: base) }
  var buffer: UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(start: base, count: byteCount)
  }
  func pointer(_ offset: Int) -> UnsafeMutableRawPointer { base + offset }
  func page(_ k: Int) -> IterPage { IterPage(address: address + UInt(k * pageSize)) }
  func slice(_ offset: Int, _ count: Int) -> UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(start: base + offset, count: count)
  }
}

/// The kernel's `VmLck` for this process, in kB, from /proc/self/status.
func lockedKilobytes() -> Int {
  statusField("VmLck:").flatMap { Int($0.split(separator: " ").first ?? "") } ?? -1
}

/// Whether the calling thread has `CAP_IPC_LOCK` in its effective set, which
/// makes the kernel ignore `RLIMIT_MEMLOCK` for its `mlock(2)` calls.
/// Capabilities are per thread (a uid change in one thread of an exit test's
/// child may leave the main thread privileged), so this reads the thread's own
/// status.
func hasIPCLockCapability() -> Bool {
  guard let hex = statusField("CapEff:", file: "/proc/thread-self/status"),
    let bits = UInt64(hex, radix: 16)
  else { return false }
  return bits & (1 << 14) != 0  // CAP_IPC_LOCK = 14
}

private func statusField(_ name: String, file path: String = "/proc/self/status") -> String? {
  for text in procLines(path) where text.hasPrefix(name) {
    return String(text.dropFirst(name.count).drop { $0 == " " || $0 == "\t" })
  }
  return nil
}

/// The lines of a file under /proc, without their newlines.
func procLines(_ path: String) -> [String] {
  guard let file = fopen(path, "r") else { return [] }
  defer { fclose(file) }
  var line: UnsafeMutablePointer<CChar>? = nil
  var capacity = 0
  defer { free(line) }
  var lines: [String] = []
  while getline(&line, &capacity, file) > 0 {
    lines.append(String(String(cString: line!).prefix { $0 != "\n" }))
  }
  return lines
}

/// The `VmFlags` of the mapping in /proc/self/smaps that contains `address`
/// (`lo` marks a locked mapping, `VM_LOCKED`), or `nil` if none does.
func vmFlags(containing address: UInt) -> Set<String>? {
  var inside = false
  for line in procLines("/proc/self/smaps") {
    let fields = line.split(separator: " ", omittingEmptySubsequences: true)
    if let range = fields.first?.split(separator: "-"), range.count == 2,
      let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16)
    {
      inside = address >= start && address < end
    } else if inside && fields.first == "VmFlags:" {
      return Set(fields.dropFirst().map(String.init))
    }
  }
  return nil
}

/// Whether the kernel holds the page at `address` locked (`VM_LOCKED`).
func isLocked(_ address: UInt) -> Bool { vmFlags(containing: address)?.contains("lo") ?? false }

/// The soft and hard `RLIMIT_MEMLOCK`.
func memlockLimit() -> rlimit {
  var limit = rlimit()
  precondition(getrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &limit) == 0)
  return limit
}

/// Sets `RLIMIT_MEMLOCK`; returns whether it worked.
@discardableResult
func setMemlockLimit(_ limit: rlimit) -> Bool {
  var limit = limit
  return setrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &limit) == 0
}

/// What `body` returned, or the error it threw.
func outcome<T>(_ body: () throws(IterError) -> T) -> Result<T, IterError> {
  do throws(IterError) {
    return .success(try body())
  } catch {
    return .failure(error)
  }
}
