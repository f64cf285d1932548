//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
@_spi(Testing) import IterCore
import IterTestSupport
import Testing

/// The CRC-32C of `bytes` a byte at a time, straight from the definition
/// (reflected polynomial 0x82F63B78): the reference for both fast paths.
private func bitwiseCRC32C(_ bytes: [UInt8]) -> UInt32 {
  var crc: UInt32 = 0xffff_ffff
  for b in bytes {
    crc ^= UInt32(b)
    for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
  }
  return ~crc
}

/// The Internet checksum of `bytes` from RFC 1071's definition: big-endian
/// 16-bit words, an odd last byte padded, end-around carries.
private func referenceInternetSum(_ bytes: [UInt8]) -> UInt16 {
  var sum: UInt32 = 0
  var i = 0
  while i < bytes.count {
    let hi = UInt32(bytes[i])
    let lo = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
    sum += hi << 8 | lo
    sum = (sum & 0xffff) + (sum >> 16)
    i += 2
  }
  return UInt16(sum)
}

/// Counts bytes and adds them up: a conformer that is neither built-in type,
/// so the copies take the generic path for it.
private struct ByteTally: IterChecksum, Equatable {
  var count = 0
  var total: UInt64 = 0
  mutating func update(_ bytes: UnsafeRawBufferPointer) {
    count += bytes.count
    for b in bytes { total &+= UInt64(b) }
  }
}

