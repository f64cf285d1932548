//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc

/// What the kernel says about this process's mappings, for checking that
/// memory is (or is not) mapped without touching it.
enum ProcessMaps {
  /// The permissions (`rw-p`, `---p`, ...) of the mapping in
  /// `/proc/self/maps` that contains `address`, or `nil` if none does.
  static func permissions(containing address: UInt) -> String? {
    guard let file = fopen("/proc/self/maps", "r") else { return nil }
    defer { fclose(file) }
    var line: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0 {
      let text = String(cString: line!)
      let fields = text.split(separator: " ", omittingEmptySubsequences: true)
      guard fields.count >= 2 else { continue }
      let range = fields[0].split(separator: "-")
      guard range.count == 2, let start = UInt(range[0], radix: 16),
        let end = UInt(range[1], radix: 16)
      else { continue }
      if address >= start && address < end { return String(fields[1]) }
    }
    return nil
  }

  /// Whether every page of `[address, address + count)` is mapped, by
  /// `mincore(2)` (which fails with `ENOMEM` on an unmapped page).
  static func isMapped(_ address: UInt, count: Int) -> Bool {
    let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    let start = address & ~UInt(pageSize - 1)
    let length = Int(address - start) + count
    var vector = [UInt8](repeating: 0, count: (length + pageSize - 1) / pageSize)
    return vector.withUnsafeMutableBufferPointer { buffer in
      mincore(UnsafeMutableRawPointer(bitPattern: start), length, buffer.baseAddress) == 0
    }
  }
}
