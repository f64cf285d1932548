//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore

/// A source's bytes flattened: for each non-empty segment, where it starts in
/// the logical byte stream and where it lives in memory. The reference model
/// works on this, never on the cursor's own position state.
struct FlatLayout {
  struct Piece {
    var start: Int  // logical offset of the first byte
    var length: Int
    var base: UnsafeMutableRawPointer?
    var segmentEnd: UInt  // address one past the whole segment
    var segment = 0  // the index of the segment it is
    var address: UInt { base.map { UInt(bitPattern: $0) } ?? 0 }
  }
  var pieces: [Piece] = []
  var segmentStarts: [Int] = []  // logical offset of segment i's first byte; one more at the end
  var total = 0

  /// A negative segment count reads as none; negative lengths as empty, and
  /// the layout stops at a length that would overflow the total (the
  /// structure check reports those before anything relies on the layout).
  init<S: IterSegmentSource>(_ source: S) {
    for i in 0..<max(0, source.segmentCount) {
      let s = source.segment(at: i)
      segmentStarts.append(total)
      if s.count > 0 {
        let (sum, overflow) = total.addingReportingOverflow(s.count)
        if overflow { continue }
        pieces.append(
          Piece(
            start: total, length: s.count, base: s.base, segmentEnd: s.address &+ UInt(s.count), segment: i))
        total = sum
      }
    }
    segmentStarts.append(total)
  }

  /// The index of the piece that holds logical byte `offset`.
  func piece(at offset: Int) -> Int {
    var lo = 0
    var hi = pieces.count - 1
    while lo < hi {
      let mid = (lo + hi + 1) / 2
      if pieces[mid].start <= offset { lo = mid } else { hi = mid - 1 }
    }
    return lo
  }

  /// The clipped pieces covering `[from, from + count)`, made as they are
  /// walked (a walk that stops early costs only what it saw).
  func covering(_ from: Int, _ count: Int) -> Covering { Covering(self, from, count) }

  /// The pieces of ``covering(_:_:)``.
  struct Covering: Sequence, IteratorProtocol {
    let layout: FlatLayout
    var index = 0
    var left: Int
    var skip = 0

    init(_ layout: FlatLayout, _ from: Int, _ count: Int) {
      self.layout = layout
      left = count
      if count > 0 {
        index = layout.piece(at: from)
        skip = from - layout.pieces[index].start
      }
    }

    mutating func next() -> (piece: Piece, skip: Int, length: Int)? {
      guard left > 0 else { return nil }
      let p = layout.pieces[index]
      let n = Swift.min(p.length - skip, left)
      defer {
        left -= n
        skip = 0
        index += 1
      }
      return (p, skip, n)
    }
  }

  /// The bytes in memory now, in logical order (zero where there is no memory).
  func read() -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: total)
    for p in pieces {
      if let base = p.base {
        bytes.withUnsafeMutableBytes { raw in
          (raw.baseAddress! + p.start).copyMemory(from: base, byteCount: p.length)
        }
      }
    }
    return bytes
  }

  /// Writes `bytes` (in logical order) into the memory behind the pieces.
  func write(_ bytes: [UInt8]) {
    for p in pieces {
      if let base = p.base {
        bytes.withUnsafeBytes { raw in base.copyMemory(from: raw.baseAddress! + p.start, byteCount: p.length) }
      }
    }
  }

  func hasMemory(_ offset: Int) -> Bool { pieces[piece(at: offset)].base != nil }
  var hasMemorylessPieces: Bool { pieces.contains { $0.base == nil } }
}

/// RFC 1071 the slow way: big-endian 16-bit words summed with end-around carry.
func referenceInternetChecksum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
  var sum: UInt64 = 0
  var i = bytes.startIndex
  while i + 1 < bytes.endIndex {
    sum += UInt64(bytes[i]) << 8 | UInt64(bytes[i + 1])
    i += 2
  }
  if i < bytes.endIndex { sum += UInt64(bytes[i]) << 8 }
  while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
  return ~UInt16(sum)
}

/// CRC-32C the slow way, a bit at a time.
func referenceCRC32C(_ bytes: ArraySlice<UInt8>) -> UInt32 {
  var crc: UInt32 = 0xffff_ffff
  for b in bytes {
    crc ^= UInt32(b)
    for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
  }
  return ~crc
}

/// Bytes derived from a seed, cheaply.
func seededBytes(_ n: Int, seed: UInt64) -> [UInt8] {
  var bytes = [UInt8](repeating: 0, count: n)
  var state = seed | 1
  bytes.withUnsafeMutableBytes { raw in
    var k = 0
    while k < n {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let word = state ^ (state >> 29)
      withUnsafeBytes(of: word) { w in
        for j in 0..<min(8, n - k) { raw[k + j] = w[j] }
      }
      k += 8
    }
  }
  return bytes
}

extension FlatLayout {
  /// Why a page list of `pages`, first used from `offset`, does not hold the
  /// `count` bytes that start at logical byte `from`, or `nil` when it does.
  ///
  /// The kernel's extraction contract, checked against this model's own
  /// record of where each byte lives: the pages in order, the first used from
  /// `offset`, every later one from its first byte, every one but the last
  /// used to its end. Virtual contiguity is not required (it is a rule of some
  /// kinds, not of the protocol).
  func pageListProblem(pages: [IterPage], offset: Int, count: Int, from: Int) -> String? {
    let pageSize = IterPage.size
    let mask = UInt(pageSize - 1)
    guard offset >= 0 && offset < pageSize else {
      return "offset \(offset) is not inside the first page"
    }
    let want = (offset + count + pageSize - 1) / pageSize
    guard pages.count == want else {
      return "\(pages.count) pages listed for \(count) bytes from offset \(offset); they touch \(want)"
    }
    var done = 0
    for (piece, skip, length) in covering(from, count) {
      guard piece.base != nil else { return "byte \(from + done) has no memory" }
      var address = piece.address &+ UInt(skip)
      var left = length
      while left > 0 {
        let at = offset + done
        let (k, inPage) = (at / pageSize, at % pageSize)
        if address & ~mask != pages[k].address || Int(address & mask) != inPage {
          return "byte \(from + done) is at 0x\(String(address, radix: 16)), not at offset \(inPage) "
            + "of page \(k) (\(pages[k]))"
        }
        let step = min(left, pageSize - inPage)
        address &+= UInt(step)
        left -= step
        done += step
      }
    }
    return nil
  }
}
