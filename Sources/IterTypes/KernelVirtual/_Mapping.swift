//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

internal import Glibc
import IterCore

/// Anonymous private mappings: the page source behind both allocators.
internal enum _Mapping {
  /// Maps `byteCount` bytes (a multiple of the page size) readable and
  /// writable, zero-filled. With `guardPage`, one more page follows that
  /// cannot be touched (the guard page `vmalloc` leaves after each area).
  ///
  /// - Throws: `IterError.systemCall(name:errno:)` for a failed `mmap(2)`
  ///   or `mprotect(2)`; nothing stays mapped then.
  internal static func map(
    byteCount: Int, guardPage: Bool
  ) throws(IterError) -> UnsafeMutableRawPointer {
    let pageSize = IterPage.size
    let total = guardPage ? byteCount + pageSize : byteCount
    let raw = unsafe mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    guard let base = unsafe raw, UInt(bitPattern: base) != UInt.max else {
      throw .systemCall(name: "mmap", errno: errno)
    }
    if guardPage {
      if unsafe mprotect(base + byteCount, pageSize, PROT_NONE) != 0 {
        let code = errno
        _ = unsafe munmap(base, total)
        throw .systemCall(name: "mprotect", errno: code)
      }
    }
    return unsafe base
  }

  /// Unmaps what `map(byteCount:guardPage:)` mapped.
  internal static func unmap(_ base: UnsafeMutableRawPointer, byteCount: Int, guardPage: Bool) {
    let total = guardPage ? byteCount + IterPage.size : byteCount
    let result = unsafe munmap(base, total)
    assert(result == 0, "munmap of \(total) bytes failed with errno \(errno)")
  }
}
