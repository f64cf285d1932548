//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: moving, saving, exporting and building cursors.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import CBaseline
import Dispatch
import Foundation
import Glibc
import IterCore
import NIOCore

// MARK: - Advance and revert

@inline(never)
func iterAdvanceRevert(_ iter: inout IovIter<UnsafeSegmentList>, by n: Int, times: Int) {
  for _ in 0..<times {
    try! iter.advance(by: n)
    try! iter.revert(by: n)
  }
}

@inline(never)
func cAdvanceRevert(_ iter: inout cb_iter, by n: Int, times: Int) {
  for _ in 0..<times {
    cb_advance(&iter, n)
    cb_revert(&iter, n)
  }
}

/// Advance across (almost) every segment of a long list and revert back.
func measureAdvanceRevert(settings: Settings, report: Report) {
  let size = 64
  let count = min(131_072, settings.totalBytes / size)
  let pool = Region(count: count * size, seed: 7)
  let layout = Layout(region: pool, size: size)
  var iter = try! IovIter(UnsafeSegmentList(layout.segments), direction: .source)
  let iovecs = layout.iovecs
  var citer = cb_iter()
  // Start and stop half-way into a segment, so both ends are mid-segment.
  let distance = (count - 1) * size
  try! iter.advance(by: size / 2)
  let repeats = 8
  let candidates = [
    Candidate(
      name: "C loop", note: "iov_iter_advance/revert for ITER_IOVEC",
      run: {
        iovecs.withUnsafeBufferPointer { buffer in
          cb_iter_init(&citer, buffer.baseAddress, buffer.count, count * size)
          cb_advance(&citer, size / 2)
          cAdvanceRevert(&citer, by: distance, times: repeats)
        }
      }, verify: { citer.index == 0 && citer.offset == size / 2 }),
    Candidate(
      name: "swift-iov-iter", note: "advance(by:) + revert(by:)",
      run: { iterAdvanceRevert(&iter, by: distance, times: repeats) },
      verify: { iter.position == IterPosition(segmentIndex: 0, offset: size / 2) }),
  ]
  let times = race(candidates, rounds: settings.rounds, workload: "advance/revert")
  // Each advance and each revert crosses count - 1 segment boundaries.
  let crossings = Double(2 * repeats * (count - 1))
  report.add(
    workload: "advance + revert", segmentBytes: size,
    segmentLabel: "\(count) × 64 B", unit: .nanosecondsPerSegment,
    candidates: candidates, timings: times, work: [crossings, crossings])
}

// MARK: - Save and restore

@inline(never)
func iterSaveRestore(_ iter: inout IovIter<UnsafeSegmentList>, times: Int) {
  for _ in 0..<times {
    var state = iter.saveState()
    cb_opaque(&state)  // the state escapes, as the C loop's does
    try! iter.restore(state)
  }
}

func measureSaveRestore(settings: Settings, report: Report) {
  let pool = Region(count: 1 << 16, seed: 8)
  let layout = Layout(region: pool, size: 64)
  var iter = try! IovIter(UnsafeSegmentList(layout.segments), direction: .source)
  try! iter.advance(by: 1000)
  // The C cursor keeps a pointer to its array: give it one that lives as long.
  let iovecs = UnsafeMutableBufferPointer<iovec>.allocate(capacity: layout.iovecs.count)
  _ = iovecs.initialize(from: layout.iovecs)
  defer { iovecs.deallocate() }
  var citer = cb_iter()
  cb_iter_init(&citer, iovecs.baseAddress, iovecs.count, pool.count)
  cb_advance(&citer, 1000)
  let n = settings.quick ? 100_000 : 1_000_000
  let candidates = [
    Candidate(
      name: "C struct copy", note: "save = copy the struct, restore = copy it back",
      run: { _ = cb_save_restore(&citer, n) }),
    Candidate(
      name: "swift-iov-iter", note: "saveState() + restore(_:), checked",
      run: { iterSaveRestore(&iter, times: n) }),
  ]
  let times = race(candidates, rounds: settings.rounds, workload: "save/restore")
  report.add(
    workload: "save + restore", segmentBytes: 0, unit: .nanosecondsPerOperation,
    candidates: candidates, timings: times, work: [Double(n), Double(n)])
}

