//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: IterBridge against C. Pagemap translation
// (pages/s) and iterator → BioVec requests (chunks/s).
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import CBaseline
import Glibc
import IterBridge
import IterCore
import IterTypes

// MARK: - Pagemap translation

/// Translates `length` bytes at `base` into physically contiguous runs with
/// the library's translator, from a cold cache (so every run pays its `pread`s).
@inline(never)
func bridgeSwiftPagemap(
  _ translator: PagemapTranslator, base: UInt, length: Int,
  into runs: UnsafeMutableBufferPointer<cbb_run>
) -> Int {
  translator.invalidateAll()
  var address = base
  var left = length
  var n = 0
  while left > 0 {
    let run = try! translator.translate(address, length: left)
    runs[n] = cbb_run(phys: run.address, len: UInt64(run.length))
    n += 1
    address += UInt(run.length)
    left -= run.length
  }
  return n
}

/// The same translation in one call a buffer of runs (`translateRuns`).
@inline(never)
func bridgeSwiftPagemapRuns(
  _ translator: PagemapTranslator, base: UInt, length: Int, into runs: UnsafeMutableBufferPointer<PhysicalRun>
) -> Int {
  translator.invalidateAll()
  return try! translator.translateRuns(base, length: length, into: runs)
}

@inline(never)
func bridgeCPagemap(
  fd: Int32, base: UInt, length: Int, entries: UnsafeMutablePointer<UInt64>, batch: Int,
  into runs: UnsafeMutableBufferPointer<cbb_run>
) -> Int {
  let n = cbb_pagemap_runs(fd, base, length, entries, batch, runs.baseAddress, runs.count)
  guard n >= 0 else {
    eprint("iter-compare: cbb_pagemap_runs failed (\(n), errno \(errno))\n")
    exit(1)
  }
  return n
}

/// `PagemapTranslator` over a touched buffer (64 MiB, 16,384 pages; 4 MiB in
/// a quick run) against a C batched `pread` loop over the same entries. Both
/// read 4096 entries a `pread`, check the present bit, take the frame and
/// find the runs of frames that follow one another.
func measureBridgePagemap(settings: Settings, report: Report) {
  let bytes = settings.totalBytes
  let pages = bytes / IterPage.size
  let buffer = Region(count: bytes, seed: 21)  // filled, so every page is present
  let base = UInt(bitPattern: buffer.base)
  let batch = 4096
  let translator: PagemapTranslator
  do {
    translator = try PagemapTranslator(batchPages: batch)
    _ = try translator.translate(base, length: 1)
  } catch {
    eprint("iter-compare: bridge pagemap rows skipped: \(error) (needs CAP_SYS_ADMIN)\n")
    return
  }
  let fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else {
    eprint("iter-compare: cannot open /proc/self/pagemap\n")
    exit(1)
  }
  defer { close(fd) }
  let entries = UnsafeMutablePointer<UInt64>.allocate(capacity: batch)
  defer { entries.deallocate() }
  let swiftRuns = UnsafeMutableBufferPointer<cbb_run>.allocate(capacity: pages)
  let cRuns = UnsafeMutableBufferPointer<cbb_run>.allocate(capacity: pages)
  let bulkRuns = UnsafeMutableBufferPointer<PhysicalRun>.allocate(capacity: pages)
  defer {
    swiftRuns.deallocate()
    cRuns.deallocate()
    bulkRuns.deallocate()
  }
  var swiftCount = 0
  var bulkCount = 0
  var cCount = 0
  let times = settings.quick ? 4 : 16
  let candidates = [
    Candidate(
      name: "C pread loop", note: "pread 4096 entries a call; present bit, frame, runs",
      run: {
        for _ in 0..<times {
          cCount = bridgeCPagemap(
            fd: fd, base: base, length: bytes, entries: entries, batch: batch, into: cRuns)
        }
      }),
    Candidate(
      name: "swift-iov-iter", note: "PagemapTranslator.translate, cold cache, batchPages 4096",
      run: {
        for _ in 0..<times {
          swiftCount = bridgeSwiftPagemap(translator, base: base, length: bytes, into: swiftRuns)
        }
      },
      // Both ran before this check (the C candidate first): same runs, same bytes.
      verify: {
        bridgeSameRuns(swiftCount, as: cRuns, count: cCount, bytes: bytes) { (swiftRuns[$0].phys, swiftRuns[$0].len) }
      }),
    Candidate(
      name: "swift-iov-iter", note: "PagemapTranslator.translateRuns (all runs in one call), cold cache",
      run: {
        for _ in 0..<times {
          bulkCount = bridgeSwiftPagemapRuns(translator, base: base, length: bytes, into: bulkRuns)
        }
      },
      verify: {
        bridgeSameRuns(bulkCount, as: cRuns, count: cCount, bytes: bytes) {
          (bulkRuns[$0].address, UInt64(bulkRuns[$0].length))
        }
      }),
  ]
  let timings = race(candidates, rounds: settings.rounds, workload: "bridge pagemap")
  let work = Double(pages * times)
  report.add(
    workload: "pagemap translation",
    segmentBytes: bytes, segmentLabel: "\(pages) pages (\(sizeLabel(bytes))), \(cCount) runs",
    unit: .nanosecondsPerOperation, candidates: candidates, timings: timings, work: [work, work, work])
  bridgeAddRates(report, count: 3, unit: "pages")
}

