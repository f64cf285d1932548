//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: a chain of all four kinds against a homogeneous
// cursor over the very same segments.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import CBaseline
import Glibc
import IterCore
import IterTypes

/// The memory and members of a mixed chain: groups of [1024 user iovecs,
/// 1024 bio_vecs, 1024 kvecs, one discard segment], repeated, so that a copy
/// crosses a member boundary every 1024 segments.
final class MixedChain {
  let size: Int
  let user: Region
  let pool: PagePool
  let folios: [Folio]
  let region: VirtualRegion
  let chain: IterChain
  /// The chain's segments, copied into a plain list: the homogeneous cursor.
  let flat: UnsafeSegmentList
  let iovecs: [iovec]
  let byteCount: Int

  init(size: Int, totalBytes: Int, perKind: Int = 1024) {
    self.size = size
    let groupBytes = 3 * perKind * size + size
    let groups = max(1, totalBytes / groupBytes)
    let kindBytes = groups * perKind * size

    let user = Region(count: kindBytes, seed: 11)
    self.user = user
    // Page-fragment memory: 1 MiB folios, cut into fragments of `size`.
    let folioOrder = 8
    let folioBytes = IterPage.size << folioOrder
    let folioCount = (kindBytes + folioBytes - 1) / folioBytes
    let pool = try! PagePool(pageCount: folioCount << folioOrder, maxOrder: folioOrder)
    let folios = (0..<folioCount).map { _ in
      try! pool.allocateFolio(order: folioOrder, zeroed: true)
    }
    let region = try! VirtualAllocator.shared.allocate(byteCount: kindBytes)
    let chain = IterChain(direction: .destination)
    self.pool = pool
    self.folios = folios
    self.region = region
    self.chain = chain
    var userOffset = 0
    var fragmentOffset = 0
    var kvecOffset = 0
    for _ in 0..<groups {
      let buffers = (0..<perKind).map { i in
        UnsafeMutableRawBufferPointer(start: user.base + userOffset + i * size, count: size)
      }
      userOffset += perKind * size
      try! chain.append(UserIOVecArray(importing: buffers))

      var bvec = BioVecArray()
      for _ in 0..<perKind {
        let folio = folios[fragmentOffset / folioBytes]
        try! bvec.append(
          PageFragment(folio: folio, offset: fragmentOffset % folioBytes, length: size))
        fragmentOffset += size
      }
      try! chain.append(bvec)

      var kvec = KVecArray()
      for _ in 0..<perKind {
        try! kvec.append(region, offset: kvecOffset, count: size)
        kvecOffset += size
      }
      try! chain.append(kvec)

      try! chain.append(DiscardSink(count: size))
    }
    byteCount = chain.byteCount
    let segments = ContiguousArray((0..<chain.segmentCount).map { chain.segment(at: $0) })
    flat = UnsafeSegmentList(segments)
    iovecs = segments.map { iovec(iov_base: $0.base, iov_len: $0.count) }
  }

  func zero() {
    for s in flat.segments { if let base = s.base { memset(base, 0, s.count) } }
  }

  /// Whether every segment with memory holds the matching bytes of `source`.
  func holds(_ source: UnsafeRawPointer) -> Bool {
    var offset = 0
    for s in flat.segments {
      if let base = s.base, memcmp(base, source + offset, s.count) != 0 { return false }
      offset += s.count
    }
    return true
  }
}

@inline(never)
func chainScatter(
  _ iter: inout IovIter<IterChain>, from start: IterState, _ source: UnsafeRawBufferPointer
) -> Int {
  try! iter.restore(start)
  return try! iter.write(source)
}

@inline(never)
func cScatterSink(_ iovecs: [iovec], _ source: UnsafeRawBufferPointer) -> Int {
  iovecs.withUnsafeBufferPointer {
    cb_scatter_sink($0.baseAddress, $0.count, source.baseAddress, source.count)
  }
}

@inline(never)
func chainScatterRepeated(
  _ iter: inout IovIter<IterChain>, from start: IterState, _ source: UnsafeRawBufferPointer,
  times: Int
) {
  for _ in 0..<times {
    try! iter.restore(start)
    _ = try! iter.write(source)
  }
}

/// Copy in through a chain of all four kinds, through a plain cursor over the
/// same segments, and through the C loop over the same iovecs: 64 MiB from
/// memory, then one small group that stays in cache, copied `cachedRepeats` times.
func measureChain(settings: Settings, report: Report) {
  let cases = [
    (size: 4096, perKind: 1024, cached: false), (size: 64, perKind: 1024, cached: false),
    (size: 4096, perKind: 16, cached: true), (size: 64, perKind: 1024, cached: true),
  ]
  for (size, perKind, cached) in cases {
    let times = cached ? settings.cachedRepeats : 1
    let mixed = MixedChain(
      size: size, totalBytes: cached ? 1 : settings.totalBytes, perKind: perKind)
    let src = Region(count: mixed.byteCount, seed: 12)
    let source = UnsafeRawBufferPointer(src.buffer)
    var chainIter = try! IovIter(mixed.chain)
    let chainStart = chainIter.saveState()
    var flatIter = try! IovIter(mixed.flat, direction: .destination)
    let flatStart = flatIter.saveState()
    let iovecs = mixed.iovecs
    func prepare() { mixed.zero() }
    func verify() -> Bool { mixed.holds(src.base) }
    let candidates = [
      Candidate(
        name: "C memcpy loop", note: "same iovecs; NULL base = discard",
        run: { for _ in 0..<times { _ = cScatterSink(iovecs, source) } }, prepare: prepare,
        verify: verify),
      Candidate(
        name: "swift-iov-iter, homogeneous", note: "IovIter<UnsafeSegmentList>, same segments",
        run: { iterScatterRepeated(&flatIter, from: flatStart, source, times: times) },
        prepare: prepare, verify: verify),
      Candidate(
        name: "swift-iov-iter, chain of 4 kinds",
        note: "IovIter<IterChain>: [user, bvec, kvec, discard] × \(mixed.chain.memberCount / 4), "
          + "\(perKind) segments a member",
        run: { chainScatterRepeated(&chainIter, from: chainStart, source, times: times) },
        prepare: prepare, verify: verify),
    ]
    let best = race(candidates, rounds: settings.rounds, workload: "chain \(size)")
    report.add(
      workload: cached ? "copy in, mixed chain, in cache" : "copy in, mixed chain",
      segmentBytes: size,
      segmentLabel: cached
        ? "\(sizeLabel(size)) (\(sizeLabel(mixed.byteCount)) × \(times))" : sizeLabel(size),
      unit: .gigabytesPerSecond, candidates: candidates, timings: best,
      work: Array(repeating: Double(mixed.byteCount * times), count: candidates.count))
    let n = report.rows.count
    let homogeneous = report.rows[n - 2].value
    let paired = best.pairedRatio(2, to: 1)
    report.rows[n - 1].note +=
      "; vs homogeneous: \(format(report.rows[n - 1].value / homogeneous, digits: 2))× best, "
      + "\(format(paired, digits: 2))× paired"
  }
}