private func randomBytes(_ n: Int, _ rng: inout SeededGenerator) -> [UInt8] {
  (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
}

/// CRC-32C and the Internet checksum through every path: the CPU's
/// instruction (where this machine has it), the portable table path, the
/// 64-bit C sum, the Swift 32-bit sum, and the checksummed copies of
/// `IovIter.read(into:checksum:)` and `write(_:checksum:)` (fed in blocks
/// behind the copy), against each other,
/// against definitions written out bit by bit, and against known vectors.
@Suite("Checksum paths")
struct ChecksumPathTests {
  static let vectors: [([UInt8], UInt32)] = [
    ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),  // RFC 3720 B.4
    ([UInt8](repeating: 0xff, count: 32), 0x62A8_AB43),
    ((0..<32).map { UInt8($0) }, 0x46DD_794E),
    ((0..<32).map { UInt8(31 - $0) }, 0x113F_DB5C),
    (Array("123456789".utf8), 0xE306_9283),
    ([], 0),
  ]

  @Test func crc32cVectorsOnEveryPath() throws {
    for (bytes, expected) in Self.vectors {
      #expect(bitwiseCRC32C(bytes) == expected)
      var auto = CRC32C()
      auto.update(bytes)
      var table = CRC32C()
      bytes.withUnsafeBytes { table._updateInSoftware($0) }
      #expect(auto.value == expected && table.value == expected, "\(bytes.count) bytes")
      // Fused, both directions, through segments of 5 bytes.
      let layout = Layout(Array(repeating: 5, count: (bytes.count + 4) / 5))
      var dst = try layout.cursor(.destination, count: bytes.count)
      var written = CRC32C()
      _ = try bytes.withUnsafeBytes { try dst.write($0, checksum: &written) }
      #expect(written.value == expected)
      var src = try layout.cursor(.source, count: bytes.count)
      var read = CRC32C()
      var out = [UInt8](repeating: 0, count: bytes.count)
      _ = try out.withUnsafeMutableBytes { try src.read(into: $0, checksum: &read) }
      #expect(read.value == expected && out == bytes)
    }
  }

  /// On x86-64 Linux the CI machines have SSE 4.2; a run with
  /// `ITER_CRC32C=software` must take the table path instead.
  @Test func hardwarePathIsChosenAsTheEnvironmentSays() {
    let forced = getenv("ITER_CRC32C").map { String(cString: $0) } == "software"
    #if arch(x86_64)
      #expect(CRC32C._usesHardware == !forced)
    #else
      if forced { #expect(!CRC32C._usesHardware) }
    #endif
  }

  @Test func internetChecksumPathsAgreeOnEdgeCases() {
    let cases: [[UInt8]] = [
      [], [0], [0xff], [0xff, 0xff], [UInt8](repeating: 0, count: 100),
      [UInt8](repeating: 0xff, count: 64), [UInt8](repeating: 0xff, count: 65),
      [UInt8](repeating: 0xff, count: 4099), [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7],
    ]
    for bytes in cases {
      var wide = InternetChecksum()
      wide.update(bytes)
      var narrow = InternetChecksum()
      bytes.withUnsafeBytes { narrow._updateInSoftware($0) }
      #expect(wide == narrow, "\(bytes.prefix(4)) × \(bytes.count)")
      #expect(wide.sum == referenceInternetSum(bytes), "\(bytes.prefix(4)) × \(bytes.count)")
    }
  }

  /// Random lengths 0…4 KiB (and some to 40 KB, past the copies' 8 KiB
  /// blocks) at random alignments, fed in random chunks and copied through
  /// random segment layouts: every path gives the value of the whole, and
  /// every copied byte arrives.
  @Test func randomLengthsAlignmentsAndSplitsAgree() throws {
    let seed = TestSeed.base &+ 0xC5C5
    var rng = SeededGenerator(seed: seed)
    for round in 0..<300 {
      let n =
        round < 40
        ? round : round >= 280 ? Int.random(in: 8000...40000, using: &rng) : Int.random(in: 0...4096, using: &rng)
      let bytes = randomBytes(n, &rng)
      let crc = bitwiseCRC32C(bytes)
      let inet = referenceInternetSum(bytes)
      let context = "seed \(seed) round \(round), \(n) bytes"

      // update(_:) and the software paths over a random split, at a random
      // misalignment of the buffer.
      let shift = Int.random(in: 0..<8, using: &rng)
      var padded = [UInt8](repeating: 0, count: shift) + bytes
      var auto = CRC32C()
      var table = CRC32C()
      var wide = InternetChecksum()
      var narrow = InternetChecksum()
      padded.withUnsafeMutableBytes { all in
        var at = shift
        while at < all.count {
          let k = Swift.min(Int.random(in: 0...97, using: &rng), all.count - at)
          let chunk = UnsafeRawBufferPointer(rebasing: all[at..<at + k])
          auto.update(chunk)
          table._updateInSoftware(chunk)
          wide.update(chunk)
          narrow._updateInSoftware(chunk)
          at += k
        }
      }
      #expect(auto.value == crc && table.value == crc, "\(context)")
      #expect(wide.sum == inet && narrow.sum == inet && wide == narrow, "\(context)")
      #expect(wide.byteCount == n, "\(context)")

      // The checksummed copies through segments of random sizes at a random offset.
      let sizes = randomSegmentSizes(total: n, maxSegments: 40, using: &rng)
      let layout = Layout(sizes, at: Int.random(in: 0..<8, using: &rng))
      var dst = try layout.cursor(.destination)
      var writeCRC = CRC32C()
      var writeSum = InternetChecksum()
      #expect(try bytes.withUnsafeBytes { try dst.write($0, checksum: &writeCRC) } == n)
      #expect(layout.bytes == bytes, "\(context)")
      var again = try layout.cursor(.destination)
      #expect(try bytes.withUnsafeBytes { try again.write($0, checksum: &writeSum) } == n)
      #expect(writeCRC.value == crc && writeSum.sum == inet, "\(context)")

      var src = try layout.cursor(.source)
      var readCRC = CRC32C()
      var out = [UInt8](repeating: 0, count: n + 8)
      let at = Int.random(in: 0..<8, using: &rng)
      #expect(
        try out.withUnsafeMutableBytes {
          try src.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[at..<at + n]), checksum: &readCRC)
        } == n)
      #expect(Array(out[at..<at + n]) == bytes && readCRC.value == crc, "\(context)")
      var srcAgain = try layout.cursor(.source)
      var readSum = InternetChecksum()
      _ = try out.withUnsafeMutableBytes { try srcAgain.read(into: $0, checksum: &readSum) }
      #expect(readSum.sum == inet && readSum.byteCount == n, "\(context)")
    }
  }

  /// A checksum of another type keeps the generic path: copied, then fed.
  @Test func otherConformersSeeEveryCopiedByte() throws {
    let layout = Layout([7, 0, 64, 1, 300])
    let bytes = (0..<layout.total).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
    var dst = try layout.cursor(.destination)
    var tally = ByteTally()
    _ = try bytes.withUnsafeBytes { try dst.write($0, checksum: &tally) }
    let expected = ByteTally(count: bytes.count, total: bytes.reduce(0) { $0 + UInt64($1) })
    #expect(tally == expected && layout.bytes == bytes)
    var src = try layout.cursor(.source)
    var readTally = ByteTally()
    var out = [UInt8](repeating: 0, count: bytes.count)
    _ = try out.withUnsafeMutableBytes { try src.read(into: $0, checksum: &readTally) }
    #expect(readTally == expected && out == bytes)
  }

  /// Long segments take the one-loop copy-and-sum path, short ones the block
  /// path, and discard segments are only fed: every mix, both ways, gives the
  /// reference sums and bytes. A source that shrinks under the copy is a
  /// typed error, with the cursor and the checksum as they were.
  @Test func longShortAndDiscardSegmentsAgree() throws {
    var rng = SeededGenerator(seed: TestSeed.base &+ 0xF05E)
    for round in 0..<150 {
      let sizes = (0..<Int.random(in: 1...12, using: &rng)).map { _ in
        Bool.random(using: &rng) ? Int.random(in: 0...64, using: &rng) : Int.random(in: 500...5000, using: &rng)
      }
      let n = sizes.reduce(0, +)
      let bytes = randomBytes(n, &rng)
      let context = "round \(round), sizes \(sizes)"
      let buffer = UnsafeMutableRawPointer.allocate(byteCount: n + 1, alignment: 16)
      defer { buffer.deallocate() }
      buffer.initializeMemory(as: UInt8.self, repeating: 0xEE, count: n + 1)
      var segments: [IterSegment] = []
      var expected = [UInt8](repeating: 0xEE, count: n)
      var at = 0
      for size in sizes {
        let discard = Int.random(in: 0..<4, using: &rng) == 0
        segments.append(IterSegment(base: discard ? nil : buffer + at, count: size))
        if !discard { expected.replaceSubrange(at..<at + size, with: bytes[at..<at + size]) }
        at += size
      }
      for useCRC in [false, true] {
        buffer.initializeMemory(as: UInt8.self, repeating: 0xEE, count: n)
        var dst = try IovIter(UnsafeSegmentList(segments), direction: .destination)
        var crc = CRC32C()
        var sum = InternetChecksum()
        let written = try bytes.withUnsafeBytes {
          useCRC ? try dst.write($0, checksum: &crc) : try dst.write($0, checksum: &sum)
        }
        #expect(written == n, "\(context)")
        #expect(Array(UnsafeRawBufferPointer(start: buffer, count: n)) == expected, "\(context)")
        if useCRC {
          #expect(crc.value == bitwiseCRC32C(bytes), "\(context)")
        } else {
          #expect(sum.sum == referenceInternetSum(bytes) && sum.byteCount == n, "\(context)")
        }
      }
      // Read back over the same sizes, all with memory.
      bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: n) }
      var offsets = 0
      let full = sizes.map { size in
        defer { offsets += size }
        return IterSegment(base: buffer + offsets, count: size)
      }
      var src = try IovIter(UnsafeSegmentList(full), direction: .source)
      var sum = InternetChecksum()
      var out = [UInt8](repeating: 0, count: n)
      #expect(try out.withUnsafeMutableBytes { try src.read(into: $0, checksum: &sum) } == n)
      #expect(out == bytes && sum.sum == referenceInternetSum(bytes), "\(context)")
    }
  }

  @Test func aSourceThatShrinksUnderAChecksummedCopyIsATypedError() throws {
    let layout = Layout([600, 4000, 700])
    let bytes = (0..<layout.total).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    var dst = try layout.cursor(.destination)
    _ = try bytes.withUnsafeBytes { try dst.write($0) }
    let list = MutableList(Array(layout.list.segments))
    for shrink in [1, 2] {
      var src = try IovIter(list, direction: .source)
      try src.advance(by: 10)
      let position = src.position
      list.box.segments[shrink] = IterSegment(base: list.box.segments[shrink].base, count: 5)
      defer { list.box.segments[shrink] = layout.list.segments[shrink] }
      for useCRC in [false, true] {
        var sum = InternetChecksum()
        var crc = CRC32C()
        sum.update([1, 2, 3])
        crc.update([1, 2, 3])
        let (sumBefore, crcBefore) = (sum, crc)
        var out = [UInt8](repeating: 0, count: layout.total)
        do {
          _ = try out.withUnsafeMutableBytes {
            useCRC ? try src.read(into: $0, checksum: &crc) : try src.read(into: $0, checksum: &sum)
          }
          Issue.record("no error")
        } catch {
          guard case IterError.sourceChanged = error else {
            Issue.record("\(error)")
            continue
          }
        }
        #expect(src.position == position && src.count == layout.total - 10)
        #expect(sum == sumBefore && crc == crcBefore)
      }
    }
  }
}