/// Whether `count` runs, the `i`th given by `run(i)`, are C's runs and
/// cover `bytes`.
func bridgeSameRuns(
  _ count: Int, as cRuns: UnsafeMutableBufferPointer<cbb_run>, count cCount: Int, bytes: Int,
  _ run: (Int) -> (phys: UInt64, len: UInt64)
) -> Bool {
  guard count == cCount, count > 0 else { return false }
  var total = 0
  for i in 0..<count {
    let (phys, len) = run(i)
    guard phys == cRuns[i].phys, len == cRuns[i].len else { return false }
    total += Int(len)
  }
  return total == bytes
}

/// Appends the rate (millions a second) to the notes of the last `count`
/// rows, whose values are nanoseconds an operation.
func bridgeAddRates(_ report: Report, count: Int, unit: String) {
  let n = report.rows.count
  for i in (n - count)..<n {
    report.rows[i].note += "; \(format(1e3 / report.rows[i].value, digits: 1)) M \(unit)/s"
  }
}

// MARK: - Iterator → BioVec requests

/// A mapper, its request buffer and the iterator it walks, kept together in a
/// class because the mapper and the request are `~Copyable`.
final class BridgeMapping<Translator: PhysicalTranslator, Source: IterSegmentSource> {
  var mapper: BioVecMapper<Translator>
  var request: BioVecRequest
  var batch: BioVecRequestBatch
  var iter: IovIter<Source>
  let start: IterState

  init(limits: DMALimits, translator: Translator, iter: IovIter<Source>) {
    mapper = BioVecMapper(limits: limits, translator: translator)
    request = BioVecRequest(for: limits)
    batch = BioVecRequestBatch(requests: 32, for: limits)
    self.iter = iter
    start = iter.saveState()
  }

  /// As `mapAll`, in batches of 32 requests.
  func mapAllBatched(into all: UnsafeMutableBufferPointer<BioVec>) -> Int {
    try! iter.restore(start)
    var chunks = 0
    while case let n = try! mapper.mapNextRequests(from: &iter, into: &batch), n > 0 {
      for r in 0..<n {
        batch.withChunks(ofRequest: r) { vecs in
          for (i, v) in vecs.enumerated() { all[chunks + i] = v }
          chunks &+= vecs.count
        }
      }
    }
    return chunks
  }

  /// Maps every request of the iterator; returns the chunks. With `all`,
  /// also collects them (for the check).
  @inline(__always)
  func mapAll(into all: UnsafeMutableBufferPointer<BioVec>? = nil) -> Int {
    try! iter.restore(start)
    var chunks = 0
    while try! mapper.mapNextRequest(from: &iter, into: &request) {
      if let all {
        request.withUnsafeBufferPointer { vecs in
          for (i, v) in vecs.enumerated() { all[chunks + i] = v }
        }
      }
      chunks &+= request.count
    }
    return chunks
  }
}

