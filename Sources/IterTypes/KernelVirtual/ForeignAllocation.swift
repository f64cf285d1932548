//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// Memory that someone else owns, held the way the library holds its own
/// allocations: through an owner that stays alive while anything needs the bytes.
///
/// A `ByteBuffer`'s storage, a `Data`'s bytes or a buffer from another
/// allocator becomes a ``KernelVirtualAllocation`` whose life is tied to
/// ``owner``: a ``KVecArray`` entry over it keeps the owner alive, and a page
/// extraction hands back an `IterRetentionKind.ownerReference` retention that
/// keeps it alive until released, even after every cursor, array and other
/// reference to the owner is gone.
///
/// ```swift
/// let buffer = ByteBuffer(bytes: payload)           // any value whose life keeps the bytes
/// let allocation = try buffer.withUnsafeReadableBytes { bytes in
///   try ForeignAllocation(unsafeBase: UnsafeMutableRawPointer(mutating: bytes.baseAddress!),
///                         count: bytes.count, owner: buffer)
/// }
/// let kvecs = try KVecArray([KVec(allocation)])
/// ```
///
/// The initialiser is unsafe in the way escaping a pointer always is: the
/// caller promises that `base..<base+count` stays mapped, at the same address,
/// for as long as `owner` is alive and unchanged. Values with stable heap
/// storage (a class instance's buffer, a copy-on-write value whose storage is
/// not mutated through another copy) keep that promise; a value whose bytes
/// live inline (a small `Data`) does not.
///
/// Whether the bytes may be written is the owner's business too: a cursor
/// over a source-only kind never writes them, but
/// ``KernelVirtualAllocation/withUnsafeMutableBytes(_:)`` can.
///
/// Sendable (checked by hand): as ``KernelVirtualAllocation``, and its owner
/// is `Sendable`.
@safe
public final class ForeignAllocation: KernelVirtualAllocation, @unchecked Sendable {
  /// The value that keeps the memory alive.
  public let owner: any Sendable

  /// Describes `count` bytes at `base`, kept alive by `owner`.
  ///
  /// - Parameters:
  ///   - base: The first byte; it must stay valid while `owner` lives.
  ///   - count: The number of bytes.
  ///   - owner: Anything whose life keeps the bytes mapped; it is held until
  ///     the allocation and every retention taken on it are gone.
  /// - Throws: `IterError.negativeCount(argument:value:)` for a negative
  ///   `count`; nothing is held then.
  /// - Complexity: O(1).
  public init(unsafeBase base: UnsafeMutableRawPointer, count: Int, owner: any Sendable) throws(IterError) {
    guard count >= 0 else { throw .negativeCount(argument: "count", value: count) }
    self.owner = owner
    unsafe super.init(base: base, count: count, retentions: _RetentionCounter())
  }

  /// The extraction retentions that hold this allocation right now.
  ///
  /// - Complexity: O(1).
  public var extractionRetentionCount: Int { _retentions.value }
}

extension ForeignAllocation: CustomStringConvertible {
  /// `foreign 0x…+count`.
  public var description: String { "foreign 0x\(String(address, radix: 16))+\(byteCount)" }
}

extension KernelVirtualAllocation {
  /// Takes the hold a kvec extraction takes on its entry's owner: an
  /// `IterRetentionKind.ownerReference` retention that keeps this allocation
  /// (and so its memory) alive, counted in its allocator's
  /// `extractionRetentionCount` (a ``ForeignAllocation``'s own) until released.
  ///
  /// Kinds of memory outside the library call this from their
  /// `extractPages(at:maxBytes:maxPages:options:)` to hold memory the way
  /// ``KVecArray`` does.
  ///
  /// - Returns: A retention whose release, on any thread, drops the hold once.
  /// - Complexity: O(1).
  public final func ownerRetention() -> IterRetention {
    // The closure holds `self` strongly until the retention is destroyed,
    // right after its release runs.
    _retentions.increment()
    return IterRetention(kind: .ownerReference) { self._retentions.decrement() }
  }
}
