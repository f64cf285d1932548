//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// One entry of a ``KVecArray``: a range of bytes inside an allocation.
///
/// A `KVec` only describes the range; ``KVecArray`` checks it (no negative
/// offset or length, nothing outside the allocation) when the entry is added.
/// The entry holds its owner strongly.
///
/// The corresponding kernel structure is `struct kvec` (`iov_base`,
/// `iov_len`), with the owner made explicit.
///
/// Sendable: a `Sendable` owner and two integers.
public struct KVec {
  /// The allocation the bytes belong to.
  public let owner: KernelVirtualAllocation
  /// Where the range starts in the allocation.
  public let offset: Int
  /// The number of bytes; 0 is allowed.
  public let count: Int

  /// Describes `count` bytes at `offset` in `owner`.
  ///
  /// - Complexity: O(1).
  @inlinable
  public init(_ owner: KernelVirtualAllocation, offset: Int, count: Int) {
    self.owner = owner
    self.offset = offset
    self.count = count
  }

  /// Describes the whole of `owner`.
  ///
  /// - Complexity: O(1).
  @inlinable
  public init(_ owner: KernelVirtualAllocation) {
    self.init(owner, offset: 0, count: owner.byteCount)
  }
}

extension KVec: CustomStringConvertible {
  /// `0x…+count` followed by the owner.
  public var description: String {
    "0x\(String(owner.address &+ UInt(bitPattern: offset), radix: 16))+\(count) in \(owner)"
  }
}

extension KVec: Sendable {}