/// Maps every request of `iter`, `times` over; returns the chunks. The
/// mapper, request and iterator come in `inout`, as locals of a driver loop
/// would be, so the box's exclusivity checks are paid once a run.
@inline(__always)
func bridgeSwiftMap<Source: IterSegmentSource>(
  _ mapper: inout BioVecMapper<PagePoolTranslator>, _ request: inout BioVecRequest,
  _ iter: inout IovIter<Source>, from start: IterState, times: Int
) -> Int {
  var chunks = 0
  for _ in 0..<times {
    try! iter.restore(start)
    while try! mapper.mapNextRequest(from: &iter, into: &request) { chunks &+= request.count }
  }
  return chunks
}

/// `bridgeSwiftMap` in batches of 32 requests.
@inline(__always)
func bridgeSwiftMapBatched<Source: IterSegmentSource>(
  _ mapper: inout BioVecMapper<PagePoolTranslator>, _ batch: inout BioVecRequestBatch,
  _ iter: inout IovIter<Source>, from start: IterState, times: Int
) -> Int {
  var chunks = 0
  for _ in 0..<times {
    try! iter.restore(start)
    while case let n = try! mapper.mapNextRequests(from: &iter, into: &batch), n > 0 {
      for r in 0..<n { chunks &+= batch.withChunks(ofRequest: r) { $0.count } }
    }
  }
  return chunks
}

@inline(never)
func bridgeSwiftMapPagesBatched(_ m: BridgeMapping<PagePoolTranslator, BioVecArray>, times: Int) -> Int {
  bridgeSwiftMapBatched(&m.mapper, &m.batch, &m.iter, from: m.start, times: times)
}

@inline(never)
func bridgeSwiftMapMixedBatched(_ m: BridgeMapping<PagePoolTranslator, UnsafeSegmentList>, times: Int) -> Int {
  bridgeSwiftMapBatched(&m.mapper, &m.batch, &m.iter, from: m.start, times: times)
}

@inline(never)
func bridgeSwiftMapPages(_ m: BridgeMapping<PagePoolTranslator, BioVecArray>, times: Int) -> Int {
  bridgeSwiftMap(&m.mapper, &m.request, &m.iter, from: m.start, times: times)
}

@inline(never)
func bridgeSwiftMapMixed(
  _ m: BridgeMapping<PagePoolTranslator, UnsafeSegmentList>, times: Int
)
  -> Int
{
  bridgeSwiftMap(&m.mapper, &m.request, &m.iter, from: m.start, times: times)
}

@inline(never)
func bridgeCMap(
  _ pieces: [cbb_run], _ limits: UnsafePointer<cbb_limits>, request: UnsafeMutablePointer<cbb_vec>,
  times: Int
) -> Int {
  var chunks = 0
  var requests = 0
  pieces.withUnsafeBufferPointer { p in
    for _ in 0..<times {
      chunks &+= cbb_map_requests(p.baseAddress, p.count, limits, request, nil, 0, &requests)
    }
  }
  return chunks
}

/// The C loop doing the Swift side's whole job: walk the (virtual address,
/// length) segments, translate each piece through the pool's arena, split
/// and merge.
/// With `perRequest`, the same job one `cbb_map_next_request` call a request
/// (not inlined), as the Swift side calls `mapNextRequest`.
@inline(never)
func bridgeCMapSegments(
  _ segments: [cbb_run], _ pool: UnsafePointer<cbb_pool>, _ limits: UnsafePointer<cbb_limits>,
  request: UnsafeMutablePointer<cbb_vec>, times: Int, perRequest: Bool = false
) -> Int {
  var chunks = 0
  var requests = 0
  segments.withUnsafeBufferPointer { p in
    for _ in 0..<times {
      chunks &+=
        perRequest
        ? cbb_map_segments_per_request(p.baseAddress, p.count, pool, limits, request, &requests)
        : cbb_map_segments(p.baseAddress, p.count, pool, limits, request, nil, 0, &requests)
    }
  }
  return chunks
}

