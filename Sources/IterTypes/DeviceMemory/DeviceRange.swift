//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// One entry of a ``DeviceRangeArray``: a range of bytes inside a device's
/// aperture.
///
/// A `DeviceRange` only describes the range; ``DeviceRangeArray`` checks it
/// (no negative offset or length, nothing outside the aperture) when the
/// entry is added. The entry holds its aperture strongly.
///
/// The corresponding kernel structure is a `bio_vec` over a P2PDMA page, or a
/// `phys_vec` over a BAR, with the aperture made explicit.
///
/// Sendable: a `Sendable` aperture and two integers.
public struct DeviceRange {
  /// The aperture the bytes belong to.
  public let memory: DeviceMemory
  /// Where the range starts in the aperture.
  public let offset: Int
  /// The number of bytes; 0 is allowed.
  public let count: Int

  /// Describes `count` bytes at `offset` in `memory`.
  ///
  /// - Complexity: O(1).
  @inlinable
  public init(_ memory: DeviceMemory, offset: Int, count: Int) {
    self.memory = memory
    self.offset = offset
    self.count = count
  }

  /// Describes the whole of `memory`.
  ///
  /// - Complexity: O(1).
  @inlinable
  public init(_ memory: DeviceMemory) {
    self.init(memory, offset: 0, count: memory.byteCount)
  }

  /// The bus address of the range's first byte, or `nil` when the offset is
  /// outside the aperture.
  ///
  /// - Complexity: O(1).
  public var busAddress: UInt64? { memory.busAddress(atOffset: offset) }
}

extension DeviceRange: CustomStringConvertible {
  /// `+offset+count in device 0x…`.
  public var description: String { "+\(offset)+\(count) in \(memory)" }
}

extension DeviceRange: Sendable {}
