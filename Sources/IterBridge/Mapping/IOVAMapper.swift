//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// A device's I/O virtual address space: what `dma_iova_try_alloc`,
/// `dma_iova_link`, `dma_iova_sync` and the streaming fallback need.
///
/// Replace it to drive a real IOMMU (VFIO `VFIO_IOMMU_MAP_DMA`) or a test
/// double; ``SimpleIOVAAllocator`` is a first-fit allocator over an aperture.
///
/// Concurrency: the protocol does not require `Sendable`; an allocator that is used from several tasks locks its own
/// state.
public protocol IOVAAllocator: AnyObject {
  /// The IOMMU granule minus one (`dma_get_merge_boundary`); 0 when ranges
  /// cannot be coalesced.
  var mergeBoundary: UInt64 { get }
  /// Reserves `size` bytes whose first byte has the same offset in a granule
  /// as `physical`; returns the device address of that first byte, or `nil`
  /// to make the caller fall back to per-segment mapping.
  ///
  /// The corresponding kernel function is `dma_iova_try_alloc`.
  func allocate(size: UInt64, physical: UInt64) -> UInt64?
  /// Makes `length` bytes at `iova` point at `physical`.
  ///
  /// The corresponding kernel function is `dma_iova_link`.
  func link(iova: UInt64, physical: UInt64, length: UInt64) throws(DMAError)
  /// Makes the links of `size` bytes at `iova` visible to the device.
  ///
  /// The corresponding kernel function is `dma_iova_sync`.
  func sync(iova: UInt64, size: UInt64) throws(DMAError)
  /// Undoes ``allocate(size:physical:)`` and its links.
  ///
  /// The corresponding kernel function is `dma_iova_destroy`.
  func free(iova: UInt64, size: UInt64)
  /// Maps one segment on its own (the streaming fallback); returns its device address.
  ///
  /// The corresponding kernel function is `dma_map_phys`.
  func mapSegment(physical: UInt64, length: UInt64) throws(DMAError) -> UInt64
  /// Undoes ``mapSegment(physical:length:)``.
  ///
  /// The corresponding kernel function is `dma_unmap_phys`.
  func unmapSegment(iova: UInt64, length: UInt64)
}

/// One device-address range of a mapped request.
///
/// Sendable: plain values.
public struct DMARange: Hashable, Sendable {
  /// The device address of the first byte.
  public var address: UInt64
  /// The number of bytes.
  public var length: UInt64
  /// ``BioVecFlags/busAddress`` for peer-to-peer memory (nothing to unmap).
  public var flags: BioVecFlags

  /// Creates a range.
  ///
  /// - Complexity: O(1).
  public init(address: UInt64, length: UInt64, flags: BioVecFlags = []) {
    self.address = address
    self.length = length
    self.flags = flags
  }
}

/// How a request was mapped, to be handed back to ``IOVAMapper/unmap(_:ranges:)``.
///
/// Not Sendable: it owns the allocator's range and unmaps it once; move it (`consume`), do not share it.
public struct DMAMapping: ~Copyable {
  /// How the request's ranges were made.
  ///
  /// Sendable: a plain value.
  public enum Kind: Hashable, Sendable {
    /// One IOVA range for the whole request (`blk_rq_dma_map_coalesce`).
    case coalesced
    /// One mapping per segment (the streaming fallback).
    case perSegment
    /// Peer-to-peer bus addresses, used as they are: nothing to unmap.
    case busAddress
  }
  /// How the request was mapped.
  public let kind: Kind
}

/// Maps a request of ``BioVec``s to device addresses: one contiguous IOVA
/// range when the merge boundary allows, one mapping per segment otherwise.
///
/// A request coalesces when its allocator has a merge boundary, no inner
/// boundary of the request (``BioVecRequest/gapMask``) falls inside a granule,
/// no chunk is device memory, and the allocator has room. A request of device
/// memory only is used as it is (bus addresses, nothing to unmap); one that
/// mixes device memory and RAM is mapped per segment, its bus-address chunks
/// passed through with ``BioVecFlags/busAddress`` in their range and its RAM
/// chunks mapped, so no RAM chunk ever reaches the device unmapped.
///
/// The corresponding kernel functions are `blk_rq_dma_map_iter_start` and
/// `blk_rq_dma_unmap`.
///
/// Sendable exactly when its allocator is: it holds nothing else.
public struct IOVAMapper<Allocator: IOVAAllocator> {
  /// The device's address space.
  public let allocator: Allocator

