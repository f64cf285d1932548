//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: copy out (gather) and copy in (scatter).
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import CBaseline
import Dispatch
import Foundation
import Glibc
import IterCore
import NIOCore

// MARK: - swift-iov-iter, concrete so every generic is specialised

/// Gathers the cursor's bytes into `destination`, from the saved start.
@inline(never)
func iterGather(
  _ iter: inout IovIter<UnsafeSegmentList>, from start: IterState,
  into destination: UnsafeMutableRawBufferPointer
) -> Int {
  try! iter.restore(start)
  return try! iter.read(into: destination)
}

/// Scatters `source` into the cursor's segments, from the saved start.
@inline(never)
func iterScatter(
  _ iter: inout IovIter<UnsafeSegmentList>, from start: IterState,
  _ source: UnsafeRawBufferPointer
) -> Int {
  try! iter.restore(start)
  return try! iter.write(source)
}

// MARK: - The C loop

@inline(never)
func cGather(_ iovecs: [iovec], into destination: UnsafeMutableRawBufferPointer) -> Int {
  iovecs.withUnsafeBufferPointer {
    cb_gather($0.baseAddress, $0.count, destination.baseAddress, destination.count)
  }
}

@inline(never)
func cScatter(_ iovecs: [iovec], _ source: UnsafeRawBufferPointer) -> Int {
  iovecs.withUnsafeBufferPointer {
    cb_scatter($0.baseAddress, $0.count, source.baseAddress, source.count)
  }
}

/// The second C row's note: what the inline-copy loop does differently.
let inlineCNote = "2nd reference: inline copy ≤ \(CB_INLINE_LIMIT) B, memcpy above"

@inline(never)
func cGatherInline(_ iovecs: [iovec], into destination: UnsafeMutableRawBufferPointer) -> Int {
  iovecs.withUnsafeBufferPointer {
    cb_gather_inline($0.baseAddress, $0.count, destination.baseAddress, destination.count)
  }
}

@inline(never)
func cScatterInline(_ iovecs: [iovec], _ source: UnsafeRawBufferPointer) -> Int {
  iovecs.withUnsafeBufferPointer {
    cb_scatter_inline($0.baseAddress, $0.count, source.baseAddress, source.count)
  }
}

// MARK: - Dispatch

/// Builds a DispatchData over the segments without copying them, by balanced
/// pairwise concatenation: O(n log n). Appending one region at a time is
/// O(n²) (see the build workload), far too slow for a million regions.
func makeDispatchData(_ segments: ContiguousArray<IterSegment>) -> DispatchData {
  var level: [DispatchData] = segments.map {
    DispatchData(
      bytesNoCopy: UnsafeRawBufferPointer(start: $0.base, count: $0.count),
      deallocator: .custom(nil, {}))
  }
  while level.count > 1 {
    var next: [DispatchData] = []
    next.reserveCapacity((level.count + 1) / 2)
    var i = 0
    while i + 1 < level.count {
      var pair = level[i]
      pair.append(level[i + 1])
      next.append(pair)
      i += 2
    }
    if i < level.count { next.append(level[i]) }
    level = next
  }
  return level.first ?? .empty
}

@inline(never)
func dispatchCopyBytes(_ data: DispatchData, into destination: UnsafeMutableRawBufferPointer) {
  data.copyBytes(to: destination, count: data.count)
}

@inline(never)
func dispatchEnumerate(_ data: DispatchData, into destination: UnsafeMutableRawBufferPointer) {
  let to = destination.baseAddress!
  data.enumerateBytes { buffer, offset, _ in
    memcpy(to + offset, buffer.baseAddress!, buffer.count)
  }
}

// MARK: - Foundation Data

@inline(never)
func dataConcatenate(_ segments: ContiguousArray<IterSegment>) -> Data {
  var data = Data()
  for s in segments {
    data.append(s.base!.assumingMemoryBound(to: UInt8.self), count: s.count)
  }
  return data
}

// MARK: - SwiftNIO

func makeByteBuffers(_ segments: ContiguousArray<IterSegment>) -> CircularBuffer<ByteBuffer> {
  let allocator = ByteBufferAllocator()
  var ring = CircularBuffer<ByteBuffer>(initialCapacity: segments.count)
  for s in segments {
    var buffer = allocator.buffer(capacity: s.count)
    buffer.writeBytes(UnsafeRawBufferPointer(start: s.base, count: s.count))
    ring.append(buffer)
  }
  return ring
}

