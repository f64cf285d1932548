//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterIO
import IterTestSupport
import IterTypes
import Testing

/// Faults injected through the system-call seam: each happens exactly where
/// the test puts it.
@Suite("Injected faults")
struct FaultTests {
  static let sizes = [5, 0, 1, 300, 0, 4096, 7, 1, 0, 2000]
  static var total: Int { sizes.reduce(0, +) }

  /// A short write at every byte: the iterator stands exactly there, and a
  /// second call finishes the job with nothing lost or repeated.
  @Test func shortWriteAtEveryBoundary() throws {
    let memory = TestMemory(size: Self.total)
    let bytes = pattern(Self.total, seed: 1)
    fill(memory, with: bytes)
    let file = temporaryFile()
    defer { close(file) }
    for cut in 1..<Self.total {
      var iter = try IovIter(sourceList(memory, sizes: Self.sizes), direction: .source)
      let faults = ScriptedFaults([.limit(cut)])
      let first = try withIOFaultInjector(faults) { try iter.pwritev(to: file, offset: 0) }
      #expect(first == IOResult(byteCount: cut, status: .transferred))
      #expect(iter.consumedCount == cut && iter.count == Self.total - cut)
      #expect(bytesLeft(iter) == Array(bytes[cut...]))
      let rest = try iter.writeAll(to: file, offset: Int64(cut))
      #expect(rest == IOResult(byteCount: Self.total - cut, status: .transferred))
    }
    var back = [UInt8](repeating: 0, count: Self.total)
    #expect(pread(file, &back, Self.total, 0) == Self.total)
    #expect(back == bytes)
  }

  /// Short reads at every byte, into a destination with discard segments in it.
  @Test func shortReadAtEveryBoundary() throws {
    let bytes = pattern(Self.total, seed: 2)
    let file = temporaryFile()
    defer { close(file) }
    #expect(pwrite(file, bytes, bytes.count, 0) == bytes.count)
    let memory = TestMemory(size: Self.total)
    // The same sizes, with the 300-byte segment a discard.
    var segments = sourceList(memory, sizes: Self.sizes).segments
    segments[3] = IterSegment(base: nil, count: 300)
    for cut in stride(from: 1, to: Self.total, by: 7) {
      memset(memory.base, 0, memory.size)
      var iter = try IovIter(UnsafeSegmentList(segments), direction: .destination)
      let faults = ScriptedFaults([.limit(cut)])
      let first = try withIOFaultInjector(faults) { try iter.preadv(from: file, offset: 0) }
      #expect(first.byteCount == cut)
      #expect(iter.consumedCount == cut)
      let rest = try iter.readAll(from: file, offset: Int64(cut))
      #expect(rest == IOResult(byteCount: Self.total - cut, status: .transferred))
      var expected = bytes
      for i in 6..<306 { expected[i] = 0 }  // the discarded bytes
      #expect(contents(memory, 0..<Self.total) == expected)
    }
  }

  /// A short transfer on every call: the loops resume each time.
  @Test func loopsResumeAfterEveryShortTransfer() throws {
    let memory = TestMemory(size: Self.total)
    let bytes = pattern(Self.total, seed: 3)
    fill(memory, with: bytes)
    let file = temporaryFile()
    defer { close(file) }
    var iter = try IovIter(sourceList(memory, sizes: Self.sizes), direction: .source)
    let faults = ScriptedFaults { _ in .limit(97) }
    let result = try withIOFaultInjector(faults) { try iter.writeAll(to: file) }
    #expect(result == IOResult(byteCount: Self.total, status: .transferred))
    #expect(faults.requests.count == (Self.total + 96) / 97)
    var back = [UInt8](repeating: 0, count: Self.total)
    #expect(pread(file, &back, Self.total, 0) == Self.total)
    #expect(back == bytes)
  }

  @Test func interruptedCallsAreRetried() throws {
    let memory = TestMemory(size: Self.total)
    fill(memory, with: pattern(Self.total, seed: 4))
    var iter = try IovIter(sourceList(memory, sizes: Self.sizes), direction: .source)
    let null = open("/dev/null", O_WRONLY)
    defer { close(null) }
    let faults = ScriptedFaults([.fail(EINTR), .fail(EINTR), .limit(10), .fail(EINTR)])
    let result = try withIOFaultInjector(faults) { try iter.writeAll(to: null) }
    #expect(result == IOResult(byteCount: Self.total, status: .transferred))
    #expect(faults.calls == [.writev, .writev, .writev, .writev, .writev])
  }