  /// Creates a mapper over `allocator`.
  ///
  /// - Complexity: O(1).
  public init(allocator: Allocator) {
    self.allocator = allocator
  }

  /// Maps `request`, replacing the contents of `ranges` (keep its capacity
  /// between requests and nothing is allocated).
  ///
  /// - Throws: ``DMAError/iovaLinkMisaligned(offset:length:mergeBoundary:)``
  ///   when the allocator's address breaks the link rule; whatever the
  ///   allocator throws. Nothing stays mapped when it throws.
  /// - Complexity: O(*n*) for *n* chunks.
  public func map(_ request: borrowing BioVecRequest, into ranges: inout [DMARange]) throws(DMAError) -> DMAMapping {
    ranges.removeAll(keepingCapacity: true)
    let n = request.count
    guard n > 0 else { return DMAMapping(kind: .perSegment) }
    var busChunks = 0
    for i in 0..<n where request[i].flags.contains(.busAddress) { busChunks += 1 }
    if busChunks == n {
      for i in 0..<n {
        let v = request[i]
        ranges.append(DMARange(address: v.address, length: UInt64(v.length), flags: v.flags.intersection(.busAddress)))
      }
      return DMAMapping(kind: .busAddress)
    }
    let boundary = allocator.mergeBoundary
    let total = UInt64(request.byteCount)
    if busChunks == 0, boundary != 0, request.gapMask & boundary == 0,
      let iova = allocator.allocate(size: total, physical: request[0].address)
    {
      var offset: UInt64 = 0
      do throws(DMAError) {
        for i in 0..<n {
          let v = request[i]
          let at = iova &+ offset
          let length = UInt64(v.length)
          if (i > 0 && at & boundary != 0) || (i < n - 1 && (at &+ length) & boundary != 0) {
            throw .iovaLinkMisaligned(offset: offset, length: length, mergeBoundary: boundary)
          }
          try allocator.link(iova: at, physical: v.address, length: length)
          offset += length
        }
        try allocator.sync(iova: iova, size: total)
      } catch {
        allocator.free(iova: iova, size: total)
        throw error
      }
      ranges.append(DMARange(address: iova, length: total))
      return DMAMapping(kind: .coalesced)
    }
    // Per segment; in a request that mixes device memory and RAM, the
    // bus-address chunks go as they are and only the RAM chunks are mapped.
    for i in 0..<n {
      let v = request[i]
      if v.flags.contains(.busAddress) {
        ranges.append(DMARange(address: v.address, length: UInt64(v.length), flags: .busAddress))
        continue
      }
      do throws(DMAError) {
        let a = try allocator.mapSegment(physical: v.address, length: UInt64(v.length))
        ranges.append(DMARange(address: a, length: UInt64(v.length)))
      } catch {
        for r in ranges where !r.flags.contains(.busAddress) {
          allocator.unmapSegment(iova: r.address, length: r.length)
        }
        ranges.removeAll(keepingCapacity: true)
        throw error
      }
    }
    return DMAMapping(kind: .perSegment)
  }

  /// Unmaps what ``map(_:into:)`` mapped, given the ranges it produced.
  ///
  /// - Complexity: O(*n*) for *n* ranges.
  ///
  /// The corresponding kernel function is `blk_rq_dma_unmap`.
  public func unmap(_ mapping: consuming DMAMapping, ranges: [DMARange]) {
    switch mapping.kind {
    case .busAddress: break
    case .coalesced: for r in ranges { allocator.free(iova: r.address, size: r.length) }
    case .perSegment:
      for r in ranges where !r.flags.contains(.busAddress) {
        allocator.unmapSegment(iova: r.address, length: r.length)
      }
    }
  }
}

/// A first-fit IOVA allocator over an aperture, with a granule and a link
/// table that can translate device addresses back to physical ones.
///
/// For tests and user-space drivers that keep their own IOVA space (what a
/// VFIO user programs into the IOMMU). Not thread-safe.
///
/// Not Sendable: its free list changes without a lock; use it from one task.
public final class SimpleIOVAAllocator: IOVAAllocator {
  /// The granule minus one.
  public let mergeBoundary: UInt64
  /// The first device address of the aperture.
  public let base: UInt64
  /// The aperture's size in bytes.
  public let size: UInt64
  private var free: [(start: UInt64, size: UInt64)]
  private var links: [(iova: UInt64, physical: UInt64, length: UInt64)] = []
  /// The number of `sync` calls (for tests).
  public private(set) var syncCount = 0