@inline(never)
func nioGather(
  _ ring: CircularBuffer<ByteBuffer>, into destination: UnsafeMutableRawBufferPointer
)
  -> Int
{
  var offset = 0
  let to = destination.baseAddress!
  for buffer in ring {
    _ = buffer.withUnsafeReadableBytes { bytes in
      memcpy(to + offset, bytes.baseAddress!, bytes.count)
    }
    offset += buffer.readableBytes
  }
  return offset
}

@inline(never)
func nioScatter(_ ring: inout CircularBuffer<ByteBuffer>, _ source: UnsafeRawBufferPointer) -> Int {
  var offset = 0
  let from = source.baseAddress!
  var index = ring.startIndex
  while index != ring.endIndex {
    ring.modify(index) { buffer in
      let n = buffer.readableBytes
      buffer.setBytes(
        UnsafeRawBufferPointer(start: from + offset, count: n), at: buffer.readerIndex)
      offset += n
    }
    index = ring.index(after: index)
  }
  return offset
}

func nioEquals(_ ring: CircularBuffer<ByteBuffer>, _ expected: UnsafeRawPointer) -> Bool {
  var offset = 0
  for buffer in ring {
    let same = buffer.withUnsafeReadableBytes {
      memcmp($0.baseAddress!, expected + offset, $0.count) == 0
    }
    if !same { return false }
    offset += buffer.readableBytes
  }
  return true
}

// MARK: - The workloads

/// Copy out and copy in at one segment size, for every implementation.
func measureCopies(size: Int, settings: Settings, report: Report) {
  let total = settings.totalBytes
  let pool = Region(count: total, seed: 1)  // the segments' memory
  let flat = Region(count: total, seed: 2)  // the contiguous side
  let layout = Layout(region: pool, size: size)
  let list = UnsafeSegmentList(layout.segments)
  let iovecs = layout.iovecs

  // Copy out: segments -> contiguous.
  do {
    var iter = try! IovIter(list, direction: .source)
    let start = iter.saveState()
    let dispatch = makeDispatchData(layout.segments)
    let ring = makeByteBuffers(layout.segments)
    let dst = flat.buffer
    var concatenated = Data()
    func prepare() { flat.zero() }
    func verify() -> Bool { flat.equals(pool.base, count: total) }
    let candidates = [
      Candidate(
        name: "C memcpy loop", run: { _ = cGather(iovecs, into: dst) }, prepare: prepare,
        verify: verify),
      Candidate(
        name: "C inline-copy loop", note: inlineCNote,
        run: { _ = cGatherInline(iovecs, into: dst) }, prepare: prepare, verify: verify),
      Candidate(
        name: "swift-iov-iter", note: "IovIter.read(into:)",
        run: { _ = iterGather(&iter, from: start, into: dst) }, prepare: prepare, verify: verify),
      Candidate(
        name: "DispatchData copyBytes",
        run: { dispatchCopyBytes(dispatch, into: dst) }, prepare: prepare, verify: verify),
      Candidate(
        name: "DispatchData enumerateBytes", note: "memcpy per region",
        run: { dispatchEnumerate(dispatch, into: dst) }, prepare: prepare, verify: verify),
      Candidate(
        name: "Data concatenation", note: "append each segment to a new Data",
        run: { concatenated = dataConcatenate(layout.segments) },
        verify: { concatenated.withUnsafeBytes { pool.equals($0.baseAddress!, count: total) } }),
      Candidate(
        name: "NIO ByteBuffer ring", note: "CircularBuffer<ByteBuffer>, own copies of the bytes",
        run: { _ = nioGather(ring, into: dst) }, prepare: prepare, verify: verify),
    ]
    let times = race(candidates, rounds: settings.rounds, workload: "copy out \(size)")
    report.add(
      workload: "copy out (gather)", segmentBytes: size, unit: .gigabytesPerSecond,
      candidates: candidates, timings: times,
      work: Array(repeating: Double(total), count: candidates.count), second: 1)
    concatenated = Data()
  }

  // Copy in: contiguous -> segments.
  do {
    var iter = try! IovIter(list, direction: .destination)
    let start = iter.saveState()
    var ring = makeByteBuffers(layout.segments)
    let src = UnsafeRawBufferPointer(flat.buffer)
    func prepare() { pool.zero() }
    func verify() -> Bool { pool.equals(flat.base, count: total) }
    let candidates = [
      Candidate(
        name: "C memcpy loop", run: { _ = cScatter(iovecs, src) }, prepare: prepare, verify: verify),
      Candidate(
        name: "C inline-copy loop", note: inlineCNote,
        run: { _ = cScatterInline(iovecs, src) }, prepare: prepare, verify: verify),
      Candidate(
        name: "swift-iov-iter", note: "IovIter.write(_:)",
        run: { _ = iterScatter(&iter, from: start, src) }, prepare: prepare, verify: verify),
      Candidate(
        name: "NIO ByteBuffer ring", note: "setBytes(_:at:) into each buffer",
        run: { _ = nioScatter(&ring, src) }, verify: { nioEquals(ring, flat.base) }),
    ]
    let times = race(candidates, rounds: settings.rounds, workload: "copy in \(size)")
    report.add(
      workload: "copy in (scatter)", segmentBytes: size, unit: .gigabytesPerSecond,
      candidates: candidates, timings: times,
      work: Array(repeating: Double(total), count: candidates.count), second: 1)
  }
}

