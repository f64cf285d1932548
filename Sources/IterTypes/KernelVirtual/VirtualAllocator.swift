//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore
import Synchronization

/// Hands out large, page-granular, virtually contiguous regions: the kernel's
/// `vmalloc`, in user space.
///
/// Each ``VirtualRegion`` is its own `mmap(2)` mapping of whole pages,
/// followed by an inaccessible guard page as `vmalloc` leaves one, and is
/// unmapped with `munmap(2)` when its last reference goes away. The allocator
/// only counts what is mapped, so tests (and servers) can see leaks; it is
/// thread-safe.
///
/// Use ``shared`` unless you want counts of your own.
///
/// The corresponding kernel functions are `vmalloc` and `vfree`.
///
/// Sendable: its bookkeeping is behind a lock.
public final class VirtualAllocator: Sendable {
  internal let _counts: Mutex<(regions: Int, pages: Int)>

  internal let _retentions = _RetentionCounter()

  /// An allocator for anyone who does not need separate counts.
  public static let shared = VirtualAllocator()

  /// The largest byte count ``allocate(byteCount:)`` accepts before rounding:
  /// whole pages plus the guard page must fit in `Int`. The address space
  /// runs out long before this; that is reported by `mmap(2)`.
  public static let maximumByteCount: Int = (Int.max & ~(IterPage.size - 1)) - IterPage.size

  /// Creates an allocator with its own counts.
  ///
  /// - Complexity: O(1).
  public init() {
    self._counts = Mutex((regions: 0, pages: 0))
  }

  /// Maps a region of at least `byteCount` bytes, rounded up to whole pages
  /// and zero-filled.
  ///
  /// - Parameter byteCount: The bytes wanted; at least 1.
  /// - Returns: The region; dropping its last reference unmaps it.
  /// - Throws: `IterError.negativeCount(argument:value:)` for a
  ///   negative count; `IterError.invalidArgument(argument:value:reason:)`
  ///   for 0 (`vmalloc(0)` fails too);
  ///   `IterError.lengthOverflow(total:limit:)` above
  ///   ``maximumByteCount``; `IterError.systemCall(name:errno:)`
  ///   when `mmap(2)` or `mprotect(2)` fails (`ENOMEM` for a region larger
  ///   than the address space can hold).
  /// - Complexity: O(1) system calls; the kernel maps pages on first touch.
  ///
  /// The corresponding kernel function is `vmalloc`.
  public func allocate(byteCount: Int) throws(IterError) -> VirtualRegion {
    guard byteCount >= 0 else { throw .negativeCount(argument: "byteCount", value: byteCount) }
    guard byteCount > 0 else {
      throw .invalidArgument(
        argument: "byteCount", value: 0, reason: "a region holds at least one byte")
    }
    let limit = Self.maximumByteCount
    guard byteCount <= limit else { throw .lengthOverflow(total: byteCount, limit: limit) }
    let pageSize = IterPage.size
    let rounded = (byteCount + pageSize - 1) & ~(pageSize - 1)
    let base = try unsafe _Mapping.map(byteCount: rounded, guardPage: true)
    let pages = rounded / pageSize
    _counts.withLock { counts in
      counts.regions += 1
      counts.pages += pages
    }
    return unsafe VirtualRegion(allocator: self, base: base, count: rounded)
  }

  /// Called once by a region's `deinit`, after `munmap(2)`.
  internal func _unmapped(pages: Int) {
    _counts.withLock { counts in
      counts.regions -= 1
      counts.pages -= pages
    }
  }

  /// The number of extraction retentions that hold this allocator's
  /// regions now: each successful extraction from a ``KVecArray`` entry over
  /// one of its regions adds one until the retention is released.
  ///
  /// Use it to check that every extraction was released (0 when none is held).
  ///
  /// - Complexity: O(1).
  public var extractionRetentionCount: Int { _retentions.value }

  /// The number of regions mapped now.
  ///
  /// - Complexity: O(1) (takes the lock).
  public var liveRegionCount: Int { _counts.withLock { $0.regions } }

  /// The number of pages those regions span, without guard pages.
  ///
  /// - Complexity: O(1) (takes the lock).
  public var mappedPageCount: Int { _counts.withLock { $0.pages } }
}
