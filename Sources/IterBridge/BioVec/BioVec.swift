//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// One chunk of a request as a device sees it: a physical (or bus, or I/O
/// virtual) address, a length and flags, in 16 bytes.
///
/// A request is a sequence of these, made by ``BioVecMapper`` from any
/// `IovIter` under a device's ``DMALimits``. The layout is fixed:
///
/// ```
///   0               8       12      16
///   | address (u64) | len   | flags |
/// ```
///
/// The corresponding kernel structures are `struct phys_vec` (`paddr`, `len`)
/// and the proposed `phyr`, with the 32-bit length that leaves room for flags.
///
/// Sendable: plain values.
public struct BioVec: Hashable, Sendable, CustomStringConvertible {
  /// The address of the first byte: physical, bus (with
  /// ``BioVecFlags/busAddress``) or an I/O virtual address, as the translator
  /// gave it.
  public var address: UInt64
  /// The number of bytes; at most `UInt32.max`, as the kernel's `len`.
  public var length: UInt32
  /// What the device and the driver must know about the chunk.
  public var flags: BioVecFlags

  /// Creates a chunk.
  ///
  /// - Parameters:
  ///   - address: The address of the first byte.
  ///   - length: The number of bytes.
  ///   - flags: The chunk's flags.
  /// - Complexity: O(1).
  @inlinable
  public init(address: UInt64, length: UInt32, flags: BioVecFlags = []) {
    self.address = address
    self.length = length
    self.flags = flags
  }

  /// The address one past the last byte (wrapping is impossible for chunks
  /// the mapper makes: it never crosses the top of the address space).
  ///
  /// - Complexity: O(1).
  @inlinable
  public var endAddress: UInt64 { address &+ UInt64(length) }

  /// `0x…+len` and the flags.
  public var description: String {
    "0x\(String(address, radix: 16))+\(length)" + (flags.isEmpty ? "" : " \(flags)")
  }
}

/// The flags of a ``BioVec``.
///
/// The corresponding kernel flags are `SG_DMA_BUS_ADDRESS`, `SG_DMA_SWIOTLB`
/// and `DMA_ATTR_MMIO`.
///
/// Sendable: a plain bit set.
public struct BioVecFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
  /// The raw bits.
  public var rawValue: UInt32

  /// Creates flags from raw bits.
  ///
  /// - Complexity: O(1).
  @inlinable
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// The address is a PCI bus address of peer-to-peer device memory: the
  /// device uses it as is and there is nothing to unmap (the kernel's
  /// `SG_DMA_BUS_ADDRESS`). Never merged with RAM.
  @inlinable public static var busAddress: BioVecFlags { BioVecFlags(rawValue: 1 << 0) }
  /// The memory is MMIO with no CPU mapping the driver may touch (the kernel's
  /// `DMA_ATTR_MMIO`). Never merged with RAM.
  @inlinable public static var mmio: BioVecFlags { BioVecFlags(rawValue: 1 << 1) }
  /// The chunk breaks the device's `dma_alignment` and must go through a bounce
  /// buffer (the kernel's `SG_DMA_SWIOTLB` is the mapped form of this). Set
  /// only under ``MisalignmentPolicy/bounce``; such chunks are never merged.
  @inlinable public static var needsBounce: BioVecFlags { BioVecFlags(rawValue: 1 << 2) }
  /// The last chunk of a request (the kernel's `SG_END` on the last entry).
  @inlinable public static var endOfRequest: BioVecFlags { BioVecFlags(rawValue: 1 << 3) }

  /// The flags that describe the memory itself: chunks merge only when these agree.
  @inlinable public static var memoryAttributes: BioVecFlags { BioVecFlags(rawValue: 0b11) }

  /// The names of the set flags, `[bus, mmio, bounce, end]`.
  public var description: String {
    var names: [String] = []
    if contains(.busAddress) { names.append("bus") }
    if contains(.mmio) { names.append("mmio") }
    if contains(.needsBounce) { names.append("bounce") }
    if contains(.endOfRequest) { names.append("end") }
    let rest = rawValue & ~0xF
    if rest != 0 { names.append("0x\(String(rest, radix: 16))") }
    return "[" + names.joined(separator: ", ") + "]"
  }
}
