//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

internal import IterCore

/// Turns virtual addresses into the addresses a device uses, one contiguous
/// run at a time.
///
/// Translation is the last step before a device: everything above it stays in
/// virtual addresses. Conformers:
///
/// | Translator | Addresses | Use |
/// |---|---|---|
/// | ``PagemapTranslator`` | physical, from `/proc/self/pagemap` | real frames (needs `CAP_SYS_ADMIN`) |
/// | ``PagePoolTranslator`` | a page pool's frame numbers | deterministic tests |
/// | ``IdentityTranslator`` | IOVA = VA | an IOMMU identity map |
/// | ``IOVATableTranslator`` | the caller's IOVA mappings | VFIO or SPDK users |
/// | ``DeviceApertureTranslator`` | bus addresses of device apertures, a RAM translator for the rest | device memory
/// (BARs, P2P) |
///
/// The corresponding SPDK function is `spdk_vtophys(buf, &size)`, whose size
/// out-parameter is ``PhysicalRun/length``.
///
/// Concurrency: the protocol does not require `Sendable`; the stateless built-in translators are, the caching
/// ``PagemapTranslator`` is not.
public protocol PhysicalTranslator {
  /// Translates the first bytes of `length` bytes at `address`.
  ///
  /// - Parameters:
  ///   - address: The virtual address of the first byte, with any pointer tag
  ///     already stripped.
  ///   - length: The bytes wanted; at least 1.
  /// - Returns: Where the first byte is, and how many of the `length` bytes
  ///   stay contiguous from there (at least 1, at most `length`).
  /// - Throws: ``DMAError`` when the first byte has no address to give.
  func translate(_ address: UInt, length: Int) throws(DMAError) -> PhysicalRun

  /// Translates `length` bytes at `address` into consecutive runs, as many
  /// as `runs` holds, in one call.
  ///
  /// The runs are the ones successive ``translate(_:length:)`` calls would
  /// give, in order: each starts where the one before ended. The call stops
  /// when the bytes are covered or `runs` is full, and also at a byte that
  /// has no address, once at least one run was written: the runs before it
  /// are returned, and a call from that byte throws its error. Nothing past
  /// the returned count is written.
  ///
  /// The default calls ``translate(_:length:)`` once a run; a translator
  /// that reads its answers in batches (``PagemapTranslator``) walks them in
  /// one loop instead.
  ///
  /// - Parameters:
  ///   - address: The virtual address of the first byte, tag stripped.
  ///   - length: The bytes to translate; 0 gives no runs.
  ///   - runs: Where the runs go.
  /// - Returns: The number of runs written at the start of `runs`.
  /// - Throws: ``DMAError`` when the first byte has no address to give;
  ///   ``DMAError/iterator(_:)`` with `IterError.negativeCount(argument:value:)`
  ///   for a negative `length`; ``DMAError/notTranslatable(address:)`` for
  ///   a run outside the contract of ``translate(_:length:)``.
  func translateRuns(
    _ address: UInt, length: Int, into runs: UnsafeMutableBufferPointer<PhysicalRun>
  ) throws(DMAError) -> Int

  /// A range of virtual addresses that this translator maps linearly, or
  /// `nil` (the default) when it has none to give.
  ///
  /// ``BioVecMapper`` reads it once, when it is created, and translates the
  /// addresses inside it by arithmetic, without a call a piece; it calls
  /// ``translate(_:length:)`` for every address outside it. A translator
  /// that answers a window promises that for as long as a mapper made with
  /// it lives, for every `address` in the window,
  /// `translate(address, length:)` gives the window's device address for
  /// that byte, its attributes and region, and a run at least as long as
  /// `length` or the rest of the window, whichever is shorter. A window that
  /// breaks this changes the chunks the mapper makes.
  ///
  /// The corresponding kernel structure is `struct bus_dma_region`, the
  /// linear ranges of `dma_range_map` that dma-direct translates with.
  var translationWindow: TranslationWindow? { get }
}

/// Virtual addresses that a translator maps linearly onto device addresses,
/// all with the same attributes and region.
///
/// Sendable: plain values.
public struct TranslationWindow: Hashable, Sendable {
  /// The first virtual address of the window.
  public var virtualAddress: UInt
  /// The window's size in bytes.
  public var count: UInt
  /// The device address of the byte at ``virtualAddress``.
  public var deviceAddress: UInt64
  /// The attributes of every run in the window (as ``PhysicalRun/attributes``).
  public var attributes: BioVecFlags
  /// The memory region of the window (as ``PhysicalRun/region``).
  public var region: UInt32