extension cbb_limits {
  init(_ l: DMALimits) {
    self.init(
      max_segment_size: UInt64(l.maxSegmentSize), seg_boundary_mask: l.segmentBoundaryMask,
      virt_boundary_mask: l.virtBoundaryMask, align_mask: UInt64(l.dmaAlignment),
      max_segments: l.maxSegments, max_bytes: l.maxRequestBytes,
      block_size: Int(l.logicalBlockSize))
  }
}

/// The mixed layout: segments of 512 B to 132 KiB in a page pool's arena,
/// most of them physically next to the one before (merges), some after a gap
/// of 512 B, 3.5 KiB or 4 KiB (new chunks, virt-boundary gaps), the large ones
/// split at `max_segment_size`. The translator's base puts the 4 GiB
/// boundary inside the layout.
struct BridgeMixedLayout {
  let pool: PagePool
  let segments: ContiguousArray<IterSegment>
  /// The same segments as the translator sees them: (arena offset + base, length).
  let pieces: [cbb_run]
  /// The segments as (virtual address, length), for the C loop that translates.
  let virtualSegments: [cbb_run]
  let translatorBase: UInt64 = (1 << 32) - (1 << 20)

  init(count: Int) {
    let sizes = [512, 1536, 4096, 8192, 12288, 20480, 69632, 135168]
    let gaps = [0, 0, 0, 0, 0, 512, 3584, 4096]
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var layout: [(offset: Int, length: Int)] = []
    var offset = 0
    for _ in 0..<count {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let r = Int(truncatingIfNeeded: state >> 33)
      offset += gaps[r & 7]
      let length = sizes[(r >> 3) & 7]
      layout.append((offset, length))
      offset += length
    }
    let pageCount = (offset + IterPage.size - 1) / IterPage.size
    pool = try! PagePool(pageCount: pageCount)
    let arena = UnsafeMutableRawPointer(bitPattern: pool.address)!
    segments = ContiguousArray(layout.map { IterSegment(base: arena + $0.offset, count: $0.length) })
    let base = translatorBase
    pieces = layout.map { cbb_run(phys: base + UInt64($0.offset), len: UInt64($0.length)) }
    let start = UInt64(pool.address)
    virtualSegments = layout.map { cbb_run(phys: start + UInt64($0.offset), len: UInt64($0.length)) }
  }
}

