//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// A device memory aperture as the bridge sees it: a CPU mapping of `length`
/// bytes at ``cpuAddress`` whose byte *k* a device reaches at bus address
/// ``busAddress`` + *k*.
///
/// It is a plain description (the bridge does not depend on the kind that owns
/// the mapping): build it from an `IterDeviceMemory` `DeviceMemory` as
/// `DeviceAperture(cpuAddress: bar.address, length: bar.byteCount, busAddress: bar.busAddress)`.
///
/// The corresponding kernel objects are a BAR's `pci_iomap` mapping and its
/// `pci_bus_address`, as a P2PDMA provider registers them.
///
/// Sendable: plain values.
public struct DeviceAperture: Hashable, Sendable {
  /// The CPU (virtual) address of the first byte.
  public let cpuAddress: UInt
  /// The number of bytes.
  public let length: Int
  /// The bus address of the first byte.
  public let busAddress: UInt64
  /// The memory region the aperture's runs belong to: never 0, which is RAM.
  /// Runs of different regions never merge.
  public let region: UInt32
  /// The memory flags of its runs: ``BioVecFlags/busAddress``, and
  /// ``BioVecFlags/mmio`` for memory the driver must not touch through the CPU.
  public let attributes: BioVecFlags

  /// Describes an aperture.
  ///
  /// - Parameters:
  ///   - cpuAddress: The CPU address of the first byte.
  ///   - length: The number of bytes; at least 1.
  ///   - busAddress: The bus address of the first byte.
  ///   - region: The memory region; at least 1 (default 1). Give each
  ///     device's memory its own number.
  ///   - attributes: ``BioVecFlags/busAddress`` (the default), ``BioVecFlags/mmio``
  ///     or both; nothing else.
  /// - Throws: ``DMAError/invalidLimit(name:value:reason:)`` for an empty
  ///   aperture, one that wraps the CPU or bus address space, region 0, or
  ///   attributes that are empty or not memory attributes.
  /// - Complexity: O(1).
  public init(
    cpuAddress: UInt, length: Int, busAddress: UInt64, region: UInt32 = 1,
    attributes: BioVecFlags = .busAddress
  ) throws(DMAError) {
    guard length > 0 else {
      throw .invalidLimit(
        name: "length", value: UInt64(truncatingIfNeeded: length), reason: "an aperture must not be empty")
    }
    let (_, cpuOver) = cpuAddress.addingReportingOverflow(UInt(length) - 1)
    let (_, busOver) = busAddress.addingReportingOverflow(UInt64(length) - 1)
    guard !cpuOver, !busOver else {
      throw .invalidLimit(
        name: "length", value: UInt64(length), reason: "the aperture wraps the CPU or bus address space")
    }
    guard region != 0 else {
      throw .invalidLimit(name: "region", value: 0, reason: "region 0 is RAM; device memory needs its own")
    }
    guard !attributes.isEmpty, attributes.isSubset(of: .memoryAttributes) else {
      throw .invalidLimit(
        name: "attributes", value: UInt64(attributes.rawValue),
        reason: "device memory is flagged bus address and/or MMIO, and nothing else")
    }
    self.cpuAddress = cpuAddress
    self.length = length
    self.busAddress = busAddress
    self.region = region
    self.attributes = attributes
  }

  /// Whether the CPU address `address` lies in the aperture.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func contains(cpuAddress address: UInt) -> Bool {
    address >= cpuAddress && address - cpuAddress < UInt(length)
  }
}

/// A translator that knows no memory: every address is
/// ``DMAError/notTranslatable(address:)``. It is the RAM side of a
/// ``DeviceApertureTranslator`` that translates only device memory.
///
/// Sendable: it holds nothing.
public struct NoMemoryTranslator: ReversiblePhysicalTranslator, Sendable {
  /// Creates the translator.
  @inlinable
  public init() {}

  /// Always throws ``DMAError/notTranslatable(address:)``.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func translate(_ address: UInt, length: Int) throws(DMAError) -> PhysicalRun {
    throw .notTranslatable(address: address)
  }

  /// Always `nil`.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func virtualAddress(of address: UInt64) -> UInt? { nil }
}

/// Translates device apertures to bus addresses and everything else with a
/// RAM translator: the last step for a buffer that mixes RAM and device memory.
///
/// A byte in an aperture's CPU mapping is at `busAddress + offset`, in a run
/// that lasts to the aperture's end, flagged with the aperture's attributes
/// (``BioVecFlags/busAddress`` by default) and region. ``BioVecMapper`` merges
/// neighbouring runs only when flags and region agree, so device chunks never
/// merge with RAM chunks (or with another aperture's), even when a RAM chunk
/// ends at exactly the bus address where a device chunk starts. Any other
/// address goes to ``ram``, asked for no more bytes than lie before the next
/// aperture, so a RAM run never reaches into device memory.
///
/// ```swift
/// let aperture = try DeviceAperture(cpuAddress: bar.address, length: bar.byteCount, busAddress: bar.busAddress)
/// let translator = try DeviceApertureTranslator(apertures: [aperture], ram: PagePoolTranslator(pool: pool))
/// var mapper = BioVecMapper(limits: .default, translator: translator)
/// ```
///
/// The corresponding kernel logic is `pci_p2pdma_map_type` and
/// `pci_p2pdma_bus_addr_map` (a P2PDMA page gets its bus address and
/// `SG_DMA_BUS_ADDRESS`), with `zone_device_pages_compatible` keeping it
/// apart from RAM.
///
/// Sendable exactly when its RAM translator is: its apertures are plain values.
public struct DeviceApertureTranslator<RAM: PhysicalTranslator>: PhysicalTranslator {
  /// The apertures, sorted by CPU address.
  public let apertures: [DeviceAperture]
  /// The translator for every address outside the apertures.
  public let ram: RAM