/// One big memcpy: the machine's single-threaded limit.
func measureMemcpy(settings: Settings, report: Report) {
  let a = Region(count: settings.totalBytes, seed: 3)
  let b = Region(count: settings.totalBytes, seed: 4)
  let candidates = [
    Candidate(
      name: "memcpy (one call)", note: "the limit: single-threaded memcpy bandwidth",
      run: { cb_memcpy(b.base, a.base, a.count) }, verify: { b.equals(a.base, count: a.count) })
  ]
  let times = race(candidates, rounds: settings.rounds, workload: "memcpy")
  report.add(
    workload: "memcpy limit", segmentBytes: settings.totalBytes,
    segmentLabel: "1 × \(sizeLabel(settings.totalBytes))", unit: .gigabytesPerSecond,
    candidates: candidates, timings: times, work: [Double(settings.totalBytes)], baseline: nil)
}

// MARK: - Iterator to iterator

@inline(never)
func iterToIter(
  _ dst: inout IovIter<UnsafeSegmentList>, _ dstStart: IterState,
  _ src: inout IovIter<UnsafeSegmentList>, _ srcStart: IterState
) -> Int {
  try! dst.restore(dstStart)
  try! src.restore(srcStart)
  return try! dst.copy(from: &src)
}

@inline(never)
func cIovToIov(_ dst: [iovec], _ src: [iovec], _ count: Int) -> Int {
  dst.withUnsafeBufferPointer { d in
    src.withUnsafeBufferPointer { s in
      cb_iov_to_iov(d.baseAddress, d.count, s.baseAddress, s.count, count)
    }
  }
}

/// A source cursor cut one way into a destination cursor cut another way.
func measureIterToIter(
  sourceSize: Int, destinationSize: Int, settings: Settings, report: Report
) {
  let total = settings.totalBytes
  let pool = Region(count: total, seed: 5)
  let flat = Region(count: total, seed: 6)
  let from = Layout(region: pool, size: sourceSize)
  let to = Layout(region: flat, size: destinationSize)
  var src = try! IovIter(UnsafeSegmentList(from.segments), direction: .source)
  var dst = try! IovIter(UnsafeSegmentList(to.segments), direction: .destination)
  let srcStart = src.saveState()
  let dstStart = dst.saveState()
  func prepare() { flat.zero() }
  func verify() -> Bool { flat.equals(pool.base, count: total) }
  let candidates = [
    Candidate(
      name: "C memcpy loop", note: "two cursors (spdk_iovcpy)",
      run: { _ = cIovToIov(to.iovecs, from.iovecs, total) }, prepare: prepare, verify: verify),
    Candidate(
      name: "swift-iov-iter", note: "IovIter.copy(from:)",
      run: { _ = iterToIter(&dst, dstStart, &src, srcStart) }, prepare: prepare, verify: verify),
  ]
  let times = race(candidates, rounds: settings.rounds, workload: "iter to iter")
  report.add(
    workload: "iterator → iterator", segmentBytes: sourceSize,
    segmentLabel: "\(sizeLabel(sourceSize)) → \(sizeLabel(destinationSize))",
    unit: .gigabytesPerSecond, candidates: candidates, timings: times,
    work: Array(repeating: Double(total), count: candidates.count))
}

