//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterIO
import IterNIO
import NIOCore
import Testing

/// What the conformance suite cannot know: lifetimes, copy-on-write, the
/// buffers handed back, and the copies and descriptors on a cursor.
@Suite("ByteBufferSegments")
struct ByteBufferSegmentsTests {
  /// Reads `count` bytes at `offset` into the first of `pages`.
  func bytes(at pages: [IterPage], offset: Int, count: Int) -> [UInt8] {
    let start = UnsafeRawPointer(bitPattern: pages[0].address)! + offset
    return (0..<count).map { start.load(fromByteOffset: $0, as: UInt8.self) }
  }

  @Test func aRetentionKeepsTheStorageAliveAfterTheBufferIsGone() throws {
    let payload = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    let retention: IterRetention
    var pages: [IterPage] = []
    var offset = 0
    var count = 0
    do {
      var buffer = allocator.buffer(capacity: payload.count)
      buffer.writeBytes(payload)
      let kind = ByteBufferSegments(readableBytesOf: buffer)
      var iter = try IovIter(kind, direction: .source)
      let extraction = try iter.extractPages(maxBytes: payload.count, maxPages: 2)
      #expect(extraction.retentionKind == .ownerReference)
      #expect(kind.heldExtractions == 1)
      (pages, offset, count) = (extraction.pages, extraction.offset, extraction.count)
      retention = extraction.takeRetention()
    }
    // The buffer, the kind and the cursor are gone; the retention alone holds
    // the storage, so its bytes are still there to read (ASan would see a
    // use after free otherwise).
    #expect(count > 0)
    #expect(bytes(at: pages, offset: offset, count: count) == Array(payload[..<count]))
    retention.release()
  }

  @Test func aDestinationWritesItsOwnStorageAndHandsTheBufferBack() throws {
    var original = buffer(exactly: 16)
    original.writeString("ab")
    let kind = ByteBufferSegments(writableBytesOf: original)
    #expect(kind.byteCount == 14)
    var iter = try IovIter(kind, direction: .destination)
    #expect(try iter.write(Array("cdefg".utf8)) == 5)
    // The caller's buffer never sees a write made through the kind.
    #expect(original.readableBytes == 2)
    #expect(original.withVeryUnsafeBytes { Array($0[2..<7]) } == [0, 0, 0, 0, 0])
    var written = try kind.buffers(afterWriting: 5)
    #expect(written.count == 1 && written[0].readString(length: 7) == "abcdefg")
    #expect(throws: IterError.self) { try kind.buffers(afterWriting: 15) }
    #expect(throws: IterError.self) { try kind.buffers(afterWriting: -1) }
  }

  @Test func writtenBytesFillSeveralBuffersInOrder() throws {
    let buffers = [4, 0, 3, 5].map { buffer(exactly: $0) }
    let kind = ByteBufferSegments(writableBytesOf: buffers)
    #expect(kind.segmentCount == 3 && kind.byteCount == 12)
    var iter = try IovIter(kind, direction: .destination)
    try iter.writeFull(Array("abcdefghi".utf8))
    let back = try kind.buffers(afterWriting: 9)
    #expect(back.map { String(buffer: $0) } == ["abcd", "", "efg", "hi"])
  }

  @Test func aSourceIsOnlyASource() throws {
    var buffer = allocator.buffer(capacity: 8)
    buffer.writeString("source")
    let kind = ByteBufferSegments(readableBytesOf: [buffer, buffer])
    #expect(throws: IterError.self) { try IovIter(kind, direction: .destination) }
    #expect(throws: IterError.self) { try kind.buffers(afterWriting: 0) }
    var iter = try IovIter(kind, direction: .source)
    #expect(try iter.read(upTo: 100) == Array("sourcesource".utf8))
    #expect(String(buffer: buffer) == "source")
  }

  @Test func readIntoAByteBufferMovesItsWriterIndex() throws {
    var source = allocator.buffer(capacity: 32)
    source.writeString("hello, vectored world")
    var iter = try IovIter(ByteBufferSegments(readableBytesOf: source), direction: .source)
    var target = buffer(exactly: 5)
    target.writeString("> ")
    let room = target.writableBytes
    #expect(try iter.read(into: &target) == room)
    #expect(String(buffer: target) == "> " + "hello, vectored world".prefix(room))
    #expect(iter.count == 21 - room)
    // A destination cursor cannot be read from; the buffer is unchanged.
    var other = try IovIter(ByteBufferSegments(writableBytesOf: allocator.buffer(capacity: 4)), direction: .destination)
    let before = target
    #expect(throws: IterError.self) { try other.read(into: &target) }
    #expect(target == before)
  }

  @Test func writeCopiesABufferIntoADestinationCursor() throws {
    let space = ByteBufferSegments(writableBytesOf: buffer(exactly: 6))
    var iter = try IovIter(space, direction: .destination)
    var bytes = allocator.buffer(capacity: 8)
    bytes.writeString("abcdefgh")
    #expect(try iter.write(bytes) == 6)
    #expect(bytes.readableBytes == 8)
    #expect(String(buffer: try space.buffers(afterWriting: 6)[0]) == "abcdef")
    var source = try IovIter(ByteBufferSegments(readableBytesOf: bytes), direction: .source)
    #expect(throws: IterError.self) { try source.write(bytes) }
  }

  @Test func writevAndReadvThroughANIOFileHandle() throws {
    var fds: [CInt] = [0, 0]
    #expect(pipe(&fds) == 0)
    let reader = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fds[0])
    let writer = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fds[1])
    defer {
      try? reader.close()
      try? writer.close()
    }
    var a = allocator.buffer(capacity: 8)
    a.writeString("vec")
    var b = allocator.buffer(capacity: 8)
    b.writeString("tored")
    var out = try IovIter(ByteBufferSegments(readableBytesOf: [a, b]), direction: .source)
    #expect(try out.writev(to: writer) == IOResult(byteCount: 8, status: .transferred))
    let space = ByteBufferSegments(writableBytesOf: [buffer(exactly: 3), buffer(exactly: 16)])
    var into = try IovIter(space, direction: .destination)
    #expect(try into.readv(from: reader).byteCount == 8)
    #expect(try space.buffers(afterWriting: 8).map { String(buffer: $0) } == ["vec", "tored"])
  }
}