/// Runs the Swift mapper and the C loop over the same pieces; both must give
/// the same chunks, request by request, or the program ends.
func bridgeRaceMapper<Source: IterSegmentSource>(
  row: String, label: String, note: String, limits: DMALimits,
  mapping: BridgeMapping<PagePoolTranslator, Source>, pieces: [cbb_run], segments: [cbb_run],
  pool: cbb_pool, times: Int, swiftRun: @escaping (Int) -> Int, batchedRun: @escaping (Int) -> Int,
  settings: Settings, report: Report
) {
  var climits = cbb_limits(limits)
  var cpool = pool
  let request = UnsafeMutablePointer<cbb_vec>.allocate(capacity: limits.maxSegments)
  defer { request.deallocate() }
  // The check: every chunk of every request, both sides.
  let capacity = pieces.reduce(0) { $0 + Int($1.len) / 512 } + pieces.count + 1
  let swiftAll = UnsafeMutableBufferPointer<BioVec>.allocate(capacity: capacity)
  let cAll = UnsafeMutableBufferPointer<cbb_vec>.allocate(capacity: capacity)
  defer {
    swiftAll.deallocate()
    cAll.deallocate()
  }
  let swiftChunks = mapping.mapAll(into: swiftAll)
  let batchedAll = UnsafeMutableBufferPointer<BioVec>.allocate(capacity: capacity)
  defer { batchedAll.deallocate() }
  let batchedChunks = mapping.mapAllBatched(into: batchedAll)
  var requests = 0
  let cChunks = pieces.withUnsafeBufferPointer {
    cbb_map_requests($0.baseAddress, $0.count, &climits, request, cAll.baseAddress, capacity, &requests)
  }
  // The C loop that translates must give the same chunks too.
  let wholeAll = UnsafeMutableBufferPointer<cbb_vec>.allocate(capacity: capacity)
  defer { wholeAll.deallocate() }
  var wholeRequests = 0
  let wholeChunks = segments.withUnsafeBufferPointer {
    cbb_map_segments(
      $0.baseAddress, $0.count, &cpool, &climits, request, wholeAll.baseAddress, capacity, &wholeRequests)
  }
  var perRequestRequests = 0
  let perRequestChunks = segments.withUnsafeBufferPointer {
    cbb_map_segments_per_request($0.baseAddress, $0.count, &cpool, &climits, request, &perRequestRequests)
  }
  var same =
    swiftChunks == cChunks && cChunks > 0 && wholeChunks == cChunks && wholeRequests == requests
    && perRequestChunks == cChunks && perRequestRequests == requests && batchedChunks == cChunks
  for i in 0..<(same ? cChunks : 0) {
    let s = swiftAll[i]
    let c = cAll[i]
    let w = wholeAll[i]
    if s.address != c.addr || s.length != c.len || s.flags.rawValue != c.flags
      || w.addr != c.addr || w.len != c.len || w.flags != c.flags || batchedAll[i] != s
    {
      eprint(
        "iter-compare: chunk \(i): swift \(s), C (0x\(String(c.addr, radix: 16)), \(c.len), \(c.flags)), "
          + "C translating (0x\(String(w.addr, radix: 16)), \(w.len), \(w.flags))\n")
      same = false
      break
    }
  }
  guard same else {
    eprint(
      "iter-compare: the mapper and the C loops disagree in \(row) \(label) (\(swiftChunks) vs \(cChunks) "
        + "and \(wholeChunks) chunks)\n")
    exit(1)
  }
  var swiftResult = 0
  var cResult = 0
  var wholeResult = 0
  var perRequestResult = 0
  var batchedResult = 0
  // The baseline (first) is the C loop doing the Swift side's whole job; the
  // split/merge loop alone is the lower bound, set against both.
  let candidates = [
    Candidate(
      name: "C walk+translate+split/merge", note: "(virtual address, len) segments, pool arena lookup a piece",
      run: {
        wholeResult = withUnsafePointer(to: &cpool) { p in
          withUnsafePointer(to: &climits) { bridgeCMapSegments(segments, p, $0, request: request, times: times) }
        }
      },
      verify: { wholeResult == cChunks * times }),
    Candidate(
      name: "C split/merge loop only", note: "same (phys, len) pieces, already translated",
      run: { cResult = withUnsafePointer(to: &climits) { bridgeCMap(pieces, $0, request: request, times: times) } },
      verify: { cResult == cChunks * times }),
    Candidate(
      name: "swift-iov-iter", note: note,
      run: { swiftResult = swiftRun(times) }, verify: { swiftResult == swiftChunks * times }),
    Candidate(
      name: "C, one call a request", note: "the whole job, cbb_map_next_request (not inlined) a request",
      run: {
        perRequestResult = withUnsafePointer(to: &cpool) { p in
          withUnsafePointer(to: &climits) {
            bridgeCMapSegments(segments, p, $0, request: request, times: times, perRequest: true)
          }
        }
      },
      verify: { perRequestResult == cChunks * times }),
    Candidate(
      name: "swift-iov-iter, batches of 32", note: "mapNextRequests into a BioVecRequestBatch of 32",
      run: { batchedResult = batchedRun(times) }, verify: { batchedResult == swiftChunks * times }),
  ]
  let timings = race(candidates, rounds: settings.rounds, workload: "bridge \(row)")
  let work = Double(cChunks * times)
  report.add(
    workload: row, segmentBytes: 0,
    segmentLabel: "\(label): \(cChunks) chunks, \(requests) requests",
    unit: .nanosecondsPerOperation, candidates: candidates, timings: timings, work: [work, work, work, work, work])
  bridgeAddRates(report, count: 5, unit: "chunks")
  let n = report.rows.count
  let best = timings.best
  report.rows[n - 1].note +=
    "; vs C split/merge only: \(format(best[1] / best[4], digits: 2))× best, "
    + "\(format(timings.pairedRatio(4, to: 1), digits: 2))× paired"
  report.rows[n - 3].note +=
    "; vs split/merge only: \(format(best[1] / best[2], digits: 2))× best, "
    + "\(format(timings.pairedRatio(2, to: 1), digits: 2))× paired"
    + "; vs C one call a request: \(format(best[3] / best[2], digits: 2))× best, "
    + "\(format(timings.pairedRatio(2, to: 3), digits: 2))× paired"
}

