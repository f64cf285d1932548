//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: package-benchmark suite (wall clock, throughput,
// malloc counts). Malloc thresholds live in Thresholds/<swift-version>/.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Benchmark
import Glibc
import IterCore
import IterTypes

// MARK: - Configuration

/// Bytes per copy iteration: 64 MiB, as in iter-compare.
let copyBytes = 64 << 20

/// Gigabytes a second times 100 (a custom metric: package-benchmark's own
/// `throughput` counts iterations a second, and one iteration is 64 MiB).
var gigabytesPerSecond: BenchmarkMetric {
  .custom("GB/s ×100", polarity: .prefersLarger, useScalingFactor: false)
}

var copyConfiguration: Benchmark.Configuration {
  Benchmark.Configuration(
    metrics: [.wallClock, .throughput, .mallocCountTotal, gigabytesPerSecond],
    warmupIterations: 1, scalingFactor: .one, maxDuration: .seconds(1), maxIterations: 25)
}

var stepConfiguration: Benchmark.Configuration {
  Benchmark.Configuration(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    warmupIterations: 2, scalingFactor: .kilo, maxDuration: .seconds(1), maxIterations: 200)
}

var buildConfiguration: Benchmark.Configuration {
  Benchmark.Configuration(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    warmupIterations: 1, scalingFactor: .one, maxDuration: .seconds(1), maxIterations: 50)
}

// MARK: - Fixtures

/// Page-aligned, pre-faulted memory.
final class Region: @unchecked Sendable {  // Safe because: benchmarks run one at a time.
  let base: UnsafeMutableRawPointer
  let count: Int

  init(count: Int, seed: UInt8) {
    self.count = count
    base = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 4096)
    let bytes = base.assumingMemoryBound(to: UInt8.self)
    for i in 0..<count { bytes[i] = UInt8(truncatingIfNeeded: i &* 31) &+ seed }
  }

  deinit { base.deallocate() }

  var buffer: UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(start: base, count: count)
  }

  /// `count` bytes cut into `size`-byte segments laid end to end.
  func segments(size: Int, count total: Int? = nil) -> UnsafeSegmentList {
    let total = total ?? count
    var segments = ContiguousArray<IterSegment>()
    var offset = 0
    while offset < total {
      let n = min(size, total - offset)
      segments.append(IterSegment(base: base + offset, count: n))
      offset += n
    }
    return UnsafeSegmentList(segments)
  }
}

/// What a benchmark's setup hook builds and its teardown drops: built outside
/// the measurement, so only the steady state is measured.
final class Fixture: @unchecked Sendable {  // Safe because: benchmarks run one at a time.
  var pool: Region
  var flat: Region
  var source: IovIter<UnsafeSegmentList>
  var destination: IovIter<UnsafeSegmentList>
  /// Where the cursors start: each measured iteration restores to it.
  let sourceStart: IterState
  let destinationStart: IterState

  init(size: Int, destinationSize: Int? = nil, bytes: Int = copyBytes) {
    let pool = Region(count: bytes, seed: 1)
    let flat = Region(count: bytes, seed: 2)
    self.pool = pool
    self.flat = flat
    source = try! IovIter(pool.segments(size: size), direction: .source)
    let destinationList =
      destinationSize.map { flat.segments(size: $0) } ?? pool.segments(size: size)
    destination = try! IovIter(destinationList, direction: .destination)
    sourceStart = source.saveState()
    destinationStart = destination.saveState()
  }
}

nonisolated(unsafe) var fixture: Fixture? = nil

/// A destination chain of all four kinds, in groups of [1024 user iovecs,
/// 1024 bio_vecs, 1024 kvecs, one discard segment] (as in iter-compare), and
/// a plain list of the very same segments.
final class ChainFixture: @unchecked Sendable {  // Safe because: benchmarks run one at a time.
  let user: Region
  let pool: PagePool
  let region: VirtualRegion
  let source: Region
  var chain: IovIter<IterChain>
  var flat: IovIter<UnsafeSegmentList>
  let chainStart: IterState
  let flatStart: IterState
  let byteCount: Int

