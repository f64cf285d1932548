//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import Testing

@Suite("Checksums")
struct ChecksumTests {
  @Test func internetChecksumMatchesRFC1071Example() {
    var sum = InternetChecksum()
    sum.update([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])
    #expect(sum.sum == 0xddf2)
    #expect(sum.value == 0x220d)
  }

  @Test(arguments: [1, 2, 3, 5, 7, 8, 13])
  func internetChecksumIsIndependentOfChunking(chunk: Int) {
    let bytes = (0..<1001).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    var whole = InternetChecksum()
    whole.update(bytes)
    var pieces = InternetChecksum()
    var at = 0
    while at < bytes.count {
      pieces.update(Array(bytes[at..<min(at + chunk, bytes.count)]))
      at += chunk
    }
    #expect(pieces.value == whole.value && pieces.byteCount == 1001)
  }

  @Test func crc32cKnownVectors() {
    var crc = CRC32C()
    crc.update(Array("123456789".utf8))
    #expect(crc.value == 0xE306_9283)
    var zeros = CRC32C()
    zeros.update([UInt8](repeating: 0, count: 32))
    #expect(zeros.value == 0x8A91_36AA)  // RFC 3720 B.4: 32 bytes of zeros
    var ones = CRC32C()
    ones.update([UInt8](repeating: 0xff, count: 32))
    #expect(ones.value == 0x62A8_AB43)  // RFC 3720 B.4: 32 bytes of 0xff
  }

  @Test func checksummedCopyCoversExactlyTheBytesCopied() throws {
    let layout = Layout([3, 0, 6])
    var dst = try layout.cursor(.destination)
    var crc = CRC32C()
    let bytes = Array("123456789xyz".utf8)
    #expect(try bytes.withUnsafeBytes { try dst.write($0, checksum: &crc) } == 9)
    #expect(crc.value == 0xE306_9283)
    var src = try layout.cursor(.source)
    var inet = InternetChecksum()
    var out = [UInt8](repeating: 0, count: 20)
    #expect(try out.withUnsafeMutableBytes { try src.read(into: $0, checksum: &inet) } == 9)
    var direct = InternetChecksum()
    direct.update(Array(bytes[0..<9]))
    #expect(inet.value == direct.value)
    #expect(throws: IterError.wrongDirection(operation: "csum_and_copy_from_iter", direction: .destination)) {
      try out.withUnsafeMutableBytes { try dst.read(into: $0, checksum: &inet) }
    }
  }
}
