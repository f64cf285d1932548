//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IntegrationTestSupport
import IterConformance
import IterCore
import IterKernelVirtual
import IterNIO
import NIOCore
import Testing

let allocator = ByteBufferAllocator()

/// Buffers whose readable bytes are the pieces of `bytes`, each after a
/// seed-chosen lead-in that was read past, some of them slices of a larger
/// buffer: written and read through NIO's own API, never through the kind.
func readableBuffers(holding bytes: [UInt8], seed: UInt64) -> [ByteBuffer] {
  seededPieces(of: bytes, seed: seed).enumerated().map { k, piece in
    let lead = seededChoice(0...40, seed: seed, salt: UInt64(k))
    var buffer = allocator.buffer(capacity: lead + piece.count + 64)
    buffer.writeRepeatingByte(0xAA, count: lead)
    buffer.moveReaderIndex(forwardBy: lead)
    buffer.writeBytes(piece)
    buffer.writeRepeatingByte(0xBB, count: 7)
    // Every other buffer is a slice: its storage starts before its bytes.
    guard k % 2 == 0 else { return buffer.getSlice(at: lead, length: piece.count)! }
    buffer.moveWriterIndex(to: lead + piece.count)  // the trailing bytes are not readable
    return buffer
  }
}

/// A buffer whose capacity is exactly `capacity` bytes (the allocator rounds
/// up; a slice does not), all of them writable.
func buffer(exactly capacity: Int) -> ByteBuffer {
  var whole = allocator.buffer(capacity: capacity)
  whole.writeRepeatingByte(0, count: capacity)
  var slice = whole.getSlice(at: 0, length: capacity)!
  slice.moveWriterIndex(to: 0)
  return slice
}

/// Buffers whose writable capacity is exactly the pieces of `bytes` and holds
/// them, after a seed-chosen number of readable bytes: the bytes are set
/// beyond the writer index through NIO, not through the kind.
func writableBuffers(holding bytes: [UInt8], seed: UInt64) -> [ByteBuffer] {
  seededPieces(of: bytes, seed: seed).enumerated().map { k, piece in
    let readable = seededChoice(0...40, seed: seed, salt: UInt64(k))
    var buffer = buffer(exactly: readable + piece.count)
    buffer.writeRepeatingByte(0xCC, count: readable)
    buffer.setBytes(piece, at: buffer.writerIndex)
    return buffer
  }
}

@Suite("ByteBufferSegments conforms")
struct ByteBufferConformanceTests {
  /// The readable bytes as a source, the writable capacity as a destination.
  @Test(arguments: [true, false])
  func buffersConform(readable: Bool) {
    let (report, options) = checkConformance(
      of: readable ? "ByteBufferSegments(readableBytesOf:)" : "ByteBufferSegments(writableBytesOf:)",
      holds: \ByteBufferSegments.heldExtractions
    ) { bytes, seed in
      readable
        ? ByteBufferSegments(readableBytesOf: readableBuffers(holding: bytes, seed: seed))
        : ByteBufferSegments(writableBytesOf: writableBuffers(holding: bytes, seed: seed))
    }
    report.recordIssues()
    #expect(report.isClean)
    #expect(report.layoutsChecked == options.sizes.count)
    #expect(report.operationsRun == options.sizes.count * options.operationsPerRun)
  }

  /// A chain that mixes ByteBuffers with the library's own kernel-virtual
  /// memory passes too: the chain admits kinds from outside the library.
  @Test func aMixedChainConforms() {
    let vm = VirtualAllocator()
    let buffersLog = HoldLog<ByteBufferSegments> { $0.heldExtractions }
    let (report, _) = checkConformance(
      of: "IterChain(ByteBufferSegments, KVecArray)",
      otherHolds: { buffersLog.heldExtractions + vm.extractionRetentionCount },
      makeSource: { bytes, seed in
        let half = seededChoice(0...bytes.count, seed: seed, salt: 0xC4A1)
        let tail = Array(bytes[half...])
        let region = try vm.allocate(byteCount: max(tail.count, 1))
        region.withUnsafeMutableBytes { $0.copyBytes(from: tail) }
        let kvecs = try KVecArray([KVec(region, offset: 0, count: tail.count)])
        let buffers = buffersLog.record(
          ByteBufferSegments(readableBytesOf: readableBuffers(holding: Array(bytes[..<half]), seed: seed)))
        return try IterChain(direction: .source, members: [buffers, kvecs])
      })
    report.recordIssues()
    #expect(report.isClean)
  }
}
