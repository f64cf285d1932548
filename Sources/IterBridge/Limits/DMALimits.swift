//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

internal import IterCore

/// A device's DMA limits, with the kernel's defaults filled in and checked.
///
/// A value of this type is always valid: the initialiser applies the
/// defaults and the checks of the kernel's `blk_validate_limits` and throws
/// ``DMAError`` where the kernel returns `-EINVAL`.
///
/// Where the kernel reads 0 as "use the default", this type takes `nil`, so
/// that 0 can be refused (`maxSegments: 0`) or mean what it says
/// (`dmaAlignment: 0` is byte alignment, `virtBoundaryMask: 0` is off).
/// Masks must be `2^k - 1`: the kernel accepts any value and then cuts
/// 1-byte segments for a mask like 4096, which no device means.
///
/// ```swift
/// let nvme = try DMALimits(maxSegments: 127, dmaAlignment: 3, virtBoundaryMask: 4095,
///                          maxHWSectors: 2048)
/// nvme.maxSegmentSize   // UInt32.max: a virt boundary lifts the segment size
/// ```
///
/// The corresponding kernel structure is `struct queue_limits`.
///
/// Sendable: plain values.
public struct DMALimits: Hashable, Sendable, CustomStringConvertible {
  /// The most bytes in one segment (`max_segment_size`).
  public let maxSegmentSize: UInt32
  /// A segment never crosses a multiple of `segmentBoundaryMask + 1`
  /// (`seg_boundary_mask`).
  public let segmentBoundaryMask: UInt64
  /// The most segments in one request (`max_segments`).
  public let maxSegments: Int
  /// Every piece must start and end on a multiple of `dmaAlignment + 1`
  /// (`dma_alignment`).
  public let dmaAlignment: UInt32
  /// Inside a request, every segment but the first starts on, and every
  /// segment but the last ends on, a multiple of `virtBoundaryMask + 1`; 0
  /// is off (`virt_boundary_mask`, the NVMe PRP rule).
  public let virtBoundaryMask: UInt64
  /// The hardware's largest request in 512-byte sectors, rounded down to the
  /// logical block size (`max_hw_sectors`).
  public let maxHWSectors: UInt32
  /// The largest request the mapper makes, in 512-byte sectors (`max_sectors`).
  public let maxSectors: UInt32
  /// The smallest unit the device addresses (`logical_block_size`).
  public let logicalBlockSize: UInt32

  /// The kernel's `BLK_MAX_SEGMENT_SIZE`, 65536.
  public static let defaultMaxSegmentSize: UInt32 = 65536
  /// The kernel's `BLK_MIN_SEGMENT_SIZE`, 4096: the least `max_segment_size`,
  /// and (minus one) the least `seg_boundary_mask`.
  public static let minSegmentSize: UInt32 = 4096
  /// The kernel's `BLK_SEG_BOUNDARY_MASK`, `0xFFFFFFFF`: no crossing of 4 GiB.
  public static let defaultSegmentBoundaryMask: UInt64 = 0xFFFF_FFFF
  /// The kernel's `BLK_MAX_SEGMENTS`, 128.
  public static let defaultMaxSegments = 128
  /// The most segments a request may have: `max_segments` is an `unsigned short`.
  public static let maxSegmentsLimit = Int(UInt16.max)
  /// The kernel's default `dma_alignment`, `SECTOR_SIZE - 1`.
  public static let defaultDMAAlignment: UInt32 = 511
  /// The kernel's `BLK_SAFE_MAX_SECTORS`, 255.
  public static let defaultMaxHWSectors: UInt32 = 255
  /// The kernel's `BLK_DEF_MAX_SECTORS_CAP`, 8192 sectors (4 MiB).
  public static let defaultMaxSectorsCap: UInt32 = 8192
  /// The kernel's `SECTOR_SIZE`, 512.
  public static let sectorSize: UInt32 = 512
  /// The largest logical block accepted (the kernel's `BLK_MAX_BLOCK_SIZE`
  /// with large folios, 64 KiB).
  public static let maxLogicalBlockSize: UInt32 = 65536