  /// Creates a translator over `apertures`, with `ram` for everything else.
  ///
  /// - Parameters:
  ///   - apertures: The apertures, in any order.
  ///   - ram: The RAM translator (``PagePoolTranslator``, ``PagemapTranslator``,
  ///     ``IdentityTranslator``, ``IOVATableTranslator``…).
  /// - Throws: ``DMAError/invalidLimit(name:value:reason:)`` when two
  ///   apertures overlap in CPU or in bus addresses.
  /// - Complexity: O(*n* log *n*) for *n* apertures.
  public init(apertures: [DeviceAperture], ram: RAM) throws(DMAError) {
    let sorted = apertures.sorted { $0.cpuAddress < $1.cpuAddress }
    for (a, b) in zip(sorted, sorted.dropFirst()) where a.contains(cpuAddress: b.cpuAddress) {
      throw .invalidLimit(
        name: "cpuAddress", value: UInt64(b.cpuAddress), reason: "the aperture overlaps another in CPU addresses")
    }
    let byBus = apertures.sorted { $0.busAddress < $1.busAddress }
    for (a, b) in zip(byBus, byBus.dropFirst()) where b.busAddress - a.busAddress < UInt64(a.length) {
      throw .invalidLimit(
        name: "busAddress", value: b.busAddress, reason: "the aperture overlaps another in bus addresses")
    }
    self.apertures = sorted
    self.ram = ram
  }

  /// The index of the first aperture that ends after `address`.
  @usableFromInline
  internal func _firstEndingAfter(_ address: UInt) -> Int {
    var lo = 0
    var hi = apertures.count
    while lo < hi {
      let mid = (lo + hi) / 2
      let a = apertures[mid]
      if a.cpuAddress + UInt(a.length - 1) < address { lo = mid + 1 } else { hi = mid }
    }
    return lo
  }

  /// The bus address of `address` in its aperture, contiguous to the
  /// aperture's end; otherwise ``ram``'s run, cut before the next aperture.
  ///
  /// - Throws: ``ram``'s errors for an address outside every aperture.
  /// - Complexity: O(log *n*) for *n* apertures, plus ``ram``'s cost.
  public func translate(_ address: UInt, length: Int) throws(DMAError) -> PhysicalRun {
    let i = _firstEndingAfter(address)
    guard i < apertures.count else { return try ram.translate(address, length: length) }
    let a = apertures[i]
    if a.contains(cpuAddress: address) {
      let offset = address - a.cpuAddress
      return PhysicalRun(
        address: a.busAddress + UInt64(offset), length: Swift.min(length, a.length - Int(offset)),
        attributes: a.attributes, region: a.region)
    }
    // RAM below aperture i: never ask past its start.
    let room = a.cpuAddress - address
    let asked = room < UInt(length) ? Int(room) : length
    return try ram.translate(address, length: asked)
  }
}

extension DeviceApertureTranslator where RAM == NoMemoryTranslator {
  /// Creates a translator over `apertures` only: every other address is
  /// ``DMAError/notTranslatable(address:)``.
  ///
  /// - Throws: As ``init(apertures:ram:)``.
  /// - Complexity: O(*n* log *n*) for *n* apertures.
  public init(apertures: [DeviceAperture]) throws(DMAError) {
    try self.init(apertures: apertures, ram: NoMemoryTranslator())
  }
}

extension DeviceApertureTranslator: ReversiblePhysicalTranslator where RAM: ReversiblePhysicalTranslator {
  /// The CPU address of the byte at bus address `address` when an aperture
  /// holds it, otherwise what ``ram`` says. (A RAM address equal to a bus
  /// address is read as the bus address: keep the two ranges apart in tests
  /// that read bytes back.)
  ///
  /// - Complexity: O(*n*) for *n* apertures, plus ``ram``'s cost.
  public func virtualAddress(of address: UInt64) -> UInt? {
    for a in apertures where address >= a.busAddress && address - a.busAddress < UInt64(a.length) {
      return a.cpuAddress + UInt(address - a.busAddress)
    }
    return ram.virtualAddress(of: address)
  }
}

extension DeviceApertureTranslator: Sendable where RAM: Sendable {}
