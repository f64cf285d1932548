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
    var address: UInt { base.map { UInt(bitPattern: $0) } ?? 0 }
  }
  var pieces: [Piece] = []
  var segmentStarts: [Int] = []  // logical offset of segment i's first byte; one more at the end
  var total = 0

  init<S: IterSegmentSource>(_ source: S) {
    for i in 0..<source.segmentCount {
      let s = source.segment(at: i)
      segmentStarts.append(total)
      if s.count > 0 {
        pieces.append(
          Piece(start: total, length: s.count, base: s.base, segmentEnd: s.address &+ UInt(s.count)))
        total += s.count
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

  /// The clipped pieces covering `[from, from + count)`.
  func covering(_ from: Int, _ count: Int) -> [(piece: Piece, skip: Int, length: Int)] {
    guard count > 0 else { return [] }
    var result: [(Piece, Int, Int)] = []
    var i = piece(at: from)
    var left = count
    var skip = from - pieces[i].start
    while left > 0 {
      let p = pieces[i]
      let n = min(p.length - skip, left)
      result.append((p, skip, n))
      left -= n
      skip = 0
      i += 1
    }
    return result
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

  /// What is wrong with `pages` and `offset` as the page list of the `count`
  /// bytes from logical byte `at`, if anything. The contract: pages in order,
  /// the first used from `offset`, every later one from its first byte, every
  /// one but the last to its end. The run need not be one virtual range (a
  /// folio queue lists several folios' pages), but each byte must sit where
  /// the list puts it.
  func pageListProblem(at: Int, count: Int, pages: [IterPage], offset: Int) -> String? {
    let pageSize = IterPage.size
    let run = covering(at, count)
    let start = run[0].piece.address &+ UInt(run[0].skip)
    guard offset == Int(start & UInt(pageSize - 1)),
      pages.count == (offset + count + pageSize - 1) / pageSize
    else {
      return "the pages or offset extracted at byte \(at) are not those under the run "
        + "(offset \(offset) with \(pages.count) pages for \(count) bytes)"
    }
    var listed = offset  // where the next byte falls in the page list
    var previousEnd: UInt? = nil
    for (p, skip, length) in run {
      var address = p.address &+ UInt(skip)
      let follows = previousEnd.map { $0 == address } ?? true
      var left = length
      while left > 0 {
        let page = pages[listed / pageSize]
        let inPage = listed % pageSize
        guard page.address & UInt(pageSize - 1) == 0, page.address &+ UInt(inPage) == address else {
          if !follows && left == length {
            return "the run extracted at byte \(at) is not virtually contiguous, and page "
              + "\(listed / pageSize) of its list does not hold the bytes at \(at + listed - offset)"
          }
          return "the pages or offset extracted at byte \(at) are not those under the run "
            + "(page \(listed / pageSize) does not hold byte \(at + listed - offset))"
        }
        let n = min(left, pageSize - inPage)
        address &+= UInt(n)
        listed += n
        left -= n
      }
      previousEnd = address
    }
    return nil
  }
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
