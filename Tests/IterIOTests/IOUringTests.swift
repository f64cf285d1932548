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

@Suite("io_uring")
struct IOUringTests {
  init() { signal(SIGPIPE, SIG_IGN) }

  /// Where the kernel refuses io_uring, a typed error says so and the
  /// system-call path still works.
  @Test(arguments: [ENOSYS, EPERM])
  func unavailableIsTyped(code: Int32) throws {
    let faults = ScriptedFaults { $0.call == .ioUringSetup ? .fail(code) : .proceed }
    let memory = TestMemory(size: 100)
    var iter = try IovIter(sourceList(memory, sizes: [60, 40]), direction: .source)
    let null = open("/dev/null", O_WRONLY)
    defer { close(null) }
    let written = try withIOFaultInjector(faults) { () throws -> Int in
      #expect(throws: IterIOError(.ioUringUnavailable(IOErrno(code)), call: .ioUringSetup)) {
        _ = try IOUring(queueDepth: 8)
      }
      return try iter.writeAll(to: null).byteCount
    }
    #expect(written == 100)
    #expect(faults.calls == [.ioUringSetup, .writev])
    #expect(throws: IterIOError.self) { _ = try IOUring(queueDepth: 0) }
  }

  /// Many mixed chains written with WRITEV at file offsets in batches (some
  /// linked), then read back with READV into other layouts.
  @Test(arguments: [1, 32, 256])
  func roundTrip(queueDepth: Int) throws {
    var rng = SeededGenerator(seed: TestSeed.base &+ UInt64(queueDepth))
    let mixed = try Mixed(pages: 32768)
    var ring = try IOUring(queueDepth: queueDepth)
    #expect(ring.queueDepth == queueDepth)
    let file = temporaryFile()
    defer { close(file) }
    let count = 300
    var blobs: [[UInt8]] = []
    var writes: [IOUringTransfer<IterChain>] = []
    var offset: Int64 = 0
    var offsets: [Int64] = []
    for i in 0..<count {
      let bytes = pattern(Int.random(in: 1...20_000, using: &rng), seed: UInt64(i))
      blobs.append(bytes)
      offsets.append(offset)
      let transfer = IOUringTransfer(try IovIter(mixed.source(bytes, &rng)), descriptor: file, offset: offset)
      writes.append(transfer)
      try ring.submit(transfer, linkedToNext: i % 5 != 4 && i != count - 1)
      offset += Int64(bytes.count)
    }
    try ring.drain()
    #expect(ring.inFlightCount == 0)
    for (w, bytes) in zip(writes, blobs) {
      #expect(w.isFinished && w.error == nil && w.byteCount == bytes.count && w.iterator.isEmpty)
    }
    var reads: [(IOUringTransfer<IterChain>, () throws -> [UInt8])] = []
    for (i, bytes) in blobs.enumerated() {
      let (chain, _, readBack) = try mixed.destination(total: bytes.count, discard: 0, &rng)
      let transfer = IOUringTransfer(try IovIter(chain), descriptor: file, offset: offsets[i])
      reads.append((transfer, readBack))
      try ring.submit(transfer)
    }
    try ring.drain()
    for ((transfer, readBack), bytes) in zip(reads, blobs) {
      #expect(transfer.isFinished && transfer.error == nil && transfer.byteCount == bytes.count)
      #expect(try readBack() == bytes)
    }
  }

  /// A pipe fed in short pieces: READV completes short many times, and the
  /// rest is resubmitted until every byte has arrived.
  @Test(arguments: [1, 32])
  func shortCompletionsAreResubmitted(queueDepth: Int) throws {
    var ring = try IOUring(queueDepth: queueDepth)
    let total = 200_000
    let bytes = pattern(total, seed: 21)
    let pipe = Pipe()
    defer { pipe.close() }
    let writer = TestThread {
      var at = 0
      while at < total {
        let n = min(total - at, 5000)
        at += bytes[at..<(at + n)].withUnsafeBytes { write(pipe.write, $0.baseAddress, n) }
        usleep(100)
      }
    }
    let into = TestMemory(size: total)
    let transfer = IOUringTransfer(
      try IovIter(sourceList(into, sizes: [Int](repeating: 1000, count: 200)), direction: .destination),
      descriptor: pipe.read)
    try ring.submit(transfer)
    try ring.drain()
    writer.join()
    #expect(transfer.error == nil && transfer.byteCount == total)
    #expect(transfer.completionCount > 1)
    #expect(contents(into, 0..<total) == bytes)
    // The end of the stream is reported as such.
    close(pipe.write)
    let tail = IOUringTransfer(
      try IovIter(sourceList(into, sizes: [10]), direction: .destination), descriptor: pipe.read)
    try ring.submit(tail)
    try ring.drain()
    #expect(tail.isFinished && tail.status == .endOfFile && tail.byteCount == 0)
  }

  /// The page pool's arena registered once; page fragments written with
  /// WRITE_FIXED and read back with READ_FIXED. The page references taken by
  /// an extraction are held by the transfer and released when it completes.
  @Test(arguments: [1, 32, 256])
  func registeredPagePool(queueDepth: Int) throws {
    var rng = SeededGenerator(seed: TestSeed.base &+ 31)
    let pool = try PagePool(pageCount: 512, maxOrder: 2)
    var ring = try IOUring(queueDepth: queueDepth)
    try ring.registerBuffers([
      UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: pool.address), count: pool.byteCount)
    ])
    let file = temporaryFile()
    defer { close(file) }
    var fragments: [PageFragment] = []
    var expected: [UInt8] = []
    for i in 0..<40 {
      let folio = try pool.allocateFolio(order: 1)
      let length = Int.random(in: 1...folio.byteCount, using: &rng)
      let offset = Int.random(in: 0...(folio.byteCount - length), using: &rng)
      let bytes = pattern(length, seed: UInt64(100 + i))
      folio.withUnsafeMutableBytes { raw in for k in 0..<length { raw[offset + k] = bytes[k] } }
      fragments.append(PageFragment(folio: folio, offset: offset, length: length))
      expected += bytes
    }
    let baseline = pool.outstandingReferences
    let source = try IovIter(BioVecArray(fragments), direction: .source)
    let write = IOUringTransfer(source, descriptor: file, offset: 4096, fixed: true)
    // Take page references on the first fragment's pages for the transfer's life.
    var probe = source
    let extraction = try probe.extractPages(maxBytes: fragments[0].length, maxPages: 8, options: .retain)
    #expect(pool.outstandingReferences > baseline)
    write.hold(extraction.takeRetention())
    try ring.submit(write)
    try ring.drain()
    #expect(write.error == nil && write.byteCount == expected.count)
    #expect(write.completionCount >= fragments.count)
    #expect(pool.outstandingReferences == baseline)

    // Back into other folios, cut differently.
    var into: [PageFragment] = []
    var left = expected.count
    while left > 0 {
      let folio = try pool.allocateFolio(order: 2)
      let n = min(left, Int.random(in: 1...folio.byteCount, using: &rng))
      into.append(PageFragment(folio: folio, offset: 0, length: n))
      left -= n
    }
    let read = IOUringTransfer(
      try IovIter(BioVecArray(into), direction: .destination), descriptor: file, offset: 4096, fixed: true)
    try ring.submit(read)
    try ring.drain()
    #expect(read.error == nil && read.byteCount == expected.count)
    var back = try IovIter(BioVecArray(into), direction: .source)
    #expect(try back.read(upTo: expected.count) == expected)

    // Memory outside every registered buffer: a typed error at submission.
    let outside = TestMemory(size: 4096)
    let stray = IOUringTransfer(
      try IovIter(sourceList(outside, sizes: [100]), direction: .source), descriptor: file,
      offset: 0, fixed: true)
    #expect(throws: IterIOError.self) { try ring.submit(stray) }
    #expect(ring.inFlightCount == 0)
    try ring.unregisterBuffers()
  }

  /// Released from the thread that reaps: `@Sendable` release closures.
  @Test func releaseClosuresRunOnCompletion() throws {
    var ring = try IOUring(queueDepth: 4)
    let memory = TestMemory(size: 1000)
    let released = Box(0)
    let null = open("/dev/null", O_WRONLY)
    defer { close(null) }
    let transfer = IOUringTransfer(
      try IovIter(sourceList(memory, sizes: [500, 0, 500]), direction: .source), descriptor: null)
    transfer.hold(release: { released.value += 1 })
    transfer.hold(release: { released.value += 10 })
    try ring.submit(transfer)
    #expect(released.value == 0)
    try ring.drain()
    #expect(released.value == 11 && transfer.byteCount == 1000)
    // Reused for another round without a new iovec array.
    transfer.reset(try IovIter(sourceList(memory, sizes: [1000]), direction: .source))
    try ring.submit(transfer)
    try ring.drain()
    #expect(transfer.byteCount == 1000 && released.value == 11)
  }

  /// A failing request finishes with a typed error and its progress.
  @Test func failedRequestsAreTyped() throws {
    var ring = try IOUring(queueDepth: 4)
    let memory = TestMemory(size: 100)
    let transfer = IOUringTransfer(
      try IovIter(sourceList(memory, sizes: [50, 50]), direction: .source), descriptor: -1)
    try ring.submit(transfer)
    try ring.drain()
    #expect(transfer.error == IterIOError(.systemCall(.badFileDescriptor), call: .writev))
    let discard = IOUringTransfer(
      try IovIter(UnsafeSegmentList([IterSegment(base: nil, count: 10)]), direction: .destination),
      descriptor: 0)
    #expect(throws: IterIOError.self) { try ring.submit(discard) }
  }
}
