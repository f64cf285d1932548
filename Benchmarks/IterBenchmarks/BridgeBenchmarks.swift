//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: IterBridge in package-benchmark. One measured
// iteration is one `BioVecMapper.mapNextRequest`, so the malloc threshold
// (0) is per request.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Benchmark
import IterBridge
import IterCore
import IterTypes

/// A mapper, its caller-owned request and the iterator it walks (a class,
/// because the mapper and the request are `~Copyable`).
final class BridgeFixture<Source: IterSegmentSource>: @unchecked Sendable {
  // Safe because: benchmarks run one at a time.
  let pool: PagePool
  let folios: [Folio]
  var mapper: BioVecMapper<PagePoolTranslator>
  var request: BioVecRequest
  var iter: IovIter<Source>
  let start: IterState

  init(pool: PagePool, folios: [Folio] = [], limits: DMALimits, base: UInt64 = 0, iter: IovIter<Source>) {
    self.pool = pool
    self.folios = folios
    mapper = BioVecMapper(limits: limits, translator: PagePoolTranslator(pool: pool, base: base))
    request = BioVecRequest(for: limits)
    self.iter = iter
    start = iter.saveState()
  }

  /// Maps the next request, starting over when the iterator is exhausted
  /// (the restore is outside the measurement).
  func measureOneRequest(_ benchmark: Benchmark) {
    if iter.count == 0 { try! iter.restore(start) }
    benchmark.startMeasurement()
    let mapped = try! mapper.mapNextRequest(from: &iter, into: &request)
    benchmark.stopMeasurement()
    precondition(mapped && request.count > 0)
    blackHole(request.count)
  }
}

/// 1024 pages of 4 KiB, every other page of a pool, as a bvec array.
func bridgePagesFixture() -> BridgeFixture<BioVecArray> {
  let pool = try! PagePool(pageCount: 2048, maxOrder: 0)
  var folios: [Folio] = []
  for _ in 0..<2048 { folios.append(try! pool.allocateFolio(order: 0)) }
  folios.sort { $0.address < $1.address }
  let used = stride(from: 0, to: 2048, by: 2).map { folios[$0] }
  let bvec = try! BioVecArray(used.map { PageFragment(folio: $0) })
  return BridgeFixture(
    pool: pool, folios: folios, limits: .default, iter: try! IovIter(bvec, direction: .source))
}

/// 2048 segments of 512 B to 132 KiB in a pool's arena, most of them
/// physically next to the one before, some after a gap (as iter-compare's
/// mixed layout), under NVMe-like limits: virt boundary 4 KiB − 1, 128
/// segments, 512 KiB requests.
func bridgeMixedFixture() -> BridgeFixture<UnsafeSegmentList> {
  let sizes = [512, 1536, 4096, 8192, 12288, 20480, 69632, 135168]
  let gaps = [0, 0, 0, 0, 0, 512, 3584, 4096]
  var state: UInt64 = 0x9E37_79B9_7F4A_7C15
  var layout: [(offset: Int, length: Int)] = []
  var offset = 0
  for _ in 0..<2048 {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    let r = Int(truncatingIfNeeded: state >> 33)
    offset += gaps[r & 7]
    layout.append((offset, sizes[(r >> 3) & 7]))
    offset += sizes[(r >> 3) & 7]
  }
  let pool = try! PagePool(pageCount: (offset + IterPage.size - 1) / IterPage.size)
  let arena = UnsafeMutableRawPointer(bitPattern: pool.address)!
  let list = UnsafeSegmentList(
    ContiguousArray(layout.map { IterSegment(base: arena + $0.offset, count: $0.length) }))
  let limits = try! DMALimits(
    segmentBoundaryMask: 0xFFFF_FFFF, maxSegments: 128, virtBoundaryMask: 4095, maxHWSectors: 1024)
  return BridgeFixture(
    pool: pool, limits: limits, base: (1 << 32) - (1 << 20),
    iter: try! IovIter(list, direction: .source))
}

nonisolated(unsafe) var bridgePages: BridgeFixture<BioVecArray>? = nil
nonisolated(unsafe) var bridgeMixed: BridgeFixture<UnsafeSegmentList>? = nil

/// One request a measured iteration: `mallocCountTotal` is per request.
var bridgeConfiguration: Benchmark.Configuration {
  Benchmark.Configuration(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    warmupIterations: 16, scalingFactor: .one, maxDuration: .seconds(1), maxIterations: 20_000)
}

/// The IterBridge benchmarks; called from `benchmarks` in Benchmarks.swift.
func registerBridgeBenchmarks() {
  Benchmark(
    "BridgeMapNextRequest-1024x4KiB", configuration: bridgeConfiguration,
    closure: { benchmark in bridgePages!.measureOneRequest(benchmark) },
    setup: { bridgePages = bridgePagesFixture() }, teardown: { bridgePages = nil })

  Benchmark(
    "BridgeMapNextRequest-MixedNVMe", configuration: bridgeConfiguration,
    closure: { benchmark in bridgeMixed!.measureOneRequest(benchmark) },
    setup: { bridgeMixed = bridgeMixedFixture() }, teardown: { bridgeMixed = nil })
}
