//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterIO
import IterSystem
import IterUser
import SystemPackage
import Testing

/// Separate allocations, filled with given bytes, as one user iovec array;
/// freed when the test is done with them.
final class Pieces {
  let memory: [UnsafeMutableRawBufferPointer]

  init(_ pieces: [[UInt8]]) {
    memory = pieces.map { piece in
      let m = UnsafeMutableRawBufferPointer.allocate(byteCount: max(piece.count, 1), alignment: 16)
      m.copyBytes(from: piece)
      return UnsafeMutableRawBufferPointer(rebasing: m[..<piece.count])
    }
  }
  convenience init(sizes: [Int]) { self.init(sizes.map { [UInt8](repeating: 0, count: $0) }) }
  deinit { for m in memory { m.deallocate() } }

  func cursor(_ direction: IterDirection) throws -> IovIter<UserIOVecArray> {
    try IovIter(try UserIOVecArray(importing: memory), direction: direction)
  }
  var bytes: [UInt8] { memory.flatMap { Array($0) } }
}

func temporaryFile() throws -> FileDescriptor {
  var template = Array("/tmp/iter-system-XXXXXX".utf8CString)
  let fd = mkstemp(&template)
  #expect(fd >= 0)
  unlink(template)
  return FileDescriptor(rawValue: fd)
}

func makePipe(nonBlocking: Bool = false) throws -> (read: FileDescriptor, write: FileDescriptor) {
  var fds: [CInt] = [0, 0]
  #expect(pipe(&fds) == 0)
  if nonBlocking {
    for fd in fds { #expect(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0) }
  }
  return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
}

/// `fcntl(2)`'s `F_GETPIPE_SZ` (`F_LINUX_SPECIFIC_BASE + 8`), which Glibc's
/// module does not export.
let getPipeSize: CInt = 1024 + 8

@Suite("FileDescriptor vectored I/O")
struct FileDescriptorTests {
  @Test func writevThenPreadvOnAFile() throws {
    let fd = try temporaryFile()
    defer { try? fd.close() }
    let out = Pieces([Array("hello ".utf8), [], Array("vectored ".utf8), Array("world".utf8)])
    var source = try out.cursor(.source)
    #expect(try fd.writev(&source) == 20)
    #expect(source.count == 0)
    let into = Pieces(sizes: [8, 0, 12])
    var destination = try into.cursor(.destination)
    #expect(try fd.preadv(&destination, at: 0) == 20)
    #expect(into.bytes == Array("hello vectored world".utf8))
    // preadv does not move the file position: the file is at its end.
    let moreMemory = Pieces(sizes: [4])
    defer { withExtendedLifetime(moreMemory) {} }  // the cursor holds raw pointers into it
    var more = try moreMemory.cursor(.destination)
    #expect(try fd.readv(&more) == 0)
  }

  @Test func pwritevAtAnOffsetThenReadvFromTheStart() throws {
    let fd = try temporaryFile()
    defer { try? fd.close() }
    let sourceMemory = Pieces([Array("abc".utf8), Array("def".utf8)])
    defer { withExtendedLifetime(sourceMemory) {} }  // the cursor holds raw pointers into it
    var source = try sourceMemory.cursor(.source)
    #expect(try fd.pwritev(&source, at: 4) == 6)
    let into = Pieces(sizes: [5, 5])
    var destination = try into.cursor(.destination)
    #expect(try fd.readv(&destination) == 10)
    #expect(into.bytes == [0, 0, 0, 0] + Array("abcdef".utf8))
    // The end of the file: 0 bytes, the cursor keeps its room.
    let tailMemory = Pieces(sizes: [3])
    defer { withExtendedLifetime(tailMemory) {} }  // the cursor holds raw pointers into it
    var tail = try tailMemory.cursor(.destination)
    #expect(try fd.preadv(&tail, at: 10) == 0)
    #expect(tail.count == 3)
  }

  @Test func aFullPipeWritesPartlyThenSaysWouldBlock() throws {
    let (r, w) = try makePipe(nonBlocking: true)
    defer {
      try? r.close()
      try? w.close()
    }
    let capacity = Int(fcntl(w.rawValue, getPipeSize))
    let data = Pieces([[UInt8](repeating: 1, count: capacity / 2), [UInt8](repeating: 2, count: capacity)])
    var source = try data.cursor(.source)
    let written = try w.writev(&source)
    #expect(written == capacity)
    #expect(source.count == capacity / 2)
    #expect(throws: Errno.wouldBlock) { try w.writev(&source) }
    #expect(source.count == capacity / 2)
    // The reader drains what was written, in order.
    let into = Pieces(sizes: [capacity])
    var destination = try into.cursor(.destination)
    #expect(try r.readv(&destination) == capacity)
    #expect(into.bytes == Array(data.bytes[..<capacity]))
  }

  @Test func aClosedWriterIsTheEndOfFile() throws {
    let (r, w) = try makePipe()
    defer { try? r.close() }
    let sourceMemory = Pieces([Array("last".utf8)])
    defer { withExtendedLifetime(sourceMemory) {} }  // the cursor holds raw pointers into it
    var source = try sourceMemory.cursor(.source)
    #expect(try w.writev(&source) == 4)
    try w.close()
    let into = Pieces(sizes: [2, 8])
    var destination = try into.cursor(.destination)
    #expect(try r.readv(&destination) == 4)
    #expect(try r.readv(&destination) == 0)
    #expect(destination.count == 6)
  }

  @Test func aSocketpairCarriesVectorsBothWays() throws {
    var fds: [CInt] = [0, 0]
    #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
    let (a, b) = (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    defer {
      try? a.close()
      try? b.close()
    }
    let pingMemory = Pieces([Array("pi".utf8), Array("ng".utf8)])
    defer { withExtendedLifetime(pingMemory) {} }  // the cursor holds raw pointers into it
    var ping = try pingMemory.cursor(.source)
    #expect(try a.writev(&ping) == 4)
    let into = Pieces(sizes: [1, 3])
    var received = try into.cursor(.destination)
    #expect(try b.readv(&received) == 4)
    #expect(into.bytes == Array("ping".utf8))
  }

  @Test func errorsMapToErrnoAndTheCursorStays() throws {
    let (r, w) = try makePipe()
    defer {
      try? r.close()
      try? w.close()
    }
    let sourceMemory = Pieces([Array("x".utf8)])
    defer { withExtendedLifetime(sourceMemory) {} }  // the cursor holds raw pointers into it
    var source = try sourceMemory.cursor(.source)
    // A pipe has no offsets: ESPIPE, as swift-system reports it.
    #expect(throws: Errno.illegalSeek) { try w.pwritev(&source, at: 0) }
    #expect(source.count == 1)
    // Writing the read end: EBADF.
    #expect(throws: Errno.badFileDescriptor) { try r.writev(&source) }
    // A destination cannot be written out: IterIO's own error, no call made.
    let destinationMemory = Pieces(sizes: [1])
    defer { withExtendedLifetime(destinationMemory) {} }  // the cursor holds raw pointers into it
    var destination = try destinationMemory.cursor(.destination)
    #expect(throws: IterIOError.self) { try w.writev(&destination) }
    #expect(throws: IterIOError.self) { try r.preadv(&destination, at: -1) }
    #expect(source.count == 1 && destination.count == 1)
  }
}