  /// EAGAIN part-way through a loop returns what was done; the next call goes on.
  @Test func wouldBlockKeepsProgress() throws {
    let memory = TestMemory(size: Self.total)
    let bytes = pattern(Self.total, seed: 5)
    fill(memory, with: bytes)
    let file = temporaryFile()
    defer { close(file) }
    var iter = try IovIter(sourceList(memory, sizes: Self.sizes), direction: .source)
    let faults = ScriptedFaults([.limit(1000), .fail(EAGAIN)])
    let first = try withIOFaultInjector(faults) { try iter.writeAll(to: file) }
    #expect(first == IOResult(byteCount: 1000, status: .wouldBlock))
    #expect(iter.consumedCount == 1000)
    let single = try withIOFaultInjector(ScriptedFaults([.fail(EWOULDBLOCK)])) {
      try iter.writev(to: file)
    }
    #expect(single == IOResult(byteCount: 0, status: .wouldBlock))
    #expect(iter.consumedCount == 1000)
    #expect(try iter.writeAll(to: file).byteCount == Self.total - 1000)
    var back = [UInt8](repeating: 0, count: Self.total)
    #expect(pread(file, &back, Self.total, 0) == Self.total)
    #expect(back == bytes)
  }

  /// An error after progress carries the progress; the iterator has advanced by it.
  @Test(arguments: [EFAULT, EBADF, EIO, ENOSPC, EPIPE, ECONNRESET, EINVAL])
  func errorsAreTypedWithProgress(code: Int32) throws {
    let memory = TestMemory(size: Self.total)
    var iter = try IovIter(sourceList(memory, sizes: Self.sizes), direction: .source)
    let null = open("/dev/null", O_WRONLY)
    defer { close(null) }
    let faults = ScriptedFaults([.limit(600), .fail(code)])
    #expect {
      try withIOFaultInjector(faults) { try iter.writeAll(to: null) }
    } throws: { error in
      let e = error as! IterIOError
      return e.reason == .systemCall(IOErrno(code)) && e.call == .writev && e.progress == 600
        && e.errno == IOErrno(code)
    }
    #expect(iter.consumedCount == 600)
  }

  @Test func errnoNames() {
    #expect(IOErrno(EAGAIN).name == "EAGAIN")
    #expect(IOErrno(EWOULDBLOCK).name == "EAGAIN")
    #expect(IOErrno(EINTR).name == "EINTR")
    #expect(IOErrno(EFAULT).description.hasPrefix("EFAULT (14): "))
    #expect(IOErrno(9999).name == "errno 9999")
    let error = IterIOError(.systemCall(.brokenPipe), call: .writev, progress: 4096)
    #expect(error.description == "writev failed: EPIPE (32): Broken pipe, after 4096 bytes")
  }

  /// A write that returns 0 with bytes left would loop for ever: typed error.
  @Test func writeOfZeroIsAnError() throws {
    let memory = TestMemory(size: 100)
    var iter = try IovIter(sourceList(memory, sizes: [50, 50]), direction: .source)
    let faults = ScriptedFaults([.limit(30), .answer(0)])
    #expect(throws: IterIOError(.writeMadeNoProgress, call: .writev, progress: 30)) {
      try withIOFaultInjector(faults) { try iter.writeAll(to: 1) }
    }
    #expect(iter.consumedCount == 30)
  }

  /// One piece of memory is a plain read/write; offsets and flags pick the call.
  @Test func callShapes() throws {
    let memory = TestMemory(size: 8192)
    let file = temporaryFile()
    defer { close(file) }
    func calls(
      _ sizes: [Int], _ body: (inout IovIter<UnsafeSegmentList>) throws -> Void
    ) throws
      -> [IOSystemCall]
    {
      var iter = try IovIter(sourceList(memory, sizes: sizes), direction: .source)
      let faults = ScriptedFaults()
      try withIOFaultInjector(faults) { try body(&iter) }
      return faults.calls
    }
    #expect(try calls([0, 100, 0]) { _ = try $0.writev(to: file) } == [.write])
    #expect(try calls([100, 1]) { _ = try $0.writev(to: file) } == [.writev])
    #expect(try calls([100]) { _ = try $0.pwritev(to: file, offset: 9) } == [.pwrite])
    #expect(try calls([1, 100]) { _ = try $0.pwritev(to: file, offset: 9) } == [.pwritev])
    #expect(
      try calls([100]) { _ = try $0.pwritev2(to: file, offset: nil, flags: .dataSync) }
        == [.pwritev2])
    #expect(try calls([]) { _ = try $0.writeAll(to: file) } == [])
    var read = try IovIter(sourceList(memory, sizes: [10, 20]), direction: .destination)
    let faults = ScriptedFaults()
    _ = try withIOFaultInjector(faults) { try read.preadv2(from: file, offset: 0, flags: []) }
    #expect(faults.requests.map(\.call) == [.preadv2])
    #expect(faults.requests.first?.flags == 0 && faults.requests.first?.offset == 0)
  }

  @Test func wrongDirectionIsTyped() throws {
    let memory = TestMemory(size: 100)
    var destination = try IovIter(sourceList(memory, sizes: [50, 50]), direction: .destination)
    var source = try IovIter(sourceList(memory, sizes: [50, 50]), direction: .source)
    let faults = ScriptedFaults()
    withIOFaultInjector(faults) {
      #expect(
        throws: IterIOError(.wrongDirection(required: .source, actual: .destination), call: .writev)
      ) { try destination.writev(to: 1) }
      #expect(throws: IterIOError.self) { try destination.writeAll(to: 1, offset: 0) }
      #expect(throws: IterIOError.self) { try destination.sendmsg(to: 1) }
      #expect(
        throws: IterIOError(.wrongDirection(required: .destination, actual: .source), call: .readv)
      ) { try source.readv(from: 0) }
      #expect(throws: IterIOError.self) { try source.readAll(from: 0) }
      #expect(throws: IterIOError.self) { try source.recvmsg(from: 0) }
    }
    #expect(faults.requests.isEmpty)
    #expect(destination.consumedCount == 0 && source.consumedCount == 0)
  }

  @Test func badOffsetsAreTyped() throws {
    let memory = TestMemory(size: 100)
    var source = try IovIter(sourceList(memory, sizes: [50, 50]), direction: .source)
    #expect(throws: IterIOError(.invalidOffset(-1), call: .pwritev)) {
      try source.pwritev(to: 1, offset: -1)
    }
    #expect(throws: IterIOError(.invalidOffset(.max - 10), call: .pwritev)) {
      try source.writeAll(to: 1, offset: .max - 10)
    }
    #expect(throws: IterIOError(.invalidOffset(-5), call: .pwritev2)) {
      try source.pwritev2(to: 1, offset: -5, flags: .sync)
    }
  }

  /// More than IOV_MAX segments: each call passes at most 1,024 entries.
  @Test func callsPassAtMostIOVMaxEntries() throws {
    let memory = TestMemory(size: 3000 * 3)
    fill(memory, with: pattern(9000, seed: 6))
    var iter = try IovIter(
      sourceList(memory, sizes: [Int](repeating: 3, count: 3000)), direction: .source)
    let null = open("/dev/null", O_WRONLY)
    defer { close(null) }
    let faults = ScriptedFaults()
    let result = try withIOFaultInjector(faults) { try iter.writeAll(to: null) }
    #expect(result.byteCount == 9000)
    #expect(faults.requests.map(\.vectorCount) == [1024, 1024, 952])
  }

  /// Real kernel errors arrive typed, with their names.
  @Test func realErrors() throws {
    let memory = TestMemory(size: 100)
    var source = try IovIter(sourceList(memory, sizes: [50, 50]), direction: .source)
    #expect(throws: IterIOError(.systemCall(.badFileDescriptor), call: .writev)) {
      try source.writev(to: -1)
    }
    // Memory the process does not have: EFAULT.
    let pipe = Pipe()
    defer { pipe.close() }
    var wild = try IovIter(
      UnsafeSegmentList([
        IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x1000), count: 64),
        IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x2000), count: 64),
      ]), direction: .source)
    #expect(throws: IterIOError(.systemCall(.badAddress), call: .writev)) {
      try wild.writev(to: pipe.write)
    }
    #expect(wild.consumedCount == 0)
    // Reading from a write-only descriptor: EBADF.
    var destination = try IovIter(sourceList(memory, sizes: [50, 50]), direction: .destination)
    #expect(throws: IterIOError(.systemCall(.badFileDescriptor), call: .readv)) {
      try destination.readv(from: pipe.write)
    }
    // A flag a pipe does not take.
    var one = try IovIter(sourceList(memory, sizes: [50]), direction: .source)
    #expect {
      try one.pwritev2(to: pipe.write, offset: nil, flags: IORWFlags(rawValue: 0x4000_0000))
    } throws: { ($0 as? IterIOError)?.call == .pwritev2 }
  }
}
