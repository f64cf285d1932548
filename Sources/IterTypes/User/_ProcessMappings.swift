//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
package import IterCore

/// One mapping (VMA) of the process, as far as pinning cares.
package struct _Mapping: Equatable, Sendable {
  /// The first byte.
  package var start: UInt
  /// The byte after the last.
  package var end: UInt
  /// Whether any of read, write or execute is allowed (`PROT_NONE` allows none).
  package var isAccessible: Bool

  package init(start: UInt, end: UInt, isAccessible: Bool) {
    self.start = start
    self.end = end
    self.isAccessible = isAccessible
  }
}

/// What the kernel says about the process's mappings, read without touching
/// the memory: the `PROCMAP_QUERY` ioctl on `/proc/self/maps` (Linux 6.11 and
/// later, one call per mapping), or the text of `/proc/self/maps` on older
/// kernels (read up to the range's end only). Either way the cost grows with
/// the number of mappings, never with the number of pages.
package enum _ProcessMappings {
  /// The mappings that overlap `[start, end)`, in address order.
  ///
  /// Mappings the kernel lists but `mlock(2)` cannot reach (the
  /// `[vsyscall]` page, which is not in the process's own VMA tree) are left
  /// out. With `textOnly`, the text is read even where the ioctl works (so
  /// that tests can compare the two).
  package static func mappings(
    from start: UInt, to end: UInt, textOnly: Bool = false
  ) throws(IterError) -> [_Mapping] {
    let fd = unsafe open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .systemCall(name: "open(/proc/self/maps)", errno: errno) }
    defer { close(fd) }
    if !textOnly, let found = _query(fd: fd, from: start, to: end) { return found }
    return try _parseText(fd: fd, from: start, to: end)
  }

  /// Throws unless every byte of `[address, address + count)` lies in
  /// `mappings` (which cover at least that range, in order) and is accessible.
  ///
  /// The error is `IterError.badAddress(address:count:reason:)` for the first
  /// part that is not: its address and length (within the range), and the
  /// reason `"not mapped"` or `"no access (PROT_NONE)"`.
  package static func check(
    _ mappings: [_Mapping], address: UInt, count: Int
  ) throws(IterError) {
    let end = address &+ UInt(count)
    var cursor = address
    for mapping in mappings where mapping.end > cursor {
      if mapping.start >= end { break }
      if mapping.start > cursor {
        throw _bad(cursor, mapping.start, reason: "not mapped")
      }
      if !mapping.isAccessible {
        throw _bad(cursor, min(mapping.end, end), reason: "no access (PROT_NONE)")
      }
      cursor = mapping.end
      if cursor >= end { return }
    }
    if cursor < end { throw _bad(cursor, end, reason: "not mapped") }
  }

  private static func _bad(_ from: UInt, _ to: UInt, reason: String) -> IterError {
    .badAddress(address: from, count: Int(clamping: to - from), reason: reason)
  }

  // MARK: - PROCMAP_QUERY

  /// `_IOWR('f', 17, struct procmap_query)`; the structure is 104 bytes.
  private static let _procmapQuery: UInt = 0xC068_6611
  private static let _queryWords = 13
  /// `PROCMAP_QUERY_COVERING_OR_NEXT_VMA`.
  private static let _coveringOrNext: UInt64 = 0x10
  /// `PROCMAP_QUERY_VMA_READABLE | _WRITABLE | _EXECUTABLE`.
  private static let _accessFlags: UInt64 = 0x7

  /// The mappings from the ioctl, or `nil` when the kernel does not have it.
  private static func _query(fd: Int32, from start: UInt, to end: UInt) -> [_Mapping]? {
    var found: [_Mapping] = []
    var address = start
    while address < end {
      // struct procmap_query, as 64-bit words: size, query_flags, query_addr,
      // vma_start, vma_end, vma_flags, then fields this query does not use.
      let answer = unsafe withUnsafeTemporaryAllocation(of: UInt64.self, capacity: _queryWords) {
        words -> (result: Int32, errno: Int32, start: UInt64, end: UInt64, flags: UInt64) in
        unsafe words.initialize(repeating: 0)
        unsafe words[0] = UInt64(_queryWords * MemoryLayout<UInt64>.size)
        unsafe words[1] = _coveringOrNext
        unsafe words[2] = UInt64(address)
        let result = unsafe ioctl(fd, _procmapQuery, UnsafeMutableRawPointer(words.baseAddress!))
        return unsafe (result, errno, words[3], words[4], words[5])
      }
      if answer.result != 0 {
        // ENOENT: no mapping at or after `address`. Anything else (ENOTTY,
        // EINVAL on a kernel without the ioctl): read the text instead.
        if answer.errno == ENOENT { break }
        return nil
      }
      let mapping = _Mapping(
        start: UInt(answer.start), end: UInt(answer.end),
        isAccessible: answer.flags & _accessFlags != 0)
      guard mapping.end > address else { return nil }  // not the answer asked for
      if mapping.start >= end { break }
      found.append(mapping)
      address = mapping.end
    }
    return found
  }

  // MARK: - /proc/self/maps text

  /// The mappings from the text of `/proc/self/maps`, read line by line and
  /// only up to the first mapping that starts at or after `end`.
  private static func _parseText(
    fd: Int32, from start: UInt, to end: UInt
  ) throws(IterError) -> [_Mapping] {
    var found: [_Mapping] = []
    let readErrno = _ProcText.forEachLine(fd: fd) { line in
      guard let mapping = _parseLine(line) else { return true }
      if mapping.start >= end { return false }
      if mapping.end > start { found.append(mapping) }
      return true
    }
    if let code = readErrno { throw .systemCall(name: "read(/proc/self/maps)", errno: code) }
    return found
  }

  /// `start-end perms offset dev inode [path]`; `nil` for a line that is not
  /// a mapping the process can lock (or is malformed).
  package static func _parseLine(_ line: [UInt8]) -> _Mapping? {
    var i = 0
    func hex() -> UInt? {
      var value: UInt = 0
      let first = i
      while i < line.count, let digit = _hexDigit(line[i]) {
        guard value >> 60 == 0 else { return nil }
        value = value << 4 | UInt(digit)
        i += 1
      }
      return i > first ? value : nil
    }
    guard let start = hex(), i < line.count, line[i] == UInt8(ascii: "-") else { return nil }
    i += 1
    guard let end = hex(), end > start, i + 4 < line.count, line[i] == UInt8(ascii: " ")
    else { return nil }
    let permissions = line[(i + 1)...(i + 3)]
    let isAccessible = permissions.contains { $0 != UInt8(ascii: "-") }
    if line.count >= 10 && line.suffix(10).elementsEqual("[vsyscall]".utf8) { return nil }
    return _Mapping(start: start, end: end, isAccessible: isAccessible)
  }

  private static func _hexDigit(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
  }
}

