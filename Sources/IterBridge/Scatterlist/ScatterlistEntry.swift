//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore
public import IterPageFragment

/// What a device mapping says about an entry's DMA address.
///
/// The corresponding kernel field is `scatterlist.dma_flags`
/// (`CONFIG_NEED_SG_DMA_FLAGS`).
///
/// Sendable: a plain bit set.
public struct ScatterlistDMAFlags: OptionSet, Hashable, Sendable {
  /// The raw bits.
  public var rawValue: UInt32

  /// Creates flags from raw bits.
  ///
  /// - Complexity: O(1).
  @inlinable
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// The DMA address is a PCI bus address (peer-to-peer memory): nothing to
  /// unmap. The kernel's `SG_DMA_BUS_ADDRESS` (`1 << 0`).
  public static let busAddress = ScatterlistDMAFlags(rawValue: 1 << 0)

  /// The entry was bounced through a swiotlb buffer. The kernel's
  /// `SG_DMA_SWIOTLB` (`1 << 1`).
  public static let bounced = ScatterlistDMAFlags(rawValue: 1 << 1)
}

/// Where a chain entry leads: an entry of another (or the same) array.
///
/// The link holds the array weakly: arrays belong to their table (or to
/// whoever made them), never to a link, so a cyclic chain cannot keep
/// itself alive, and a link whose array is gone points nowhere (a walk
/// reports it as a typed error, where the kernel would follow a freed
/// pointer).
///
/// The corresponding kernel value is `page_link` with `SG_CHAIN` set, and
/// the function that reads it is `sg_chain_ptr`.
///
/// Not Sendable: it holds a reference to a ``ScatterlistArray``, which is written in place.
public struct ScatterlistChainTarget {
  /// The array the link leads to, or `nil` when it points nowhere.
  public weak var array: ScatterlistArray?
  /// The entry of that array the link leads to.
  public let index: Int

  /// A link to entry `index` of `array` (`nil` for a link that points nowhere).
  ///
  /// - Complexity: O(1).
  public init(array: ScatterlistArray?, index: Int = 0) {
    self.array = array
    self.index = index
  }
}

/// One entry of a scatterlist: `length` bytes of a page from `offset`, with
/// what a device mapping made of it.
///
/// An entry is a data entry, a chain entry (``isChain``: a link to the next
/// array, carrying no data) or unused (length 0). ``isEnd`` marks the last
/// entry of the list. A data entry stays inside its page unless ``pool`` is
/// set: then its pages are consecutive frames of that pool (a multi-page
/// entry, as `sg_set_folio` makes), and ``offset`` may be a page size or more.
///
/// The entry is plain data and may be malformed; every walk checks the
/// entries it reaches and throws a typed error for a bad one.
///
/// The corresponding kernel structure is `struct scatterlist`
/// (`page_link`, `offset`, `length`, `dma_address`, `dma_length`, `dma_flags`).
///
/// Not Sendable: a chain entry refers to a ``ScatterlistArray``, which is written in place.
public struct ScatterlistEntry {
  /// The page the bytes start in (the kernel's `sg_page`), or `nil`.
  public var page: IterPage?
  /// The pool whose consecutive frames the entry may span, or `nil` for an
  /// entry that stays in its page.
  public var pool: PagePool?
  /// The offset of the first byte from the start of ``page`` (`offset`).
  public var offset: Int
  /// The number of bytes (`length`).
  public var length: Int
  /// The address a device sees, once mapped (`sg_dma_address`).
  public var dmaAddress: UInt64
  /// The mapped length (`sg_dma_len`).
  public var dmaLength: Int
  /// What the mapping says about ``dmaAddress`` (`dma_flags`).
  public var dmaFlags: ScatterlistDMAFlags
  /// Whether this is the last entry of the list (`SG_END`, `sg_is_last`).
  public internal(set) var isEnd: Bool
  /// Where the chain entry leads, or `nil` for an entry that is not a link
  /// (`SG_CHAIN`).
  public internal(set) var chainTarget: ScatterlistChainTarget?

