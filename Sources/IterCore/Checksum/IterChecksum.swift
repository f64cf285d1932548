//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

internal import CIterChecksum

/// A checksum that can be updated a chunk at a time while bytes are copied.
///
/// ``IovIter/write(_:checksum:)`` and ``IovIter/read(into:checksum:)``
/// compute one in the same pass as the copy. ``InternetChecksum`` and
/// ``CRC32C`` conform; so can your own.
///
/// Concurrency: the protocol does not require `Sendable`; a checksum in progress is a value that each task keeps its
/// own copy of (the built-in ones are `Sendable`).
public protocol IterChecksum {
  /// Feeds the next bytes, in order.
  mutating func update(_ bytes: UnsafeRawBufferPointer)

  /// Copies `count` bytes from `source` to `destination` (no copy when
  /// `destination` is `nil`, a discard segment) and feeds them, with the
  /// result of a copy followed by ``update(_:)-(UnsafeRawBufferPointer)``.
  /// The two ranges do not overlap.
  ///
  /// The checksummed copies hand each chunk to it; a checksum that can copy
  /// and sum in one pass over the bytes implements it (as the kernel's
  /// `csum_and_copy` helpers do). The default copies, then feeds;
  /// ``InternetChecksum`` does both in one loop.
  mutating func _copyAndUpdate(to destination: UnsafeMutableRawPointer?, from source: UnsafeRawPointer, count: Int)
}

extension IterChecksum {
  /// Copies, then feeds: see the requirement.
  @inlinable
  public mutating func _copyAndUpdate(
    to destination: UnsafeMutableRawPointer?, from source: UnsafeRawPointer, count: Int
  ) {
    if let destination = unsafe destination { unsafe destination.copyMemory(from: source, byteCount: count) }
    unsafe update(UnsafeRawBufferPointer(start: source, count: count))
  }
}

extension IterChecksum {
  /// Feeds the next bytes, in order.
  @inlinable
  public mutating func update(_ bytes: RawSpan) {
    unsafe bytes.withUnsafeBytes { unsafe update($0) }
  }

  /// Feeds the next bytes, in order.
  @inlinable
  public mutating func update(_ bytes: [UInt8]) {
    update(unsafe bytes.span.bytes)
  }

  /// Whether checksummed copies feed this checksum in blocks behind the
  /// copy (``CRC32C`` and ``InternetChecksum``, whose results do not depend
  /// on where the chunks are cut) rather than a chunk at a time.
  @inlinable @inline(__always)
  internal static var _feedsInBlocks: Bool {
    Self.self == CRC32C.self || Self.self == InternetChecksum.self
  }

  /// Bytes a block: large enough for the checksum kernels' interleaved
  /// streams, small enough that a copied block is still in L1 when fed.
  @inlinable @inline(__always)
  internal static var _blockBytes: Int { 8192 }

  /// A segment with at least this many bytes ahead starts a block whose
  /// chunks are each copied and fed in one pass (``_copyAndUpdate(to:from:count:)``);
  /// shorter ones are copied with the inline small copies, then fed a block
  /// at a time. Only ``InternetChecksum`` gains from it (measured: from
  /// DRAM 1.5–1.7× of copy-then-checksum at 1500 B and up, against 1.3–1.4×);
  /// CRC-32C in one loop with the copy ran no faster than the block form from
  /// DRAM and slower in cache, where one 1500-byte chunk is too short for its
  /// three interleaved streams.
  @inlinable @inline(__always)
  internal static var _fusedChunkBytes: Int { Self.self == InternetChecksum.self ? 512 : .max }
}

/// The Internet checksum of RFC 1071: the one's-complement sum of 16-bit
/// big-endian words, as IP, TCP, UDP and ICMP use it.
///
/// Chunks of any length and alignment may be fed in any split; the result is
/// the same as for the bytes in one piece.
///
/// ```swift
/// var sum = InternetChecksum()
/// sum.update([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])
/// sum.value       // 0x220d, the value to store in a header
/// ```
///
/// The corresponding kernel helpers are `csum_partial` and `csum_block_add`.
///
/// Sendable: a running sum, a plain value.
public struct InternetChecksum: IterChecksum, Hashable, Sendable {
  /// The running sum of 16-bit words in the machine's byte order.
  @usableFromInline internal var _sum: UInt64 = 0
  /// The bytes fed so far; an odd count shifts the next chunk by a byte.
  public private(set) var byteCount: Int = 0

  /// A checksum of no bytes.
  public init() {}