// MARK: - Cache-resident copies

@inline(never)
func iterGatherRepeated(
  _ iter: inout IovIter<UnsafeSegmentList>, from start: IterState,
  into destination: UnsafeMutableRawBufferPointer, times: Int
) {
  for _ in 0..<times {
    try! iter.restore(start)
    _ = try! iter.read(into: destination)
  }
}

@inline(never)
func iterScatterRepeated(
  _ iter: inout IovIter<UnsafeSegmentList>, from start: IterState,
  _ source: UnsafeRawBufferPointer, times: Int
) {
  for _ in 0..<times {
    try! iter.restore(start)
    _ = try! iter.write(source)
  }
}

/// The same copies over a small buffer that stays in L2: memory bandwidth no
/// longer hides the per-segment cost, so this is the harder test of it.
func measureCachedCopies(settings: Settings, report: Report) {
  let total = settings.cachedBytes
  let times = settings.cachedRepeats
  for size in [64, 4096] {
    let pool = Region(count: total, seed: 13)
    let flat = Region(count: total, seed: 14)
    let layout = Layout(region: pool, size: size)
    let list = UnsafeSegmentList(layout.segments)
    let iovecs = UnsafeMutableBufferPointer<iovec>.allocate(capacity: layout.iovecs.count)
    _ = iovecs.initialize(from: layout.iovecs)
    defer { iovecs.deallocate() }
    var source = try! IovIter(list, direction: .source)
    var destination = try! IovIter(list, direction: .destination)
    let sourceStart = source.saveState()
    let destinationStart = destination.saveState()
    let dst = flat.buffer
    let src = UnsafeRawBufferPointer(flat.buffer)
    let n = iovecs.count
    let out = [
      Candidate(
        name: "C memcpy loop",
        run: {
          for _ in 0..<times { _ = cb_gather(iovecs.baseAddress, n, dst.baseAddress, total) }
        },
        prepare: { flat.zero() }, verify: { flat.equals(pool.base, count: total) }),
      Candidate(
        name: "C inline-copy loop", note: inlineCNote,
        run: {
          for _ in 0..<times { _ = cb_gather_inline(iovecs.baseAddress, n, dst.baseAddress, total) }
        },
        prepare: { flat.zero() }, verify: { flat.equals(pool.base, count: total) }),
      Candidate(
        name: "swift-iov-iter", note: "IovIter.read(into:)",
        run: { iterGatherRepeated(&source, from: sourceStart, into: dst, times: times) },
        prepare: { flat.zero() }, verify: { flat.equals(pool.base, count: total) }),
    ]
    let outTimes = race(out, rounds: settings.rounds, workload: "cached copy out \(size)")
    report.add(
      workload: "copy out, in cache", segmentBytes: size,
      segmentLabel: "\(sizeLabel(size)) (\(sizeLabel(total)) × \(times))",
      unit: .gigabytesPerSecond,
      candidates: out, timings: outTimes, work: Array(repeating: Double(total * times), count: 3),
      second: 1)
    let into = [
      Candidate(
        name: "C memcpy loop",
        run: {
          for _ in 0..<times { _ = cb_scatter(iovecs.baseAddress, n, src.baseAddress, total) }
        },
        prepare: { pool.zero() }, verify: { pool.equals(flat.base, count: total) }),
      Candidate(
        name: "C inline-copy loop", note: inlineCNote,
        run: {
          for _ in 0..<times { _ = cb_scatter_inline(iovecs.baseAddress, n, src.baseAddress, total) }
        },
        prepare: { pool.zero() }, verify: { pool.equals(flat.base, count: total) }),
      Candidate(
        name: "swift-iov-iter", note: "IovIter.write(_:)",
        run: { iterScatterRepeated(&destination, from: destinationStart, src, times: times) },
        prepare: { pool.zero() }, verify: { pool.equals(flat.base, count: total) }),
    ]
    let intoTimes = race(into, rounds: settings.rounds, workload: "cached copy in \(size)")
    report.add(
      workload: "copy in, in cache", segmentBytes: size,
      segmentLabel: "\(sizeLabel(size)) (\(sizeLabel(total)) × \(times))",
      unit: .gigabytesPerSecond,
      candidates: into, timings: intoTimes, work: Array(repeating: Double(total * times), count: 3),
      second: 1)
  }
}