/// Reading the text files under `/proc`.
internal enum _ProcText {
  /// Calls `body` with each line of the file open at `fd` (without its
  /// newline) until `body` returns `false` or the file ends. Returns `errno`
  /// when a read fails, `nil` otherwise.
  internal static func forEachLine(fd: Int32, _ body: ([UInt8]) -> Bool) -> Int32? {
    var line: [UInt8] = []
    line.reserveCapacity(256)
    let chunk = 16 * 1024
    return unsafe withUnsafeTemporaryAllocation(byteCount: chunk, alignment: 8) {
      buffer -> Int32? in
      while true {
        let n = unsafe read(fd, buffer.baseAddress, chunk)
        if n < 0 {
          if errno == EINTR { continue }
          return errno
        }
        if n == 0 {
          if !line.isEmpty { _ = body(line) }
          return nil
        }
        for k in 0..<n {
          let byte = unsafe buffer[k]
          if byte == UInt8(ascii: "\n") {
            if !body(line) { return nil }
            line.removeAll(keepingCapacity: true)
          } else {
            line.append(byte)
          }
        }
      }
    }
  }

  /// The value after `name` (for example `"VmLck:"`) in the `key: value` file
  /// at `path`, with leading blanks dropped; `nil` when it cannot be read.
  internal static func field(_ name: String, in path: String) -> String? {
    let fd = unsafe open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    let key = Array(name.utf8)
    var value: String? = nil
    _ = forEachLine(fd: fd) { line in
      guard line.starts(with: key) else { return true }
      let rest = line.dropFirst(key.count).drop { $0 == UInt8(ascii: " ") || $0 == 9 }
      value = String(decoding: rest, as: UTF8.self)
      return false
    }
    return value
  }
}
