//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore

/// Memory that one of the library's own allocators owns (a ``SlabObject`` or
/// a ``VirtualRegion``), or that someone else owns (a ``ForeignAllocation``).
///
/// An allocation is a class instance: its memory stays mapped for exactly as
/// long as a strong reference to it exists, and is returned to its allocator
/// by its `deinit`. That is why there is no `free`: an allocation cannot be
/// freed twice, nor used after it has been freed, by construction.
///
/// Things that need the memory keep the allocation alive: a ``KVecArray``
/// holds a strong reference to the owner of each of its entries, and page
/// extraction from a kvec cursor hands back an
/// `IterRetentionKind.ownerReference` retention that holds the
/// owner until it is released.
///
/// The class is public but not `open`: the only kinds are the three in this
/// module, so every allocation's memory is real (a foreign one's is its
/// owner's, on the promise its initialiser asks for).
///
/// An allocation can be handed to, and dropped on, any thread: its stored
/// properties are constants, its retention counter is atomic, and its
/// allocator takes slots back under a `Mutex`. (That is also what lets an
/// extraction's retention be released on the thread that reaps an I/O.) The
/// bytes themselves are shared memory: who writes them when is the user's
/// business, as with any buffer.
///
/// The corresponding kernel objects are the memory behind `kmalloc` and
/// `vmalloc` pointers.
///
/// Sendable (checked by hand): its address and size are constants, and its retention count is atomic.
@safe
public class KernelVirtualAllocation: @unchecked Sendable {
  @usableFromInline
  internal let _base: UnsafeMutableRawPointer

  @usableFromInline
  internal let _count: Int

  /// Counts the extraction retentions that hold allocations of this
  /// allocation's allocator.
  internal let _retentions: _RetentionCounter

  internal init(base: UnsafeMutableRawPointer, count: Int, retentions: _RetentionCounter) {
    unsafe self._base = unsafe base
    self._count = count
    self._retentions = retentions
  }

  /// The number of usable bytes.
  ///
  /// - Complexity: O(1).
  @inlinable
  public final var byteCount: Int { _count }

  /// The address of the first byte.
  ///
  /// - Complexity: O(1).
  @inlinable
  public final var address: UInt { UInt(bitPattern: unsafe _base) }

  /// The allocation's bytes, valid while the span is in use.
  ///
  /// - Complexity: O(1).
  public final var bytes: RawSpan {
    @_lifetime(borrow self)
    get {
      let span = unsafe RawSpan(_unsafeStart: _base, byteCount: _count)
      return unsafe _overrideLifetime(span, borrowing: self)
    }
  }

  /// Calls `body` with the allocation's bytes, for reading and writing.
  ///
  /// The buffer must not escape `body`; the allocation stays alive until
  /// `body` returns.
  ///
  /// - Parameter body: Gets the whole allocation.
  /// - Returns: What `body` returns.
  /// - Throws: What `body` throws.
  /// - Complexity: O(1) plus `body`.
  @inlinable
  public final func withUnsafeMutableBytes<R, E: Error>(
    _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
  ) throws(E) -> R {
    defer { withExtendedLifetime(self) {} }
    return try unsafe body(UnsafeMutableRawBufferPointer(start: _base, count: _count))
  }

  /// A segment over `count` bytes at `offset`, for building sources by hand.
  /// Prefer ``KVecArray``, which validates the range and keeps the owner alive.
  internal final func _segment(offset: Int, count: Int) -> IterSegment {
    unsafe IterSegment(base: _base + offset, count: count)
  }
}