// MARK: - Gather export into iovecs

@inline(never)
func iterExport(
  _ iter: IovIter<UnsafeSegmentList>, into vectors: UnsafeMutableBufferPointer<iovec>, times: Int
) -> Int {
  var bytes = 0
  for _ in 0..<times {
    bytes &+= try! iter.gather(into: vectors).byteCount
    cb_opaque(vectors.baseAddress)
  }
  return bytes
}

@inline(never)
func cExport(
  _ iter: inout cb_iter, into vectors: UnsafeMutableBufferPointer<iovec>, times: Int
)
  -> Int
{
  var bytes = 0
  for _ in 0..<times {
    var n = 0
    _ = cb_export(&iter, vectors.baseAddress, vectors.count, Int.max, &n)
    bytes &+= n
    cb_opaque(vectors.baseAddress)
  }
  return bytes
}

/// Export 1024 entries (UIO_MAXIOV) from a cursor that stands mid-segment.
func measureExport(settings: Settings, report: Report) {
  let entries = 1024
  let pool = Region(count: 64 * (entries + 8), seed: 9)
  let layout = Layout(region: pool, size: 64)
  var iter = try! IovIter(UnsafeSegmentList(layout.segments), direction: .source)
  try! iter.advance(by: 100)
  // The C cursor keeps a pointer to its array: give it one that lives as long.
  let iovecs = UnsafeMutableBufferPointer<iovec>.allocate(capacity: layout.iovecs.count)
  _ = iovecs.initialize(from: layout.iovecs)
  defer { iovecs.deallocate() }
  var citer = cb_iter()
  cb_iter_init(&citer, iovecs.baseAddress, iovecs.count, pool.count)
  cb_advance(&citer, 100)
  let out = UnsafeMutableBufferPointer<iovec>.allocate(capacity: entries)
  defer { out.deallocate() }
  let n = settings.quick ? 1_000 : 20_000
  var swiftBytes = 0
  var cBytes = 0
  // The first entry is what is left of segment 1 (100 = 64 + 36).
  let perExport = (64 - 36) + (entries - 1) * 64
  let candidates = [
    Candidate(
      name: "C loop", note: "fill iovecs from the cursor",
      run: { cBytes = cExport(&citer, into: out, times: n) },
      verify: { cBytes == n * perExport }),
    Candidate(
      name: "swift-iov-iter", note: "gather(into:maxBytes:)",
      run: { swiftBytes = iterExport(iter, into: out, times: n) },
      verify: { swiftBytes == n * perExport }),
  ]
  let times = race(candidates, rounds: settings.rounds, workload: "export")
  report.add(
    workload: "gather export", segmentBytes: 64, segmentLabel: "1024 iovecs over 64 B",
    unit: .nanosecondsPerOperation, candidates: candidates, timings: times,
    work: [Double(n), Double(n)])
}

// MARK: - Building over many segments

@inline(never)
func iterBuild(base: UnsafeMutableRawPointer, count: Int, size: Int) -> Int {
  // Written in place, as C fills its iovec array.
  let segments = UnsafeSegmentList(unsafeUninitializedCapacity: count) { buffer, written in
    // A pointer stepped by `size`, as C's `base + i * segment` (which does
    // not check the multiplication either).
    var address = base
    for i in 0..<count {
      buffer[i] = IterSegment(base: address, count: size)
      address += size
    }
    written = count
  }
  let iter = try! IovIter(segments, direction: .source)
  return iter.count
}