  /// Feeds the next bytes.
  ///
  /// - Complexity: O(*n*).
  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    _add(partial: unsafe cic_csum_partial(base, bytes.count), count: bytes.count)
  }

  /// Copies and feeds the bytes in one pass (see the requirement).
  public mutating func _copyAndUpdate(
    to destination: UnsafeMutableRawPointer?, from source: UnsafeRawPointer, count: Int
  ) {
    guard count > 0 else { return }
    guard let destination = unsafe destination else {
      return unsafe update(UnsafeRawBufferPointer(start: source, count: count))
    }
    _add(partial: unsafe cic_copy_csum_partial(destination, source, count), count: count)
  }

  /// Feeds the next bytes through the portable Swift loop (32-bit adds)
  /// instead of the 64-bit C kernel that ``update(_:)-(UnsafeRawBufferPointer)``
  /// uses: the same result, for tests that compare the two.
  @_spi(Testing)
  public mutating func _updateInSoftware(_ bytes: UnsafeRawBufferPointer) {
    guard unsafe !bytes.isEmpty else { return }
    _add(partial: unsafe InternetChecksum._partialSum(bytes), count: bytes.count)
  }

  /// Adds the partial sum of the next `count` bytes (words starting at
  /// their first byte), shifted by a byte when an odd count came before.
  private mutating func _add(partial sum: UInt64, count: Int) {
    var partial = UInt64(InternetChecksum._fold(sum))
    if byteCount & 1 == 1 {
      partial = UInt64(UInt16(truncatingIfNeeded: partial).byteSwapped)
    }
    _sum &+= partial
    byteCount &+= count
  }

  /// The one's-complement sum of the bytes as big-endian words, folded to 16 bits.
  public var sum: UInt16 {
    let native = InternetChecksum._fold(_sum)
    return native.bigEndian == native ? native : native.byteSwapped
  }

  /// The checksum to store in a header: the complement of ``sum``, as a number
  /// whose big-endian bytes are the header's bytes.
  public var value: UInt16 { ~sum }

  @inlinable
  internal static func _fold(_ value: UInt64) -> UInt16 {
    var v = value
    while v >> 16 != 0 { v = (v & 0xffff) &+ (v >> 16) }
    return UInt16(truncatingIfNeeded: v)
  }

  /// The sum of the bytes as native-order 16-bit words, the first byte
  /// starting a word, an odd last byte padded with zero.
  internal static func _partialSum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var sum: UInt64 = 0
    var i = 0
    let n = bytes.count
    // 32-bit loads into a 64-bit accumulator cannot overflow for 2^32 loads;
    // fold in between for anything larger.
    while n - i >= 4 {
      let end = Swift.min(n - (n - i) % 4, i + (1 << 30))
      while i < end {
        sum &+= UInt64(unsafe bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self))
        i &+= 4
      }
      sum = (sum & 0xffff_ffff) &+ (sum >> 32)
    }
    if n - i >= 2 {
      sum &+= UInt64(unsafe bytes.loadUnaligned(fromByteOffset: i, as: UInt16.self))
      i &+= 2
    }
    if i < n {
      // The odd byte is the first byte of a word: its low half in memory order.
      var word: UInt16 = 0
      unsafe withUnsafeMutableBytes(of: &word) { unsafe $0[0] = bytes[i] }
      sum &+= UInt64(word)
    }
    return sum
  }
}

/// CRC-32C (Castagnoli), as iSCSI, SCTP, ext4, Btrfs and NVMe/TCP use it.
///
/// ```swift
/// var crc = CRC32C()
/// crc.update(Array("123456789".utf8))
/// crc.value   // 0xE3069283
/// ```
///
/// Computed with the CPU's CRC-32C instruction where it has one (SSE 4.2's
/// `crc32` on x86-64, the ARMv8 CRC extension on arm64), chosen at run time;
/// elsewhere in software, eight bytes a step (slicing-by-8). Setting the
/// environment variable `ITER_CRC32C=software` before the first use forces the
/// software path. Both give the same values.
///
/// The corresponding kernel function is `crc32c`.
///
/// Sendable: a running remainder, a plain value.
public struct CRC32C: IterChecksum, Hashable, Sendable {
  @usableFromInline internal var _state: UInt32 = 0xffff_ffff

  /// A CRC of no bytes.
  public init() {}

  /// The CRC of the bytes fed so far.
  public var value: UInt32 { ~_state }

  /// Feeds the next bytes.
  ///
  /// - Complexity: O(*n*).
  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    if let base = bytes.baseAddress, cic_crc32c_hw_available() != 0 {
      _state = unsafe cic_crc32c_hw(_state, base, bytes.count)
    } else {
      unsafe _updateInSoftware(bytes)
    }
  }

  /// Whether ``update(_:)-(UnsafeRawBufferPointer)`` uses the CPU's CRC-32C
  /// instruction in this process.
  @_spi(Testing)
  public static var _usesHardware: Bool { cic_crc32c_hw_available() != 0 }

  /// Feeds the next bytes through the portable table path (slicing-by-8),
  /// whatever the CPU has: the same result as
  /// ``update(_:)-(UnsafeRawBufferPointer)``, for tests that compare the two.
  @_spi(Testing)
  public mutating func _updateInSoftware(_ bytes: UnsafeRawBufferPointer) {
    let t = CRC32C._tables
    var crc = _state
    var i = 0
    let n = bytes.count
    while n - i >= 8 {
      let word = unsafe UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
      let lo = UInt32(truncatingIfNeeded: word) ^ crc
      let hi = UInt32(truncatingIfNeeded: word >> 32)
      crc =
        t[7 * 256 + Int(lo & 0xff)] ^ t[6 * 256 + Int((lo >> 8) & 0xff)]
        ^ t[5 * 256 + Int((lo >> 16) & 0xff)] ^ t[4 * 256 + Int(lo >> 24)]
        ^ t[3 * 256 + Int(hi & 0xff)] ^ t[2 * 256 + Int((hi >> 8) & 0xff)]
        ^ t[1 * 256 + Int((hi >> 16) & 0xff)] ^ t[Int(hi >> 24)]
      i &+= 8
    }
    while i < n {
      crc = t[Int((crc ^ UInt32(unsafe bytes[i])) & 0xff)] ^ (crc >> 8)
      i &+= 1
    }
    _state = crc
  }

  /// Eight 256-entry tables for the reflected polynomial 0x82F63B78.
  internal static let _tables: [UInt32] = {
    var t = [UInt32](repeating: 0, count: 8 * 256)
    for i in 0..<256 {
      var c = UInt32(i)
      for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
      t[i] = c
    }
    for k in 1..<8 {
      for i in 0..<256 {
        let prev = t[(k - 1) * 256 + i]
        t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xff)]
      }
    }
    return t
  }()
}
