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

private let signalsDelivered = Atomic<Int>(0)

/// Installs a no-op SIGUSR1 handler *without* SA_RESTART, so a blocked call
/// fails with EINTR instead of being restarted by the kernel.
private func installInterruptingHandler() {
  var action = sigaction()
  action.__sigaction_handler.sa_handler = { _ in signalsDelivered.add(1, ordering: .relaxed) }
  sigemptyset(&action.sa_mask)
  action.sa_flags = 0
  precondition(sigaction(SIGUSR1, &action, nil) == 0)
}

/// Test threads start from workers that block signals; let SIGUSR1 in.
private func acceptInterruptingSignal() {
  var set = sigset_t()
  sigemptyset(&set)
  sigaddset(&set, SIGUSR1)
  pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

/// Signals, sizes past 2 GiB and a gigabyte through a pipe.
@Suite("Real I/O at scale")
struct HeavyIOTests {
  init() { signal(SIGPIPE, SIG_IGN) }

  /// A reader blocked in readv and a writer blocked in writev, each sent
  /// signals: EINTR is retried and not a byte is lost or repeated.
  @Test func signalsDuringBlockingCalls() throws {
    installInterruptingHandler()
    let total = 3 << 20
    let bytes = pattern(total, seed: 11)
    let memory = TestMemory(size: total)
    fill(memory, with: bytes)
    let into = TestMemory(size: total)
    let pipe = Pipe()
    defer { pipe.close() }
    let before = signalsDelivered.load(ordering: .relaxed)

    // The reader blocks first: the pipe is empty.
    let readResult = Box<Result<IOResult, IterIOError>?>(nil)
    nonisolated(unsafe) var destination = try IovIter(
      sourceList(into, sizes: [Int](repeating: 3 << 10, count: 1 << 10)), direction: .destination)
    let reader = TestThread {
      acceptInterruptingSignal()
      readResult.value = Result { () throws(IterIOError) in try destination.readAll(from: pipe.read) }
    }
    for _ in 0..<5 {
      usleep(5_000)
      pthread_kill(reader.handle, SIGUSR1)
    }
    // Then the writer fills the pipe and blocks while the reader is slowed
    // down by signals of its own.
    let writeResult = Box<Result<IOResult, IterIOError>?>(nil)
    nonisolated(unsafe) var source = try IovIter(
      sourceList(memory, sizes: [Int](repeating: 1 << 10, count: 3 << 10)), direction: .source)
    let writer = TestThread {
      acceptInterruptingSignal()
      writeResult.value = Result { () throws(IterIOError) in try source.writeAll(to: pipe.write) }
    }
    for _ in 0..<40 {
      usleep(500)
      pthread_kill(writer.handle, SIGUSR1)
      pthread_kill(reader.handle, SIGUSR1)
    }
    writer.join()
    reader.join()
    // Signals of one kind coalesce while pending, so fewer than 45 may arrive.
    #expect(signalsDelivered.load(ordering: .relaxed) - before > 0)
    #expect(try writeResult.value?.get() == IOResult(byteCount: total, status: .transferred))
    #expect(try readResult.value?.get() == IOResult(byteCount: total, status: .transferred))
    #expect(contents(into, 0..<total) == bytes)
  }

  /// One iterator of more than 2 GiB: pwritev past 2 and 4 GiB into a sparse
  /// file, then one preadv loop over 4.5 GiB whose layout is mostly a discard
  /// and one reused zero buffer. Each call moves at most MAX_RW_COUNT bytes.
  @Test func beyondTwoGigabytes() throws {
    let file = temporaryFile()
    defer { close(file) }
    let gib = Int64(1) << 30
    let offsets: [Int64] = [2 * gib + 12_345, 3 * gib - 7, 4 * gib + 1]
    let piece = 10_000
    let data = TestMemory(size: piece * offsets.count)
    let bytes = pattern(piece * offsets.count, seed: 12)
    fill(data, with: bytes)
    for (i, offset) in offsets.enumerated() {
      var source = try IovIter(
        UnsafeSegmentList([
          IterSegment(base: data.base + i * piece, count: 4000),
          IterSegment(base: data.base + i * piece + 4000, count: piece - 4000),
        ]), direction: .source)
      #expect(try source.writeAll(to: file, offset: offset).byteCount == piece)
    }
    let end = 4 * gib + gib / 2
    #expect(ftruncate(file, off_t(end)) == 0)

    // 0 ..< 2 GiB: one 64 MiB zero buffer repeated; then a discard up to the
    // first piece; then each piece into its own memory, discards between,
    // the last stretch a discard too.
    let zeros = TestMemory(size: 64 << 20)
    let into = TestMemory(size: piece * offsets.count)
    var segments: [IterSegment] = []
    for _ in 0..<32 { segments.append(IterSegment(base: zeros.base, count: 64 << 20)) }
    var at = 2 * gib
    for (i, offset) in offsets.enumerated() {
      segments.append(IterSegment(base: nil, count: Int(offset - at)))
      segments.append(IterSegment(base: into.base + i * piece, count: piece))
      at = offset + Int64(piece)
    }
    segments.append(IterSegment(base: nil, count: Int(end - at)))
    var destination = try IovIter(UnsafeSegmentList(segments), direction: .destination)
    #expect(destination.count == Int(end))
    let faults = ScriptedFaults()
    let result = try withIOFaultInjector(faults) { try destination.readAll(from: file, offset: 0) }
    #expect(result == IOResult(byteCount: Int(end), status: .transferred))
    #expect(faults.requests.allSatisfy { $0.byteCount <= IterLimits.maxReadWriteCount && $0.vectorCount <= 1024 })
    #expect(faults.requests.first?.byteCount == IterLimits.maxReadWriteCount)
    #expect(contents(into, 0..<bytes.count) == bytes)
    #expect(contents(zeros, 0..<(64 << 20)).allSatisfy { $0 == 0 })

    // And writing more than 2 GiB from one iterator: /dev/null takes it all.
    let null = open("/dev/null", O_WRONLY)
    defer { close(null) }
    var big = try IovIter(
      UnsafeSegmentList([IterSegment](repeating: IterSegment(base: zeros.base, count: 64 << 20), count: 40)),
      direction: .source)
    let out = ScriptedFaults()
    #expect(try withIOFaultInjector(out) { try big.writeAll(to: null) }.byteCount == 40 << 26)
    #expect(out.requests.map(\.byteCount) == [IterLimits.maxReadWriteCount, (40 << 26) - IterLimits.maxReadWriteCount])
  }

  /// A gigabyte through a pipe, checksummed with CRC32C at both ends: the
  /// writer gathers from a non-periodic layout over one 2 MiB buffer, the
  /// reader scatters into 4 MiB of other segment sizes, reused.
  @Test func oneGigabyteThroughAPipe() throws {
    let total = 1 << 30
    let pool = TestMemory(size: 2 << 20)
    fill(pool, with: pattern(2 << 20, seed: 13))
    var rng = SeededGenerator(seed: TestSeed.base &+ 13)
    var segments: [IterSegment] = []
    var sum = 0
    while sum < total {
      let size = min(total - sum, Int.random(in: 1...(256 << 10), using: &rng))
      let start = Int.random(in: 0...((2 << 20) - size), using: &rng)
      segments.append(IterSegment(base: pool.base + start, count: size))
      sum += size
    }
    let pipe = Pipe(size: 1 << 20)
    defer { pipe.close() }
    // The writer checksums each 8 MiB batch (truncate, walk, write, reexpand)
    // on its own thread while the reader checksums what arrives on this one.
    nonisolated(unsafe) var source = try IovIter(UnsafeSegmentList(segments), direction: .source)
    let written = Box<(IOResult?, UInt32)>((nil, 0))
    let clock = ContinuousClock.now
    let writer = TestThread {
      var crc = CRC32C()
      var moved = 0
      while !source.isEmpty {
        let left = source.count
        try? source.truncate(to: min(left, 8 << 20))
        source.forEachChunk { span in
          crc.update(span)
          return true
        }
        guard let r = try? source.writeAll(to: pipe.write), r.status == .transferred else { break }
        moved += r.byteCount
        try? source.reexpand(to: left - r.byteCount)
      }
      written.value = (IOResult(byteCount: moved, status: .transferred), crc.value)
    }

    let into = TestMemory(size: 4 << 20)
    var sizes: [Int] = []
    var left = 4 << 20
    while left > 0 {
      let s = min(left, Int.random(in: 1...(64 << 10), using: &rng))
      sizes.append(s)
      left -= s
    }
    let list = sourceList(into, sizes: sizes)
    var destination = try IovIter(list, direction: .destination)
    var received = CRC32C()
    var got = 0
    while got < total {
      if destination.isEmpty { destination = try IovIter(list, direction: .destination) }
      let before = destination
      let r = try destination.readv(from: pipe.read)
      guard r.status == .transferred else { break }
      before.forEachChunk(maxCount: r.byteCount) { span in
        received.update(span)
        return true
      }
      got += r.byteCount
    }
    writer.join()
    let elapsed = ContinuousClock.now - clock
    print("1 GiB through a pipe with CRC32C at both ends: \(elapsed)")
    #expect(written.value.0 == IOResult(byteCount: total, status: .transferred))
    #expect(got == total)
    #expect(received.value == written.value.1)
  }
}
