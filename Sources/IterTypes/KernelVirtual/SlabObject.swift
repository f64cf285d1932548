//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// One object from a ``SlabAllocator``: a few bytes in a page it shares with
/// other objects.
///
/// The object owns its slot. When the last strong reference goes away, its
/// `deinit` gives the slot back to the allocator, which may hand it out again
/// at once; there is no explicit free, so an object cannot be freed twice.
/// The object keeps its allocator alive.
///
/// ```swift
/// let cache = try SlabAllocator(objectSize: 64)
/// let header = try cache.allocate(zeroed: true)
/// let kvecs = try KVecArray([KVec(header, offset: 0, count: 40)])
/// ```
///
/// The corresponding kernel object is a `kmalloc` or `kmem_cache_alloc`
/// pointer, freed by `kfree`.
///
/// Sendable (checked by hand): as ``KernelVirtualAllocation``, and its cache is `Sendable`.
@safe
public final class SlabObject: KernelVirtualAllocation, @unchecked Sendable {
  /// The allocator the object came from.
  public let allocator: SlabAllocator

  internal init(allocator: SlabAllocator, base: UnsafeMutableRawPointer, count: Int) {
    self.allocator = allocator
    unsafe super.init(base: base, count: count, retentions: allocator._retentions)
  }

  deinit {
    allocator._free(address)
  }
}

extension SlabObject: CustomStringConvertible {
  /// `slab 0x…+64`.
  public var description: String { "slab 0x\(String(address, radix: 16))+\(byteCount)" }
}