  init(size: Int, totalBytes: Int = copyBytes) {
    let perKind = 1024
    let groups = max(1, totalBytes / (3 * perKind * size + size))
    let kindBytes = groups * perKind * size
    let user = Region(count: kindBytes, seed: 3)
    let folioOrder = 8
    let folioBytes = IterPage.size << folioOrder
    let folioCount = (kindBytes + folioBytes - 1) / folioBytes
    let pool = try! PagePool(pageCount: folioCount << folioOrder, maxOrder: folioOrder)
    let folios = (0..<folioCount).map { _ in
      try! pool.allocateFolio(order: folioOrder, zeroed: true)
    }
    let region = try! VirtualAllocator.shared.allocate(byteCount: kindBytes)
    let chain = IterChain(direction: .destination)
    var offset = 0
    for _ in 0..<groups {
      try! chain.append(
        UserIOVecArray(
          importing: (0..<perKind).map {
            UnsafeMutableRawBufferPointer(start: user.base + offset + $0 * size, count: size)
          }))
      var bvec = BioVecArray()
      var kvec = KVecArray()
      for i in 0..<perKind {
        let at = offset + i * size
        try! bvec.append(
          PageFragment(folio: folios[at / folioBytes], offset: at % folioBytes, length: size))
        try! kvec.append(region, offset: at, count: size)
      }
      try! chain.append(bvec)
      try! chain.append(kvec)
      try! chain.append(DiscardSink(count: size))
      offset += perKind * size
    }
    self.user = user
    self.pool = pool
    self.region = region
    byteCount = chain.byteCount
    source = Region(count: byteCount, seed: 4)
    let segments = ContiguousArray((0..<chain.segmentCount).map { chain.segment(at: $0) })
    self.chain = try! IovIter(chain)
    flat = try! IovIter(UnsafeSegmentList(segments), direction: .destination)
    chainStart = self.chain.saveState()
    flatStart = flat.saveState()
  }
}

nonisolated(unsafe) var chainFixture: ChainFixture? = nil

func timed(_ benchmark: Benchmark, bytes: Int, _ body: () -> Void) {
  var start = timespec()
  var end = timespec()
  clock_gettime(CLOCK_MONOTONIC, &start)
  body()
  clock_gettime(CLOCK_MONOTONIC, &end)
  let ns = Double(end.tv_sec - start.tv_sec) * 1e9 + Double(end.tv_nsec - start.tv_nsec)
  benchmark.measurement(gigabytesPerSecond, Int((Double(bytes) / ns * 100).rounded()))
}

func sizeName(_ size: Int) -> String {
  size >= 1024 ? "\(size / 1024)KiB" : "\(size)B"
}

// MARK: - Benchmarks

