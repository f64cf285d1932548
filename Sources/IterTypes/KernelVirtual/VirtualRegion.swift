//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// A large, virtually contiguous run of whole pages from a
/// ``VirtualAllocator``.
///
/// The region owns its mapping: it is mapped by
/// ``VirtualAllocator/allocate(byteCount:)`` and unmapped with `munmap(2)`
/// by the region's `deinit`, when the last strong reference goes away. Its
/// ``KernelVirtualAllocation/byteCount`` is a whole number of pages; an
/// inaccessible guard page follows it.
///
/// ```swift
/// let payload = try VirtualAllocator.shared.allocate(byteCount: 1 << 20)
/// let kvecs = try KVecArray([KVec(payload, offset: 0, count: 1 << 20)])
/// ```
///
/// The corresponding kernel object is a `vmalloc` area, freed by `vfree`.
///
/// Sendable (checked by hand): as ``KernelVirtualAllocation``; the mapping is constant until it is freed.
@safe
public final class VirtualRegion: KernelVirtualAllocation, @unchecked Sendable {
  /// The allocator that counts the region.
  public let allocator: VirtualAllocator

  internal init(allocator: VirtualAllocator, base: UnsafeMutableRawPointer, count: Int) {
    self.allocator = allocator
    unsafe super.init(base: base, count: count, retentions: allocator._retentions)
  }

  deinit {
    unsafe _Mapping.unmap(_base, byteCount: _count, guardPage: true)
    allocator._unmapped(pages: pageCount)
  }

  /// The number of pages in the region.
  ///
  /// - Complexity: O(1).
  public var pageCount: Int { byteCount / IterPage.size }

  /// The pages of the region, in order.
  ///
  /// - Complexity: O(*p*) for *p* pages.
  ///
  /// The corresponding kernel function is `vmalloc_to_page`, applied to each page.
  public var pages: [IterPage] {
    let size = UInt(IterPage.size)
    return (0..<pageCount).map { IterPage(address: address + UInt($0) * size) }
  }
}

extension VirtualRegion: CustomStringConvertible {
  /// `region 0x…+8192`.
  public var description: String { "region 0x\(String(address, radix: 16))+\(byteCount)" }
}
