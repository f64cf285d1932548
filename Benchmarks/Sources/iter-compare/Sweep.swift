//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: copy out against segment size, for the plots.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import CBaseline
import Dispatch
import Glibc
import IterCore
import NIOCore

/// Copy out (gather) at every size of `settings.sweepSizes`, cache-resident
/// (a small buffer copied many times) and in DRAM (the full size once), for
/// the C loops, swift-iov-iter, DispatchData and NIO: the data of
/// `Benchmarks/plot.py`'s in-cache and DRAM plots. DispatchData and NIO are
/// left out of the DRAM runs below 64-byte segments, where a million-object
/// setup would take longer than the rest of the run.
func measureSweep(settings: Settings, report: Report) {
  for place in cacheAndDRAM(settings) {
    for size in settings.sweepSizes {
      let total = place.total
      let times = place.times
      let fixture = GatherFixture(total: total, size: size, seed: 31)
      let (pool, flat, iovecs, layout) = (fixture.pool, fixture.flat, fixture.iovecs, fixture.layout)
      let n = iovecs.count
      var iter = fixture.source()
      let start = iter.saveState()
      let dst = flat.buffer
      func prepare() { flat.zero() }
      func verify() -> Bool { flat.equals(pool.base, count: total) }
      var candidates = [
        Candidate(
          name: "C memcpy loop",
          run: { for _ in 0..<times { _ = cb_gather(iovecs.baseAddress, n, dst.baseAddress, total) } },
          prepare: prepare, verify: verify),
        Candidate(
          name: "C inline-copy loop", note: inlineCNote,
          run: {
            for _ in 0..<times { _ = cb_gather_inline(iovecs.baseAddress, n, dst.baseAddress, total) }
          },
          prepare: prepare, verify: verify),
        Candidate(
          name: "swift-iov-iter", note: "IovIter.read(into:)",
          run: { iterGatherRepeated(&iter, from: start, into: dst, times: times) },
          prepare: prepare, verify: verify),
      ]
      if place.times > 1 || size >= 64 {
        let dispatch = makeDispatchData(layout.segments)
        let ring = makeByteBuffers(layout.segments)
        candidates += [
          Candidate(
            name: "DispatchData copyBytes",
            run: { for _ in 0..<times { dispatchCopyBytes(dispatch, into: dst) } },
            prepare: prepare, verify: verify),
          Candidate(
            name: "NIO ByteBuffer ring", note: "CircularBuffer<ByteBuffer>, own copies of the bytes",
            run: { for _ in 0..<times { _ = nioGather(ring, into: dst) } },
            prepare: prepare, verify: verify),
        ]
      }
      let label = "\(sizeLabel(size)) (\(sizeLabel(total)) × \(times))"
      let timings = race(candidates, rounds: settings.rounds, workload: "sweep \(label)")
      report.add(
        workload: "sweep: copy out, \(place.where)", segmentBytes: size, segmentLabel: label,
        unit: .gigabytesPerSecond, candidates: candidates, timings: timings,
        work: Array(repeating: Double(total * times), count: candidates.count), second: 1)
    }
  }
}
