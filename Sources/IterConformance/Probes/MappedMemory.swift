//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore

/// The process's mappings as `/proc/self/maps` lists them, to check a kind's
/// segments before the suite reads or writes through them: a segment at a
/// wild address would otherwise end the test process instead of being
/// reported.
struct MappedMemory {
  struct Region {
    var start: UInt
    var end: UInt
    var readable: Bool
    var writable: Bool
  }
  /// Sorted by start; `nil` when the file could not be read (then nothing is refused).
  var regions: [Region]?

  /// Reads `/proc/self/maps` now.
  init() {
    let fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    defer { close(fd) }
    var text: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { break }
      text += chunk[0..<n]
    }
    var regions: [Region] = []
    for line in text.split(separator: UInt8(ascii: "\n")) {
      // "start-end perms offset dev inode path"
      let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 2)
      guard fields.count >= 2 else { continue }
      let range = fields[0].split(separator: UInt8(ascii: "-"))
      guard range.count == 2, let start = UInt(String(decoding: range[0], as: UTF8.self), radix: 16),
        let end = UInt(String(decoding: range[1], as: UTF8.self), radix: 16), fields[1].count >= 2
      else { continue }
      let perms = Array(fields[1])
      regions.append(
        Region(start: start, end: end, readable: perms[0] == UInt8(ascii: "r"), writable: perms[1] == UInt8(ascii: "w"))
      )
    }
    self.regions = regions.sorted { $0.start < $1.start }
  }

  /// Why `count` bytes from `address` cannot be read (and, with `write`,
  /// written) by the suite, or `nil` when every byte is in such a mapping.
  func problem(address: UInt, count: Int, write: Bool) -> String? {
    guard let regions, count > 0 else { return nil }
    let (end, overflow) = address.addingReportingOverflow(UInt(count))
    if overflow { return "its \(count) bytes run past the end of the address space" }
    var at = address
    // The first region that ends after `at`.
    var lo = 0
    var hi = regions.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if regions[mid].end <= at { lo = mid + 1 } else { hi = mid }
    }
    var k = lo
    while at < end {
      guard k < regions.count, regions[k].start <= at else {
        return "byte \(at - address) of it is not mapped"
      }
      guard regions[k].readable, !write || regions[k].writable else {
        return "byte \(at - address) of it is in a mapping that is not \(write ? "readable and writable" : "readable")"
      }
      at = regions[k].end
      k += 1
    }
    return nil
  }
}