  /// Applies the kernel's defaults to the limits given and checks them.
  ///
  /// - Parameters:
  ///   - maxSegmentSize: `nil` for 65536, or `UInt32.max` when
  ///     `virtBoundaryMask` is set; otherwise at least 4096.
  ///   - segmentBoundaryMask: `nil` for `0xFFFFFFFF`; at least 4095 and `2^k - 1`.
  ///   - maxSegments: `nil` for 128; `1...65535`.
  ///   - dmaAlignment: `nil` for 511; `2^k - 1` and at most the page size
  ///     minus one (the kernel allows the page size itself, which would
  ///     refuse every page-sized piece).
  ///   - virtBoundaryMask: `nil` or 0 for off; else `2^k - 1`, with
  ///     `maxSegmentSize` `nil` or `UInt32.max`.
  ///   - maxHWSectors: `nil` for 255; at least a page of sectors.
  ///   - maxUserSectors: `nil` for the kernel's cap of 8192; at least a page of sectors.
  ///   - logicalBlockSize: `nil` for 512; a power of two in `512...65536`, at
  ///     most `maxHWSectors` bytes.
  /// - Throws: ``DMAError/invalidLimit(name:value:reason:)`` or
  ///   ``DMAError/contradictoryLimits(_:)``.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `blk_validate_limits`.
  public init(
    maxSegmentSize: UInt32? = nil, segmentBoundaryMask: UInt64? = nil, maxSegments: Int? = nil,
    dmaAlignment: UInt32? = nil, virtBoundaryMask: UInt64? = nil, maxHWSectors: UInt32? = nil,
    maxUserSectors: UInt32? = nil, logicalBlockSize: UInt32? = nil
  ) throws(DMAError) {
    let pageSize = UInt64(DMALimits._pageSize)
    let pageSectors = UInt32(pageSize / 512)
    func isMask(_ m: UInt64) -> Bool { m & (m &+ 1) == 0 }

    let lbs = logicalBlockSize ?? DMALimits.sectorSize
    guard lbs >= 512, lbs <= DMALimits.maxLogicalBlockSize, lbs & (lbs - 1) == 0 else {
      throw .invalidLimit(
        name: "logical_block_size", value: UInt64(lbs), reason: "must be a power of two in 512...65536")
    }
    let lbsSectors = lbs / 512

    var hw = maxHWSectors ?? DMALimits.defaultMaxHWSectors
    guard hw >= pageSectors else {
      throw .invalidLimit(
        name: "max_hw_sectors", value: UInt64(hw), reason: "must be at least a page (\(pageSectors) sectors)")
    }
    hw -= hw % lbsSectors
    guard hw >= lbsSectors else {
      throw .contradictoryLimits("max_hw_sectors \(hw) is below the logical block size \(lbs)")
    }
    var sectors: UInt32
    if let user = maxUserSectors {
      guard user >= pageSectors else {
        throw .invalidLimit(
          name: "max_user_sectors", value: UInt64(user),
          reason: "must be at least a page (\(pageSectors) sectors)")
      }
      sectors = min(hw, user)
    } else {
      sectors = min(hw, DMALimits.defaultMaxSectorsCap)
    }
    sectors -= sectors % lbsSectors
    guard sectors >= lbsSectors else {
      throw .contradictoryLimits("max_sectors \(sectors) is below the logical block size \(lbs)")
    }

    let segments = maxSegments ?? DMALimits.defaultMaxSegments
    guard segments >= 1, segments <= DMALimits.maxSegmentsLimit else {
      throw .invalidLimit(
        name: "max_segments", value: UInt64(bitPattern: Int64(segments)), reason: "must be in 1...65535")
    }

    let vbm = virtBoundaryMask ?? 0
    guard isMask(vbm) else {
      throw .invalidLimit(name: "virt_boundary_mask", value: vbm, reason: "must be 2^k - 1")
    }
    let segmentSize: UInt32
    if vbm != 0 {
      if let given = maxSegmentSize, given != UInt32.max {
        throw .contradictoryLimits(
          "virt_boundary_mask 0x\(String(vbm, radix: 16)) needs max_segment_size UInt32.max, not \(given)")
      }
      segmentSize = UInt32.max
    } else {
      segmentSize = maxSegmentSize ?? DMALimits.defaultMaxSegmentSize
      guard segmentSize >= DMALimits.minSegmentSize else {
        throw .invalidLimit(name: "max_segment_size", value: UInt64(segmentSize), reason: "must be at least 4096")
      }
    }

    let boundary = segmentBoundaryMask ?? DMALimits.defaultSegmentBoundaryMask
    guard boundary >= UInt64(DMALimits.minSegmentSize - 1) else {
      throw .invalidLimit(name: "seg_boundary_mask", value: boundary, reason: "must be at least 4095")
    }
    guard isMask(boundary) else {
      throw .invalidLimit(name: "seg_boundary_mask", value: boundary, reason: "must be 2^k - 1")
    }

    let alignment = dmaAlignment ?? DMALimits.defaultDMAAlignment
    guard isMask(UInt64(alignment)) else {
      throw .invalidLimit(name: "dma_alignment", value: UInt64(alignment), reason: "must be 2^k - 1")
    }
    guard UInt64(alignment) < pageSize else {
      throw .invalidLimit(
        name: "dma_alignment", value: UInt64(alignment), reason: "must be below the page size \(pageSize)")
    }

    self.maxSegmentSize = segmentSize
    self.segmentBoundaryMask = boundary
    self.maxSegments = segments
    self.dmaAlignment = alignment
    self.virtBoundaryMask = vbm
    self.maxHWSectors = hw
    self.maxSectors = sectors
    self.logicalBlockSize = lbs
  }

