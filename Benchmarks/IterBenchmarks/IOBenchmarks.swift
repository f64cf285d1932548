//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: real I/O (IterIO) in the package-benchmark suite.
// Malloc thresholds: Thresholds/<swift-version>/IterBenchmarks.IO-*.p90.json.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Benchmark
import Glibc
import IterCore
import IterIO

/// 1024 segments of 4 KiB (IOV_MAX entries, 4 MiB), and a descriptor.
final class IOFixture: @unchecked Sendable {  // Safe because: benchmarks run one at a time.
  let pool: Region
  var iter: IovIter<UnsafeSegmentList>
  let start: IterState
  let fd: CInt
  /// For io_uring: 32 iterators of 64 KiB over the same bytes, their transfers and the ring.
  var iters: [IovIter<UnsafeSegmentList>] = []
  var transfers: [IOUringTransfer<UnsafeSegmentList>] = []
  var ring: IORingBox? = nil

  init(path: String, flags: CInt) {
    pool = Region(count: 1024 * 4096, seed: 5)
    iter = try! IovIter(pool.segments(size: 4096), direction: .source)
    start = iter.saveState()
    fd = open(path, flags | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "cannot open \(path)")
  }

  /// A regular file, unlinked, and the io_uring pieces (nil ring where refused).
  convenience init(ringDepth: Int) {
    var template = Array("/tmp/iter-benchmarks-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    precondition(made >= 0, "mkstemp failed")
    let path = String(cString: template)
    close(made)
    self.init(path: path, flags: O_RDWR)
    _ = unlink(path)
    let per = 16 * 4096
    let base = pool.base
    iters = (0..<ringDepth).map { i in
      try! IovIter(
        UnsafeSegmentList(
          ContiguousArray(
            (0..<16).map {
              IterSegment(base: base + i * per + $0 * 4096, count: 4096)
            })),
        direction: .source)
    }
    transfers = iters.map { IOUringTransfer($0, descriptor: fd, offset: 0) }
    if let ring = try? IOUring(queueDepth: ringDepth) { self.ring = IORingBox(ring) }
  }

  deinit { close(fd) }
}

/// An `IOUring` (`~Copyable`) held by reference.
final class IORingBox {
  var ring: IOUring
  init(_ ring: consuming IOUring) { self.ring = ring }
}

nonisolated(unsafe) var ioFixture: IOFixture? = nil

var ioConfiguration: Benchmark.Configuration {
  Benchmark.Configuration(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    warmupIterations: 2, scalingFactor: .one, maxDuration: .seconds(1), maxIterations: 500)
}

/// Registers the I/O benchmarks (called from `benchmarks`).
func ioBenchmarks() {
  // One writeAll of 1024 × 4 KiB to /dev/null: one writev of IOV_MAX entries,
  // the iovec array built on the stack.
  Benchmark(
    "IO-Writev-1024x4KiB-devnull", configuration: ioConfiguration,
    closure: { benchmark in
      let f = ioFixture!
      let start = f.start
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        try! f.iter.restore(start)
        blackHole(try! f.iter.writeAll(to: f.fd).byteCount)
      }
      benchmark.stopMeasurement()
    }, setup: { ioFixture = IOFixture(path: "/dev/null", flags: O_WRONLY) },
    teardown: { ioFixture = nil })

  // 32 pwritev calls of 16 × 4 KiB to a regular file.
  Benchmark(
    "IO-PwritevLoop-32x64KiB", configuration: ioConfiguration,
    closure: { benchmark in
      let f = ioFixture!
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        for i in f.iters.indices {
          var iter = f.iters[i]
          blackHole(try! iter.writeAll(to: f.fd, offset: Int64(i * 65536)).byteCount)
        }
      }
      benchmark.stopMeasurement()
    }, setup: { ioFixture = IOFixture(ringDepth: 32) }, teardown: { ioFixture = nil })

  // The same 32 writes as one io_uring batch at queue depth 32: reset,
  // submit, drain. Measures nothing where io_uring is refused.
  Benchmark(
    "IO-IOUring-32x64KiB", configuration: ioConfiguration,
    closure: { benchmark in
      let f = ioFixture!
      guard let box = f.ring else { return }
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        for i in f.transfers.indices {
          f.transfers[i].reset(f.iters[i], offset: Int64(i * 65536))
          try! box.ring.submit(f.transfers[i])
        }
        try! box.ring.drain()
        blackHole(f.transfers[0].byteCount)
      }
      benchmark.stopMeasurement()
    }, setup: { ioFixture = IOFixture(ringDepth: 32) }, teardown: { ioFixture = nil })
}