  /// Creates a window.
  ///
  /// - Parameters:
  ///   - virtualAddress: The first virtual address.
  ///   - count: The size in bytes; the window must not pass the top of the
  ///     address space, on either side.
  ///   - deviceAddress: The device address of the first byte.
  ///   - attributes: The memory flags, as ``PhysicalRun/attributes``.
  ///   - region: The memory region, 0 for RAM.
  /// - Complexity: O(1).
  @inlinable
  public init(
    virtualAddress: UInt, count: UInt, deviceAddress: UInt64, attributes: BioVecFlags = [], region: UInt32 = 0
  ) {
    self.virtualAddress = virtualAddress
    self.count = count
    self.deviceAddress = deviceAddress
    self.attributes = attributes.intersection(.memoryAttributes)
    self.region = region
  }
}

extension PhysicalTranslator {
  /// `nil`: every address goes through ``translate(_:length:)``.
  @inlinable
  public var translationWindow: TranslationWindow? { nil }

  /// One ``translate(_:length:)`` call a run (see the requirement).
  public func translateRuns(
    _ address: UInt, length: Int, into runs: UnsafeMutableBufferPointer<PhysicalRun>
  ) throws(DMAError) -> Int {
    guard length >= 0 else { throw .iterator(.negativeCount(argument: "length", value: length)) }
    var next = address
    var left = length
    var n = 0
    while left > 0 && n < runs.count {
      let run: PhysicalRun
      do throws(DMAError) {
        run = try translate(next, length: left)
      } catch {
        if n == 0 { throw error }
        break
      }
      // A run outside the contract is untranslatable, as the mapper treats
      // it: the walk never loops on it or runs past `length`.
      guard run.length >= 1 && run.length <= left else {
        if n == 0 { throw .notTranslatable(address: next) }
        break
      }
      unsafe runs[n] = run
      n += 1
      left -= run.length
      next &+= UInt(run.length)
    }
    return n
  }
}

/// A run of bytes contiguous in the device's address space.
///
/// Sendable: plain values.
public struct PhysicalRun: Hashable, Sendable {
  /// The device address of the run's first byte.
  public var address: UInt64
  /// The number of contiguous bytes from ``address``.
  public var length: Int
  /// ``BioVecFlags/busAddress`` and ``BioVecFlags/mmio`` for device memory;
  /// empty for RAM.
  public var attributes: BioVecFlags
  /// Which memory the run lies in: 0 for RAM, another number per device
  /// memory (a P2P provider, a BAR). Runs of different regions never merge,
  /// whatever their addresses (the kernel's `zone_device_pages_compatible`).
  public var region: UInt32

  /// Creates a run.
  ///
  /// - Parameters:
  ///   - address: The device address of the first byte.
  ///   - length: The number of contiguous bytes.
  ///   - attributes: The memory flags.
  ///   - region: The memory region, 0 for RAM.
  /// - Complexity: O(1).
  @inlinable
  public init(address: UInt64, length: Int, attributes: BioVecFlags = [], region: UInt32 = 0) {
    self.address = address
    self.length = length
    self.attributes = attributes.intersection(.memoryAttributes)
    self.region = region
  }
}

/// A translator that can also go back from a device address to the virtual
/// address it came from (for tests that read bytes back through a chunk).
///
/// Concurrency: as ``PhysicalTranslator``, no `Sendable` requirement.
public protocol ReversiblePhysicalTranslator: PhysicalTranslator {
  /// The virtual address of the byte at device address `address`, or `nil`
  /// when the translator does not know it.
  func virtualAddress(of address: UInt64) -> UInt?
}

/// IOVA = VA: the device sees the process's virtual addresses, as behind an
/// IOMMU identity mapping (or in tests with made-up addresses).
///
/// Every run is as long as asked, up to the top of the address space.
///
/// Sendable: it holds nothing that changes.
public struct IdentityTranslator: ReversiblePhysicalTranslator, Sendable {
  /// Creates the identity translator.
  @inlinable
  public init() {}

  /// `address` itself, for all `length` bytes.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func translate(_ address: UInt, length: Int) throws(DMAError) -> PhysicalRun {
    // Clamp at the top of the address space so the run never wraps.
    let room = UInt.max - address
    let n = room < UInt(length) ? Int(room) + 1 : length
    return PhysicalRun(address: UInt64(address), length: n)
  }

  /// `address` itself.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func virtualAddress(of address: UInt64) -> UInt? { UInt(address) }

  /// Every address but the last, mapped to itself.
  @inlinable
  public var translationWindow: TranslationWindow? {
    TranslationWindow(virtualAddress: 0, count: UInt.max, deviceAddress: 0)
  }
}