  /// An allocator over `size` bytes from `base`, with a granule of `granule` bytes.
  ///
  /// - Throws: ``DMAError/invalidLimit(name:value:reason:)`` for a granule
  ///   that is not a power of two, or an aperture not aligned to it or wrapping.
  /// - Complexity: O(1).
  public init(base: UInt64, size: UInt64, granule: UInt64 = 4096) throws(DMAError) {
    guard granule > 0, granule & (granule - 1) == 0 else {
      throw .invalidLimit(name: "granule", value: granule, reason: "must be a power of two")
    }
    guard base & (granule - 1) == 0, size & (granule - 1) == 0, size > 0, base <= UInt64.max - (size - 1) else {
      throw .invalidLimit(name: "aperture", value: base, reason: "must be granule-aligned and not wrap")
    }
    self.mergeBoundary = granule - 1
    self.base = base
    self.size = size
    self.free = [(base, size)]
  }

  private func _take(_ bytes: UInt64) -> UInt64? {
    let need = (bytes + mergeBoundary) & ~mergeBoundary
    for (i, r) in free.enumerated() where r.size >= need {
      if r.size == need { free.remove(at: i) } else { free[i] = (r.start + need, r.size - need) }
      return r.start
    }
    return nil
  }

  private func _give(_ start: UInt64, _ bytes: UInt64) {
    let need = (bytes + mergeBoundary) & ~mergeBoundary
    free.append((start, need))
    free.sort { $0.start < $1.start }
    var merged: [(start: UInt64, size: UInt64)] = []
    for r in free {
      if let last = merged.last, last.start + last.size == r.start {
        merged[merged.count - 1].size += r.size
      } else {
        merged.append(r)
      }
    }
    free = merged
    links.removeAll { $0.iova >= start && $0.iova < start + need }
  }

  /// First fit; the result keeps `physical`'s offset in a granule.
  public func allocate(size: UInt64, physical: UInt64) -> UInt64? {
    guard size > 0 else { return nil }
    let offset = physical & mergeBoundary
    guard let start = _take(size + offset) else { return nil }
    return start + offset
  }

  /// Records the link.
  public func link(iova: UInt64, physical: UInt64, length: UInt64) throws(DMAError) {
    links.append((iova, physical, length))
  }

  /// Counts the call.
  public func sync(iova: UInt64, size: UInt64) throws(DMAError) { syncCount += 1 }

  /// Returns the range (and its links) to the aperture.
  public func free(iova: UInt64, size: UInt64) {
    let start = iova & ~mergeBoundary
    _give(start, size + (iova - start))
  }

  /// Allocates and links one segment.
  ///
  /// - Throws: ``DMAError/iovaExhausted(size:)`` when the aperture is full.
  public func mapSegment(physical: UInt64, length: UInt64) throws(DMAError) -> UInt64 {
    guard let iova = allocate(size: length, physical: physical) else { throw .iovaExhausted(size: length) }
    links.append((iova, physical, length))
    return iova
  }

  /// Returns the segment's range to the aperture.
  public func unmapSegment(iova: UInt64, length: UInt64) { free(iova: iova, size: length) }

  /// The physical address linked at device address `iova`, or `nil`.
  ///
  /// - Complexity: O(*n*) for *n* links.
  public func physicalAddress(of iova: UInt64) -> UInt64? {
    for l in links where iova >= l.iova && iova - l.iova < l.length { return l.physical + (iova - l.iova) }
    return nil
  }

  /// The bytes of the aperture still free.
  public var freeBytes: UInt64 { free.reduce(0) { $0 + $1.size } }
}

@available(*, unavailable, message: "it owns the allocator's range and unmaps it once")
extension DMAMapping: Sendable {}

extension IOVAMapper: Sendable where Allocator: Sendable {}

@available(*, unavailable, message: "its free list changes without a lock")
extension SimpleIOVAAllocator: Sendable {}
