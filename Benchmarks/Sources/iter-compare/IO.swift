//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: real I/O, writev of 1024 × 4 KiB from an IovIter
// to /dev/null and through a pipe, against the same calls made from C.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import CBaseline
import Glibc
import IterCore
import IterIO

// MARK: - swift-iov-iter, concrete so every generic is specialised

/// Writes the whole cursor to `fd` from its saved start (`writeAll`: one
/// `writev` per 1024 segments, resuming after short writes).
@inline(never)
func iterWriteAll(
  _ iter: inout IovIter<UnsafeSegmentList>, from start: IterState, to fd: CInt,
  offset: Int64? = nil
) -> Int {
  try! iter.restore(start)
  let result = try! iter.writeAll(to: fd, offset: offset)
  return result.status == .transferred ? result.byteCount : -1
}

/// The C loop over the same segments: the iovec array is built from a
/// cursor before each call, as IterIO builds it.
@inline(never)
func cWriteAll(_ segments: UnsafeBufferPointer<iovec>, to fd: CInt, offset: Int64 = -1) -> Int {
  cb_io_write_all(fd, segments.baseAddress, segments.count, offset)
}

/// A C copy of the segments as `struct iovec`s, for the C side to walk.
func iovecCopy(_ segments: ContiguousArray<IterSegment>) -> UnsafeMutableBufferPointer<iovec> {
  let out = UnsafeMutableBufferPointer<iovec>.allocate(capacity: segments.count)
  for (i, s) in segments.enumerated() { out[i] = iovec(iov_base: s.base, iov_len: s.count) }
  return out
}

// MARK: - writev, 1024 × 4 KiB

/// `writeAll` of 1024 segments of 4 KiB (one `writev` of IOV_MAX entries)
/// to /dev/null, and through a pipe that a C thread drains.
func measureWritev(settings: Settings, report: Report) {
  let size = 4096
  let entries = 1024
  let bytes = size * entries
  let pool = Region(count: bytes, seed: 11)
  let layout = Layout(region: pool, size: size)
  let segments = iovecCopy(layout.segments)
  defer { segments.deallocate() }
  var iter = try! IovIter(UnsafeSegmentList(layout.segments), direction: .source)
  let start = iter.saveState()

  // /dev/null: the kernel takes the iovecs and copies nothing, so this is the
  // per-call cost: building 1024 entries and the call itself.
  let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
  precondition(null >= 0, "cannot open /dev/null")
  defer { close(null) }
  let calls = settings.quick ? 200 : 2_000
  var cBytes = 0
  var swiftBytes = 0
  let nullCandidates = [
    Candidate(
      name: "C writev loop", note: "iovecs rebuilt from a segment cursor each call",
      run: {
        var total = 0
        for _ in 0..<calls { total &+= cWriteAll(UnsafeBufferPointer(segments), to: null) }
        cBytes = total
      }, verify: { cBytes == calls * bytes }),
    Candidate(
      name: "swift-iov-iter", note: "IovIter.writeAll(to:): one writev of 1024 entries",
      run: {
        var total = 0
        for _ in 0..<calls { total &+= iterWriteAll(&iter, from: start, to: null) }
        swiftBytes = total
      }, verify: { swiftBytes == calls * bytes }),
  ]
  let nullTimes = race(nullCandidates, rounds: settings.rounds, workload: "writev /dev/null")
  report.add(
    workload: "writev to /dev/null", segmentBytes: size, segmentLabel: "1024 × 4 KiB",
    unit: .nanosecondsPerOperation, candidates: nullCandidates, timings: nullTimes,
    work: [Double(calls), Double(calls)])

  // A pipe (1 MiB), drained by a C thread that reads 1 MiB at a time; every
  // run waits until the reader has read everything written.
  var fds: [CInt] = [-1, -1]
  precondition(pipe(&fds) == 0, "pipe failed")
  _ = fcntl(fds[1], 1031, CInt(1 << 20))  // 1031: F_SETPIPE_SZ
  let reader = cb_io_reader_start(fds[0], pool.base, bytes)!
  var written: UInt64 = 0
  let writes = settings.quick ? 4 : 16
  /// A candidate that makes `writes` calls of `write` into the pipe and
  /// waits for the reader; its first run is checked byte for byte.
  func pipeCandidate(_ name: String, _ note: String, _ write: @escaping () -> Int) -> Candidate {
    var moved = 0
    return Candidate(
      name: name, note: note,
      run: {
        var total = 0
        for _ in 0..<writes { total &+= write() }
        written &+= UInt64(total)
        cb_io_reader_wait(reader, written)
        moved = total
      }, prepare: { cb_io_reader_check(reader, 1) },
      verify: {
        cb_io_reader_check(reader, 0)
        return moved == writes * bytes && cb_io_reader_mismatches(reader) == 0
      })
  }
  let pipeCandidates = [
    pipeCandidate("C writev loop", "iovecs rebuilt from a segment cursor each call") {
      cWriteAll(UnsafeBufferPointer(segments), to: fds[1])
    },
    pipeCandidate("swift-iov-iter", "IovIter.writeAll(to:)") {
      iterWriteAll(&iter, from: start, to: fds[1])
    },
  ]
  let pipeTimes = race(pipeCandidates, rounds: settings.rounds, workload: "writev pipe")
  close(fds[1])
  cb_io_reader_join(reader)
  report.add(
    workload: "writev through a pipe", segmentBytes: size, segmentLabel: "1024 × 4 KiB",
    unit: .gigabytesPerSecond, candidates: pipeCandidates, timings: pipeTimes,
    work: [Double(writes * bytes), Double(writes * bytes)])
}