@inline(never)
func cBuild(base: UnsafeMutableRawPointer, count: Int, size: Int) -> Int {
  let vectors = UnsafeMutablePointer<iovec>.allocate(capacity: count)
  defer { vectors.deallocate() }
  return cb_build(vectors, base.assumingMemoryBound(to: CChar.self), count, size)
}

@inline(never)
func dispatchAppend(base: UnsafeMutableRawPointer, count: Int, size: Int) -> Int {
  var data = DispatchData.empty
  for i in 0..<count {
    data.append(
      DispatchData(
        bytesNoCopy: UnsafeRawBufferPointer(start: base + i * size, count: size),
        deallocator: .custom(nil, {})))
  }
  return data.count
}

@inline(never)
func dataBuild(base: UnsafeMutableRawPointer, count: Int, size: Int) -> Int {
  var data = Data()
  for i in 0..<count {
    data.append((base + i * size).assumingMemoryBound(to: UInt8.self), count: size)
  }
  return data.count
}

@inline(never)
func nioBuild(base: UnsafeMutableRawPointer, count: Int, size: Int) -> Int {
  let allocator = ByteBufferAllocator()
  var ring = CircularBuffer<ByteBuffer>()
  for i in 0..<count {
    var buffer = allocator.buffer(capacity: size)
    buffer.writeBytes(UnsafeRawBufferPointer(start: base + i * size, count: size))
    ring.append(buffer)
  }
  return ring.count
}

/// Building a cursor (or the other libraries' equivalent) over n segments of
/// 512 B: the cost per segment stays flat when building is O(n).
func measureBuild(settings: Settings, report: Report) {
  let size = 512
  let largest = settings.buildCounts.max()!
  let pool = Region(count: largest * size, seed: 10)
  for count in settings.buildCounts {
    var results = [Int](repeating: 0, count: 5)
    let bytes = count * size
    let candidates = [
      Candidate(
        name: "C iovec array", note: "malloc + fill + validate",
        run: { results[0] = cBuild(base: pool.base, count: count, size: size) },
        verify: { results[0] == bytes }),
      Candidate(
        name: "swift-iov-iter", note: "UnsafeSegmentList written in place + IovIter.init",
        run: { results[1] = iterBuild(base: pool.base, count: count, size: size) },
        verify: { results[1] == bytes }),
      Candidate(
        name: "Data concatenation", note: "copies the bytes",
        run: { results[2] = dataBuild(base: pool.base, count: count, size: size) },
        verify: { results[2] == bytes }),
      Candidate(
        name: "NIO ByteBuffer ring", note: "a buffer per segment, copies the bytes",
        run: { results[3] = nioBuild(base: pool.base, count: count, size: size) },
        verify: { results[3] == count }),
    ]
    let times = race(candidates, rounds: max(1, settings.rounds / 3), workload: "build \(count)")
    report.add(
      workload: "build", segmentBytes: size, segmentLabel: "\(count) × 512 B",
      unit: .nanosecondsPerSegment, candidates: candidates, timings: times,
      work: Array(repeating: Double(count), count: candidates.count))
  }
  // DispatchData's append is quadratic: measured at smaller counts only.
  let cReference = report.rows.last {
    $0.workload == "build" && $0.implementation == "C iovec array"
  }
  for count in settings.dispatchAppendCounts {
    var result = 0
    let candidates = [
      Candidate(
        name: "DispatchData append",
        note: "one region at a time, no copy; O(n²): measured at \(count), not \(largest)",
        run: { result = dispatchAppend(base: pool.base, count: count, size: size) },
        verify: { result == count * size })
    ]
    let times = race(candidates, rounds: 1, workload: "dispatch append \(count)")
    report.add(
      workload: "build", segmentBytes: size, segmentLabel: "\(count) × 512 B",
      unit: .nanosecondsPerSegment, candidates: candidates, timings: times,
      work: [Double(count)], baseline: nil)
    if let cReference, let last = report.rows.indices.last {
      report.rows[last].ratio = cReference.value / report.rows[last].value
    }
  }
}