  /// An unused entry: no page, no bytes, no marks (what `sg_init_table` zeroes).
  ///
  /// - Complexity: O(1).
  public init() {
    self.page = nil
    self.pool = nil
    self.offset = 0
    self.length = 0
    self.dmaAddress = 0
    self.dmaLength = 0
    self.dmaFlags = []
    self.isEnd = false
    self.chainTarget = nil
  }

  /// Whether the entry is a link to the next array (`sg_is_chain`).
  ///
  /// - Complexity: O(1).
  public var isChain: Bool { chainTarget != nil }

  /// The address of the first byte (`sg_virt`), or `nil` without a page.
  ///
  /// - Complexity: O(1).
  public var virtualAddress: UInt? {
    guard let page else { return nil }
    return page.address &+ UInt(bitPattern: offset)
  }
}

extension ScatterlistEntry: CustomStringConvertible {
  /// `page+offset:length`, with `END`, `CHAIN` and the DMA fields when set.
  public var description: String {
    if let chainTarget {
      let to = chainTarget.array.map { "\(ObjectIdentifier($0))" } ?? "nowhere"
      return "chain->\(to)[\(chainTarget.index)]"
    }
    var s = "\(page.map { "\($0)" } ?? "nil")+\(offset):\(length)"
    if pool != nil { s += " pool" }
    if dmaLength != 0 || dmaAddress != 0 {
      s += " dma 0x\(String(dmaAddress, radix: 16)):\(dmaLength)"
    }
    if !dmaFlags.isEmpty { s += " flags 0x\(String(dmaFlags.rawValue, radix: 16))" }
    if isEnd { s += " END" }
    return s
  }
}

extension ScatterlistEntry {
  /// Checks a data entry reached at walk position `index` and returns the
  /// address of its first byte (0 for an empty entry).
  internal func _validatedStart(index: Int) throws(IterError) -> UInt {
    let pageSize = IterPage.size
    guard offset >= 0, offset <= Int(UInt32.max) else {
      throw .invalidSegment(index: index, count: length, reason: "offset \(offset) is outside 0...UINT_MAX")
    }
    guard length >= 0, length <= Int(UInt32.max) else {
      throw .invalidSegment(index: index, count: length, reason: "length is outside 0...UINT_MAX")
    }
    if length == 0 { return 0 }
    guard let page else {
      throw .invalidSegment(index: index, count: length, reason: "a data entry without a page")
    }
    guard page.address & UInt(pageSize - 1) == 0 else {
      throw .invalidSegment(
        index: index, count: length,
        reason: "page address 0x\(String(page.address, radix: 16)) is not page-aligned")
    }
    let end = offset + length  // both at most UINT_MAX: no overflow
    if let pool {
      guard let frame = pool.frame(containing: page.address),
        page.frame == nil || page.frame == UInt64(frame)
      else {
        throw .invalidSegment(
          index: index, count: length, reason: "page \(page) is not the pool's page at that address")
      }
      let (last, overflow) = page.address.addingReportingOverflow(UInt(end - 1))
      guard !overflow, pool.contains(address: last) else {
        throw .invalidSegment(
          index: index, count: length,
          reason: "offset \(offset) + length \(length) runs past the pool's last frame")
      }
    } else if end > pageSize {
      throw .invalidSegment(
        index: index, count: length,
        reason: "offset \(offset) + length \(length) runs past its \(pageSize)-byte page")
    }
    return page.address &+ UInt(offset)
  }

  /// The page that holds byte `byteOffset` of the entry's page run (counted
  /// from the start of ``page``), with its frame when known.
  internal func _page(atRunOffset byteOffset: Int) -> IterPage {
    let pageSize = IterPage.size
    let k = byteOffset / pageSize
    let base = page!.address &+ UInt(k * pageSize)  // checked by _validatedStart
    var frame = page!.frame.map { $0 &+ UInt64(k) }
    if frame == nil, let pool, let f = pool.frame(containing: base) { frame = UInt64(f) }
    return IterPage(address: base, frame: frame)
  }
}

@available(*, unavailable, message: "it refers to a ScatterlistArray, which is written in place")
extension ScatterlistChainTarget: Sendable {}

@available(*, unavailable, message: "a chain entry refers to a ScatterlistArray, which is written in place")
extension ScatterlistEntry: Sendable {}
