//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterIO
import IterTestSupport
import IterTypes
import Synchronization
import Testing

/// Vectored I/O against real files, pipes and sockets.
@Suite("Real I/O")
struct RealIOTests {
  init() { signal(SIGPIPE, SIG_IGN) }

  /// A mixed chain written to a file and read back into a different layout.
  @Test(arguments: 0..<8)
  func fileRoundTrip(round: Int) throws {
    var rng = SeededGenerator(seed: TestSeed.base &+ UInt64(round))
    let mixed = try Mixed()
    let bytes = pattern(Int.random(in: 1...60_000, using: &rng), seed: UInt64(round))
    let file = temporaryFile()
    defer { close(file) }
    var source = try IovIter(mixed.source(bytes, &rng))
    let offset = Int64.random(in: 0...5000, using: &rng)
    let written = try source.writeAll(to: file, offset: offset)
    #expect(written == IOResult(byteCount: bytes.count, status: .transferred))
    #expect(source.isEmpty)
    let discard = Int.random(in: 0...min(500, bytes.count), using: &rng)
    let (chain, discarded, readBack) = try mixed.destination(
      total: bytes.count, discard: discard, &rng)
    var destination = try IovIter(chain)
    let read = try destination.readAll(from: file, offset: offset)
    #expect(read == IOResult(byteCount: bytes.count, status: .transferred), "seed \(round)")
    var expected = bytes
    expected.removeSubrange(discarded)
    #expect(try readBack() == expected, "seed \(round)")
    // Past the end of the file: the end-of-file status, nothing moved.
    var more = try IovIter(mixed.destination(total: 10, discard: 0, &rng).chain)
    #expect(
      try more.readAll(from: file, offset: offset + Int64(bytes.count))
        == IOResult(byteCount: 0, status: .endOfFile))
    // The file position moves with readv/writev.
    var again = try IovIter(mixed.source(bytes, &rng))
    #expect(lseek(file, 0, SEEK_SET) == 0)
    #expect(try again.writeAll(to: file).byteCount == bytes.count)
    #expect(lseek(file, 0, SEEK_CUR) == off_t(bytes.count))
  }

  /// A pipe whose other end reads and writes random short amounts on a peer thread.
  @Test(arguments: 0..<4)
  func pipeWithShortPeer(round: Int) throws {
    var rng = SeededGenerator(seed: TestSeed.base &+ 100 &+ UInt64(round))
    let mixed = try Mixed()
    let bytes = pattern(Int.random(in: 100_000...400_000, using: &rng), seed: UInt64(round))
    // Out: the peer reads in random short pieces.
    let pipe = Pipe()
    let received = Box<[UInt8]>([])
    let total = bytes.count
    let seed = rng.next()
    let reader = TestThread {
      var rng = SeededGenerator(seed: seed)
      var got: [UInt8] = []
      var buffer = [UInt8](repeating: 0, count: 70_000)
      while got.count < total {
        let want = Int.random(in: 1...buffer.count, using: &rng)
        let n = read(pipe.read, &buffer, want)
        if n <= 0 { break }
        got += buffer[0..<n]
        if Int.random(in: 0..<20, using: &rng) == 0 { usleep(200) }
      }
      received.value = got
    }
    var source = try IovIter(mixed.source(bytes, &rng))
    #expect(try source.writeAll(to: pipe.write) == IOResult(byteCount: total, status: .transferred))
    reader.join()
    #expect(received.value == bytes)

    // In: the peer writes random short pieces, then closes.
    let writer = TestThread {
      var rng = SeededGenerator(seed: seed)
      var at = 0
      while at < total {
        let n = min(total - at, Int.random(in: 1...9000, using: &rng))
        let done = bytes[at..<(at + n)].withUnsafeBytes { write(pipe.write, $0.baseAddress, n) }
        at += done
        if Int.random(in: 0..<20, using: &rng) == 0 { usleep(200) }
      }
      close(pipe.write)
    }
    let (chain, discarded, readBack) = try mixed.destination(total: total + 10, discard: 333, &rng)
    var destination = try IovIter(chain)
    let result = try destination.readAll(from: pipe.read)
    writer.join()
    close(pipe.read)
    #expect(result == IOResult(byteCount: total, status: .endOfFile))
    #expect(destination.count == 10)
    var expected = bytes + [UInt8](repeating: 0, count: 10)
    expected.removeSubrange(discarded)
    #expect(try readBack() == expected)
  }

  /// TCP on 127.0.0.1 both ways, with sendmsg/recvmsg and writev/readv.
  @Test func tcpRoundTrip() throws {
    var rng = SeededGenerator(seed: TestSeed.base &+ 200)
    let mixed = try Mixed()
    let bytes = pattern(1 << 20, seed: 200)
    let (client, server) = tcpPair()
    defer {
      close(client)
      close(server)
    }
    let (chain, discarded, readBack) = try mixed.destination(total: bytes.count, discard: 4097, &rng)
    let outcome = Box<IOResult?>(nil)
    nonisolated(unsafe) var destination = try IovIter(chain)
    let reader = TestThread {
      var got = 0
      while !destination.isEmpty {
        guard let r = try? destination.recvmsg(from: server).result, r.status == .transferred
        else { break }
        got += r.byteCount
      }
      outcome.value = IOResult(byteCount: got, status: .transferred)
    }
    var source = try IovIter(mixed.source(bytes, &rng))
    while !source.isEmpty {
      let r = try source.sendmsg(to: client, flags: .noSignal)
      #expect(r.status == .transferred)
    }
    reader.join()
    #expect(outcome.value?.byteCount == bytes.count)
    var expected = bytes
    expected.removeSubrange(discarded)
    #expect(try readBack() == expected)
    // Shut down: the reader sees the end of the stream.
    shutdown(client, Int32(SHUT_WR))
    var tail = try IovIter(mixed.destination(total: 10, discard: 0, &rng).chain)
    #expect(try tail.readv(from: server) == IOResult(byteCount: 0, status: .endOfFile))
    #expect(try tail.recvmsg(from: server).result.status == .endOfFile)
  }

  /// Control data passes through: a descriptor sent with SCM_RIGHTS.
  @Test func controlDataPassesThrough() throws {
    let (a, b) = socketPair()
    defer {
      close(a)
      close(b)
    }
    let memory = TestMemory(size: 4096)
    fill(memory, with: pattern(300, seed: 7))
    var source = try IovIter(sourceList(memory, sizes: [100, 0, 200]), direction: .source)
    let space = 64
    let control = UnsafeMutableRawBufferPointer.allocate(byteCount: space, alignment: 8)
    defer { control.deallocate() }
    control.initializeMemory(as: UInt8.self, repeating: 0)
    let header = control.baseAddress!.assumingMemoryBound(to: cmsghdr.self)
    header.pointee.cmsg_level = SOL_SOCKET
    header.pointee.cmsg_type = Int32(SCM_RIGHTS)
    header.pointee.cmsg_len = MemoryLayout<cmsghdr>.size + 4
    let passed = open("/dev/null", O_WRONLY)
    (control.baseAddress! + MemoryLayout<cmsghdr>.size).storeBytes(of: passed, as: CInt.self)
    let sent = try source.sendmsg(
      to: a, control: UnsafeRawBufferPointer(rebasing: control[0..<(MemoryLayout<cmsghdr>.size + 8)]))
    #expect(sent == IOResult(byteCount: 300, status: .transferred))
    close(passed)

    let into = TestMemory(size: 4096)
    var destination = try IovIter(sourceList(into, sizes: [150, 150]), direction: .destination)
    control.initializeMemory(as: UInt8.self, repeating: 0)
    let got = try destination.recvmsg(from: b, control: control)
    #expect(got.result == IOResult(byteCount: 300, status: .transferred))
    #expect(got.controlCount >= MemoryLayout<cmsghdr>.size + 4)
    #expect(header.pointee.cmsg_type == Int32(SCM_RIGHTS))
    let fd = (control.baseAddress! + MemoryLayout<cmsghdr>.size).load(as: CInt.self)
    #expect(fcntl(fd, F_GETFD) >= 0)
    close(fd)
    #expect(contents(into, 0..<300) == contents(memory, 0..<300))
  }

  /// A datagram longer than the iterator: MSG_TRUNC comes back in the flags.
  @Test func datagramTruncationFlag() throws {
    let (a, b) = socketPair(Int32(SOCK_DGRAM.rawValue))
    defer {
      close(a)
      close(b)
    }
    let memory = TestMemory(size: 4096)
    fill(memory, with: pattern(100, seed: 8))
    var source = try IovIter(sourceList(memory, sizes: [60, 40]), direction: .source)
    #expect(try source.sendmsg(to: a).byteCount == 100)
    let into = TestMemory(size: 4096)
    var destination = try IovIter(sourceList(into, sizes: [10, 30]), direction: .destination)
    let got = try destination.recvmsg(from: b, flags: .dontWait)
    #expect(got.result.byteCount == 40)
    #expect(got.messageFlags.contains(.truncated))
    #expect(contents(into, 0..<40) == contents(memory, 0..<40))
    var empty = try IovIter(sourceList(into, sizes: [10]), direction: .destination)
    #expect(
      try empty.recvmsg(from: b, flags: .dontWait).result
        == IOResult(byteCount: 0, status: .wouldBlock))
  }

  /// Non-blocking sockets: EAGAIN ends a loop with its progress, and the
  /// iterator resumes from exactly there.
  @Test func nonBlockingKeepsProgress() throws {
    let (a, b) = socketPair()
    defer {
      close(a)
      close(b)
    }
    setNonBlocking(a)
    let total = 8 << 20
    let memory = TestMemory(size: total)
    let bytes = pattern(total, seed: 9)
    fill(memory, with: bytes)
    var source = try IovIter(
      sourceList(memory, sizes: [Int](repeating: 4096, count: total / 4096)), direction: .source)
    let first = try source.writeAll(to: a)
    #expect(first.status == .wouldBlock)
    #expect(first.byteCount > 0 && first.byteCount < total)
    #expect(source.consumedCount == first.byteCount)
    // Drain on a peer thread while the writer polls and resumes.
    let received = Box<[UInt8]>([])
    let reader = TestThread {
      var got: [UInt8] = []
      var buffer = [UInt8](repeating: 0, count: 100_000)
      while got.count < total {
        let n = read(b, &buffer, buffer.count)
        if n <= 0 { break }
        got += buffer[0..<n]
      }
      received.value = got
    }
    var sent = first.byteCount
    var stalls = 1
    while !source.isEmpty {
      var p = pollfd(fd: a, events: Int16(POLLOUT), revents: 0)
      _ = poll(&p, 1, 1000)
      let r = try source.writev(to: a)
      if r.status == .wouldBlock { stalls += 1 }
      sent += r.byteCount
      #expect(source.consumedCount == sent)
    }
    reader.join()
    #expect(sent == total)
    #expect(received.value == bytes)
    // A non-blocking read with nothing to read.
    setNonBlocking(b)
    var destination = try IovIter(sourceList(memory, sizes: [10, 10]), direction: .destination)
    #expect(try destination.readAll(from: b) == IOResult(byteCount: 0, status: .wouldBlock))
    #expect(
      try destination.preadv2(from: b, offset: nil, flags: .noWait)
        == IOResult(byteCount: 0, status: .wouldBlock))
  }

  /// More than 1,024 segments through a pipe, read back into 1,500 others.
  @Test func moreSegmentsThanIOVMax() throws {
    let count = 5000
    let total = count * 13
    let memory = TestMemory(size: total)
    let bytes = pattern(total, seed: 10)
    fill(memory, with: bytes)
    let pipe = Pipe(size: 1 << 20)
    defer { pipe.close() }
    var sizes = [Int](repeating: 13, count: count)
    sizes.insert(0, at: 777)
    nonisolated(unsafe) var source = try IovIter(sourceList(memory, sizes: sizes), direction: .source)
    let into = TestMemory(size: total)
    var destination = try IovIter(
      sourceList(into, sizes: [Int](repeating: total / 1500, count: 1500) + [total % 1500]),
      direction: .destination)
    let writer = TestThread { _ = try? source.writeAll(to: pipe.write) }
    #expect(try destination.readAll(from: pipe.read).byteCount == total)
    writer.join()
    #expect(contents(into, 0..<total) == bytes)
  }
}