/// Iterator → BioVec requests: `BioVecMapper.mapNextRequest` against a C loop
/// that splits and merges the same (phys, len) pieces under the same limits.
func measureBridgeMapper(settings: Settings, report: Report) {
  let times = settings.quick ? 4 : 64
  // 1024 pages of 4 KiB, every other page of a pool (no two physically next:
  // one chunk a page), as a bvec array; the kernel's default limits.
  do {
    let pool = try! PagePool(pageCount: 2048, maxOrder: 0)
    var folios: [Folio] = []
    for _ in 0..<2048 { folios.append(try! pool.allocateFolio(order: 0)) }
    folios.sort { $0.address < $1.address }
    let used = stride(from: 0, to: 2048, by: 2).map { folios[$0] }
    let bvec = try! BioVecArray(used.map { PageFragment(folio: $0) })
    let pieces = used.map { cbb_run(phys: UInt64($0.address - pool.address), len: 4096) }
    let segments = used.map { cbb_run(phys: UInt64($0.address), len: 4096) }
    let cpool = cbb_pool(start: pool.address, size: UInt64(pool.byteCount), phys_base: 0)
    let limits = DMALimits.default
    let mapping = BridgeMapping(
      limits: limits, translator: PagePoolTranslator(pool: pool),
      iter: try! IovIter(bvec, direction: .source))
    bridgeRaceMapper(
      row: "iterator → BioVec", label: "1024 × 4 KiB pages, default limits",
      note: "mapNextRequest, BioVecArray, PagePoolTranslator", limits: limits,
      mapping: mapping, pieces: pieces, segments: segments, pool: cpool, times: times,
      swiftRun: { bridgeSwiftMapPages(mapping, times: $0) },
      batchedRun: { bridgeSwiftMapPagesBatched(mapping, times: $0) }, settings: settings, report: report)
    withExtendedLifetime(folios) {}
  }
  // The mixed layout under NVMe-like limits (virt boundary 4 KiB − 1, which
  // needs max_segment_size UInt32.max) and under 64 KiB segments with
  // 4 KiB blocks (splits, and requests cut back to the block).
  let mixed = BridgeMixedLayout(count: 2048)
  let nvme = try! DMALimits(
    segmentBoundaryMask: 0xFFFF_FFFF, maxSegments: 128, virtBoundaryMask: 4095,
    maxHWSectors: 1024)
  let split = try! DMALimits(
    maxSegmentSize: 65536, segmentBoundaryMask: 0xFFFF_FFFF, maxSegments: 128,
    maxHWSectors: 2048, logicalBlockSize: 4096)
  for (label, limits) in [
    ("2048 mixed, NVMe-like (virt boundary 4 KiB − 1)", nvme),
    ("2048 mixed, 64 KiB segments, 4 KiB blocks", split),
  ] {
    let mapping = BridgeMapping(
      limits: limits, translator: PagePoolTranslator(pool: mixed.pool, base: mixed.translatorBase),
      iter: try! IovIter(UnsafeSegmentList(mixed.segments), direction: .source))
    bridgeRaceMapper(
      row: "iterator → BioVec", label: label,
      note: "mapNextRequest, UnsafeSegmentList, PagePoolTranslator", limits: limits,
      mapping: mapping, pieces: mixed.pieces, segments: mixed.virtualSegments,
      pool: cbb_pool(start: mixed.pool.address, size: UInt64(mixed.pool.byteCount), phys_base: mixed.translatorBase),
      times: times,
      swiftRun: { bridgeSwiftMapMixed(mapping, times: $0) },
      batchedRun: { bridgeSwiftMapMixedBatched(mapping, times: $0) }, settings: settings, report: report)
  }
}