  /// The kernel's defaults: 65536-byte segments, no 4 GiB crossing, 128
  /// segments, 511 alignment, 255 sectors, 512-byte blocks.
  public static let `default`: DMALimits = {
    do { return try DMALimits() } catch { fatalError("the default limits are valid: \(error)") }
  }()

  /// The most bytes in one request: ``maxSectors`` × 512 (a multiple of the
  /// logical block size).
  ///
  /// - Complexity: O(1).
  @inlinable
  public var maxRequestBytes: Int { Int(maxSectors) * 512 }

  /// How many bytes a segment that starts at `address` may hold, at most
  /// `length`: the end of its boundary window or `maxSegmentSize`, whichever
  /// comes first. An all-ones mask does not overflow: the `+ 1` comes after
  /// the minimum, as in the kernel.
  ///
  /// - Parameters:
  ///   - address: The segment's first byte.
  ///   - length: The bytes available.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `get_max_segment_size`.
  @inlinable
  public func maxSegmentBytes(at address: UInt64, length: UInt64) -> UInt64 {
    let mask = segmentBoundaryMask
    let room = Swift.min(mask - (mask & address), UInt64(maxSegmentSize) - 1) + 1
    return Swift.min(length, room)
  }

  /// Whether a segment `a` may be extended by `b`: `b` starts where `a`
  /// ends, both lie in one boundary window, and they describe the same kind
  /// of memory (the same ``BioVecFlags/memoryAttributes`` and region).
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `biovec_phys_mergeable`.
  @inlinable
  public func physicallyMergeable(_ a: BioVec, _ b: BioVec, sameRegion: Bool = true) -> Bool {
    guard sameRegion,
      a.flags.intersection(BioVecFlags.memoryAttributes) == b.flags.intersection(BioVecFlags.memoryAttributes),
      !a.flags.contains(.needsBounce), !b.flags.contains(.needsBounce),
      a.length > 0, b.length > 0, a.address &+ UInt64(a.length) == b.address
    else { return false }
    let mask = segmentBoundaryMask
    return a.address | mask == (b.address &+ UInt64(b.length) &- 1) | mask
  }

  /// The page size the limits were checked against.
  internal static var _pageSize: Int { IterPage.size }

  /// `max_segment_size`, `seg_boundary_mask`, ... in the kernel's names.
  public var description: String {
    "DMALimits(max_segment_size: \(maxSegmentSize), seg_boundary_mask: 0x\(String(segmentBoundaryMask, radix: 16)), "
      + "max_segments: \(maxSegments), dma_alignment: \(dmaAlignment), "
      + "virt_boundary_mask: 0x\(String(virtBoundaryMask, radix: 16)), max_hw_sectors: \(maxHWSectors), "
      + "max_sectors: \(maxSectors), logical_block_size: \(logicalBlockSize))"
  }
}
