//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// The caller's own IOVA mappings: what a VFIO or SPDK user holds after
/// `VFIO_IOMMU_MAP_DMA` (or `spdk_mem_register`).
///
/// Each mapping sends a virtual range to a device range, with memory flags and
/// a region (device memory that must not merge with RAM). Mappings may not
/// overlap in virtual addresses.
///
/// Sendable: a value table of mappings.
public struct IOVATableTranslator: ReversiblePhysicalTranslator, Sendable {
  /// One mapping.
  ///
  /// Sendable: plain values.
  public struct Mapping: Hashable, Sendable {
    /// The first virtual address.
    public var virtualAddress: UInt
    /// The number of bytes.
    public var length: Int
    /// The device address of the first byte.
    public var iova: UInt64
    /// ``BioVecFlags/busAddress`` or ``BioVecFlags/mmio`` for device memory.
    public var attributes: BioVecFlags
    /// The memory region, 0 for RAM.
    public var region: UInt32

    /// Creates a mapping.
    ///
    /// - Complexity: O(1).
    public init(virtualAddress: UInt, length: Int, iova: UInt64, attributes: BioVecFlags = [], region: UInt32 = 0) {
      self.virtualAddress = virtualAddress
      self.length = length
      self.iova = iova
      self.attributes = attributes
      self.region = region
    }
  }

  /// The mappings, sorted by virtual address.
  public private(set) var mappings: [Mapping] = []

  /// An empty table.
  public init() {}

  /// Adds a mapping (the user's `VFIO_IOMMU_MAP_DMA`).
  ///
  /// - Throws: ``DMAError/invalidLimit(name:value:reason:)`` for an empty
  ///   mapping, one that wraps either address space, or one that overlaps
  ///   another in virtual addresses.
  /// - Complexity: O(*n*) for *n* mappings.
  public mutating func map(_ mapping: Mapping) throws(DMAError) {
    guard mapping.length > 0 else {
      throw .invalidLimit(name: "length", value: 0, reason: "a mapping must not be empty")
    }
    let (vEnd, vOver) = mapping.virtualAddress.addingReportingOverflow(UInt(mapping.length) - 1)
    let (_, iOver) = mapping.iova.addingReportingOverflow(UInt64(mapping.length) - 1)
    guard !vOver, !iOver else {
      throw .invalidLimit(
        name: "length", value: UInt64(mapping.length), reason: "the mapping wraps the address space")
    }
    let i = _insertionIndex(mapping.virtualAddress)
    if i > 0 {
      let p = mappings[i - 1]
      guard p.virtualAddress + UInt(p.length - 1) < mapping.virtualAddress else {
        throw .invalidLimit(
          name: "virtualAddress", value: UInt64(mapping.virtualAddress), reason: "overlaps another mapping")
      }
    }
    if i < mappings.count {
      guard vEnd < mappings[i].virtualAddress else {
        throw .invalidLimit(
          name: "virtualAddress", value: UInt64(mapping.virtualAddress), reason: "overlaps another mapping")
      }
    }
    mappings.insert(mapping, at: i)
  }

  /// Removes the mapping that starts at `virtualAddress` (the user's
  /// `VFIO_IOMMU_UNMAP_DMA`); returns it, or `nil` if there is none.
  ///
  /// - Complexity: O(*n*).
  @discardableResult
  public mutating func unmap(virtualAddress: UInt) -> Mapping? {
    let i = _insertionIndex(virtualAddress)
    guard i < mappings.count, mappings[i].virtualAddress == virtualAddress else { return nil }
    return mappings.remove(at: i)
  }

  @usableFromInline
  internal func _insertionIndex(_ address: UInt) -> Int {
    var lo = 0
    var hi = mappings.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if mappings[mid].virtualAddress < address { lo = mid + 1 } else { hi = mid }
    }
    return lo
  }

  /// The device address of `address`, contiguous to the end of its mapping.
  ///
  /// - Throws: ``DMAError/notTranslatable(address:)`` for an unmapped address.
  /// - Complexity: O(log *n*).
  public func translate(_ address: UInt, length: Int) throws(DMAError) -> PhysicalRun {
    // The last mapping that starts at or before `address`.
    var i = _insertionIndex(address)
    if i == mappings.count || mappings[i].virtualAddress != address { i -= 1 }
    guard i >= 0 else { throw .notTranslatable(address: address) }
    let m = mappings[i]
    let offset = address - m.virtualAddress
    guard offset < UInt(m.length) else { throw .notTranslatable(address: address) }
    return PhysicalRun(
      address: m.iova + UInt64(offset), length: Swift.min(length, m.length - Int(offset)),
      attributes: m.attributes, region: m.region)
  }

  /// The virtual address mapped at device address `address`.
  ///
  /// - Complexity: O(*n*).
  public func virtualAddress(of address: UInt64) -> UInt? {
    for m in mappings where address >= m.iova && address - m.iova < UInt64(m.length) {
      return m.virtualAddress + UInt(address - m.iova)
    }
    return nil
  }
}
