//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

internal import Glibc

/// One page of memory, named by the address of its first byte.
///
/// Extraction (``IovIter/extractPages(maxBytes:maxPages:options:)``) lists the
/// pages under a run of bytes as values of this type. A page that a page pool
/// hands out also carries the pool's frame number, which the bridge uses to
/// stand in for a physical frame in tests.
///
/// The corresponding kernel structure is `struct page` (by pointer).
///
/// Sendable: an address and a frame number, plain values.
public struct IterPage: Hashable, Sendable, CustomStringConvertible {
  /// The page-aligned address of the page's first byte.
  public let address: UInt

  /// The frame number the owning pool gave this page, if it came from one.
  public let frame: UInt64?

  /// Creates a page value.
  ///
  /// - Parameters:
  ///   - address: The address of the page's first byte; it must be a multiple of ``IterPage/size``.
  ///   - frame: The owning pool's frame number, or `nil`.
  /// - Complexity: O(1).
  public init(address: UInt, frame: UInt64? = nil) {
    self.address = address
    self.frame = frame
  }

  /// The page that holds the byte at `address`.
  ///
  /// - Complexity: O(1).
  public init(containing address: UInt) {
    self.address = address & ~UInt(IterPage.size - 1)
    self.frame = nil
  }

  /// The machine's page size in bytes (the kernel's `PAGE_SIZE`), read once
  /// from `sysconf(_SC_PAGESIZE)`.
  public static let size: Int = {
    let s = sysconf(Int32(_SC_PAGESIZE))
    return s > 0 ? s : 4096
  }()

  /// `0x…` and, when known, the frame number.
  public var description: String {
    let a = "0x\(String(address, radix: 16))"
    if let frame { return "\(a)#\(frame)" }
    return a
  }
}