let benchmarks: @Sendable () -> Void = {
  // Copy out (gather) and copy in (scatter) at four segment sizes.
  for size in [64, 512, 4096, 65536] {
    Benchmark(
      "CopyOut-\(sizeName(size))", configuration: copyConfiguration,
      closure: { benchmark in
        let f = fixture!
        let start = f.sourceStart
        let destination = f.flat.buffer
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
          timed(benchmark, bytes: copyBytes) {
            try! f.source.restore(start)
            blackHole(try! f.source.read(into: destination))
          }
        }
        benchmark.stopMeasurement()
      }, setup: { fixture = Fixture(size: size) }, teardown: { fixture = nil })

    Benchmark(
      "CopyIn-\(sizeName(size))", configuration: copyConfiguration,
      closure: { benchmark in
        let f = fixture!
        let start = f.destinationStart
        let source = UnsafeRawBufferPointer(f.flat.buffer)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
          timed(benchmark, bytes: copyBytes) {
            try! f.destination.restore(start)
            blackHole(try! f.destination.write(source))
          }
        }
        benchmark.stopMeasurement()
      }, setup: { fixture = Fixture(size: size) }, teardown: { fixture = nil })
  }

  // Checksummed copies (one pass): CRC-32C on the way out, the Internet
  // checksum on the way in.
  for size in [64, 4096] {
    Benchmark(
      "CopyOutCRC32C-\(sizeName(size))", configuration: copyConfiguration,
      closure: { benchmark in
        let f = fixture!
        let start = f.sourceStart
        let destination = f.flat.buffer
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
          timed(benchmark, bytes: copyBytes) {
            try! f.source.restore(start)
            var crc = CRC32C()
            blackHole(try! f.source.read(into: destination, checksum: &crc))
            blackHole(crc.value)
          }
        }
        benchmark.stopMeasurement()
      }, setup: { fixture = Fixture(size: size) }, teardown: { fixture = nil })

    Benchmark(
      "CopyInInternetChecksum-\(sizeName(size))", configuration: copyConfiguration,
      closure: { benchmark in
        let f = fixture!
        let start = f.destinationStart
        let source = UnsafeRawBufferPointer(f.flat.buffer)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
          timed(benchmark, bytes: copyBytes) {
            try! f.destination.restore(start)
            var sum = InternetChecksum()
            blackHole(try! f.destination.write(source, checksum: &sum))
            blackHole(sum.value)
          }
        }
        benchmark.stopMeasurement()
      }, setup: { fixture = Fixture(size: size) }, teardown: { fixture = nil })
  }

  // Iterator to iterator: 4 KiB source segments into 1500 B destination segments.
  Benchmark(
    "IterToIter-4KiB-1500B", configuration: copyConfiguration,
    closure: { benchmark in
      let f = fixture!
      let sourceStart = f.sourceStart
      let destinationStart = f.destinationStart
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        timed(benchmark, bytes: copyBytes) {
          try! f.source.restore(sourceStart)
          try! f.destination.restore(destinationStart)
          blackHole(try! f.destination.copy(from: &f.source))
        }
      }
      benchmark.stopMeasurement()
    }, setup: { fixture = Fixture(size: 4096, destinationSize: 1500) }, teardown: { fixture = nil })

  // Advance and revert across 131,072 segments of 64 B (one iteration = both).
  Benchmark(
    "AdvanceRevert-131072x64B",
    configuration: .init(
      metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 1,
      scalingFactor: .one, maxDuration: .seconds(1), maxIterations: 1000),
    closure: { benchmark in
      let f = fixture!
      try! f.source.restore(f.sourceStart)
      let distance = f.source.count - 64
      try! f.source.advance(by: 32)
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        try! f.source.advance(by: distance)
        try! f.source.revert(by: distance)
      }
      benchmark.stopMeasurement()
    }, setup: { fixture = Fixture(size: 64, bytes: 131_072 * 64) }, teardown: { fixture = nil })

  // Save and restore: O(1), checked.
  Benchmark(
    "SaveRestore", configuration: stepConfiguration,
    closure: { benchmark in
      let f = fixture!
      try! f.source.restore(f.sourceStart)
      try! f.source.advance(by: 1000)
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        let state = blackHole2(f.source.saveState())
        try! f.source.restore(state)
      }
      benchmark.stopMeasurement()
    }, setup: { fixture = Fixture(size: 64, bytes: 1 << 16) }, teardown: { fixture = nil })

  // Gather export: 1024 iovecs (UIO_MAXIOV) from a cursor standing mid-segment.
  Benchmark(
    "GatherExport-1024x64B", configuration: stepConfiguration,
    closure: { benchmark in
      let f = fixture!
      try! f.source.restore(f.sourceStart)
      try! f.source.advance(by: 100)
      let vectors = UnsafeMutableBufferPointer<iovec>.allocate(capacity: 1024)
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        blackHole(try! f.source.gather(into: vectors).byteCount)
      }
      benchmark.stopMeasurement()
      vectors.deallocate()
    }, setup: { fixture = Fixture(size: 64, bytes: 64 * 1100) }, teardown: { fixture = nil })

  // A chain of all four kinds against a plain cursor over the same segments:
  // copy in, crossing a member boundary every 1024 segments.
  for size in [4096, 64] {
    Benchmark(
      "ChainCopyIn-\(sizeName(size))", configuration: copyConfiguration,
      closure: { benchmark in
        let f = chainFixture!
        let source = UnsafeRawBufferPointer(f.source.buffer)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
          timed(benchmark, bytes: f.byteCount) {
            try! f.chain.restore(f.chainStart)
            blackHole(try! f.chain.write(source))
          }
        }
        benchmark.stopMeasurement()
      }, setup: { chainFixture = ChainFixture(size: size) }, teardown: { chainFixture = nil })

    Benchmark(
      "HomogeneousCopyIn-\(sizeName(size))", configuration: copyConfiguration,
      closure: { benchmark in
        let f = chainFixture!
        let source = UnsafeRawBufferPointer(f.source.buffer)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
          timed(benchmark, bytes: f.byteCount) {
            try! f.flat.restore(f.flatStart)
            blackHole(try! f.flat.write(source))
          }
        }
        benchmark.stopMeasurement()
      }, setup: { chainFixture = ChainFixture(size: size) }, teardown: { chainFixture = nil })
  }

  // Building a cursor over 131,072 segments: O(n), and a fixed number of
  // allocations (the segment array, the list's copy of it) whatever n is.
  Benchmark(
    "Build-131072x512B", configuration: buildConfiguration,
    closure: { benchmark in
      let f = fixture!
      let base = f.pool.base
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        var segments = ContiguousArray<IterSegment>()
        segments.reserveCapacity(131_072)
        for i in 0..<131_072 { segments.append(IterSegment(base: base + i * 512, count: 512)) }
        let iter = try! IovIter(UnsafeSegmentList(segments), direction: .source)
        blackHole(iter.count)
      }
      benchmark.stopMeasurement()
    }, setup: { fixture = Fixture(size: 512, bytes: 131_072 * 512) }, teardown: { fixture = nil })

  registerBridgeBenchmarks()  // BridgeBenchmarks.swift
  // Real I/O: IOBenchmarks.swift.
  ioBenchmarks()
}

/// Hides a value from the optimiser and hands it back.
@inline(never)
func blackHole2<T>(_ value: T) -> T { identity(value) }
