//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: io_uring WRITEV batches at queue depth 32 to a
// regular file, against a pwritev loop making the same writes and against a
// raw-syscall io_uring loop in C.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import CBaseline
import Glibc
import IterCore
import IterIO

/// An `IOUring` (which is `~Copyable`) that closures can share.
final class RingBox {
  var ring: IOUring
  init(_ ring: consuming IOUring) { self.ring = ring }
}

/// One batch: every transfer reset to its iterator and offset, all submitted,
/// then drained (one `io_uring_enter` when nothing comes up short).
@inline(never)
func iterUringBatch(
  _ ring: inout IOUring, _ transfers: [IOUringTransfer<UnsafeSegmentList>],
  _ iters: [IovIter<UnsafeSegmentList>], offset: Int64, bytesPer: Int
) -> Int {
  for i in transfers.indices {
    transfers[i].reset(iters[i], offset: offset + Int64(i * bytesPer))
    try! ring.submit(transfers[i])
  }
  try! ring.drain()
  var total = 0
  for t in transfers {
    if t.error != nil { return -1 }
    total &+= t.byteCount
  }
  return total
}

/// The same writes, one `pwritev` each (`writeAll` with an offset).
@inline(never)
func iterPwritevBatch(
  _ iters: [IovIter<UnsafeSegmentList>], to fd: CInt, offset: Int64, bytesPer: Int
) -> Int {
  var total = 0
  for i in iters.indices {
    var iter = iters[i]
    let r = try! iter.writeAll(to: fd, offset: offset + Int64(i * bytesPer))
    total &+= r.byteCount
  }
  return total
}

@inline(never)
func cPwritevBatch(
  _ segments: UnsafeMutableBufferPointer<iovec>, transfers: Int, per: Int, to fd: CInt,
  offset: Int64, bytesPer: Int
) -> Int {
  var total = 0
  for i in 0..<transfers {
    total &+= cb_io_write_all(
      fd, segments.baseAddress! + i * per, per, offset + Int64(i * bytesPer))
  }
  return total
}

/// 32 transfers of 64 KiB (16 segments of 4 KiB each) per batch, at file
/// offsets 0, 64 KiB, …: io_uring WRITEV at queue depth 32 against a loop of
/// 32 pwritev calls, in Swift and in C.
func measureRing(settings: Settings, report: Report) {
  let depth = 32
  let segmentSize = 4096
  let per = 16
  let bytesPer = per * segmentSize
  let batchBytes = depth * bytesPer
  let pool = Region(count: batchBytes, seed: 13)
  let layout = Layout(region: pool, size: segmentSize)
  let segments = iovecCopy(layout.segments)
  defer { segments.deallocate() }
  let iters = (0..<depth).map { i in
    try! IovIter(
      UnsafeSegmentList(ContiguousArray(layout.segments[(i * per)..<((i + 1) * per)])),
      direction: .source)
  }
  let vectors = UnsafeMutableBufferPointer<iovec>.allocate(capacity: depth * per)
  defer { vectors.deallocate() }

  let box: RingBox
  do { box = RingBox(try IOUring(queueDepth: depth)) } catch {
    progress("io_uring unavailable (\(error)); its rows are left out")
    return
  }
  var cring = cb_uring()
  let setup = cb_uring_init(&cring, UInt32(depth))
  guard setup == 0 else {
    progress("raw io_uring_setup failed (\(setup)); io_uring rows are left out")
    return
  }
  defer { cb_uring_exit(&cring) }

  // Buffered writes to ext4 and tmpfs, and O_DIRECT writes to ext4 (where
  // the device, not the page cache, takes the bytes: fewer batches).
  let files = [
    ("/tmp", "ext4", false, settings.quick ? 8 : 32),
    ("/dev/shm", "tmpfs", false, settings.quick ? 8 : 32),
    ("/tmp", "ext4 O_DIRECT", true, settings.quick ? 2 : 4),
  ]
  for (directory, label, direct, batches) in files {
    var template = Array("\(directory)/iter-compare-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else {
      progress("cannot create a file in \(directory); its io_uring rows are left out")
      continue
    }
    template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    defer { close(fd) }
    // O_DIRECT (0o40000 on x86-64 Linux; Glibc leaves it out):
    // the buffers are page-aligned, as it needs.
    if direct && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | 0o40000) != 0 {
      progress("O_DIRECT refused in \(directory); its io_uring rows are left out")
      continue
    }
    // A transfer carries its descriptor: one set per file, reset every batch.
    let fileTransfers = iters.map { IOUringTransfer($0, descriptor: fd, offset: 0) }

    /// Empties the file, so the first run writes it and verify reads it back.
    func truncate() { _ = ftruncate(fd, 0) }
    func fileMatches() -> Bool {
      let back = Region(count: batchBytes)
      back.zero()
      return pread(fd, back.base, batchBytes, 0) == batchBytes
        && pool.equals(back.base, count: batchBytes)
    }
    let expected = batches * batchBytes
    /// A candidate that runs `batch` `batches` times; its first run is read back.
    func candidate(_ name: String, _ batch: @escaping () -> Int) -> Candidate {
      var moved = 0
      return Candidate(
        name: name,
        run: {
          var total = 0
          for _ in 0..<batches { total &+= batch() }
          moved = total
        }, prepare: truncate, verify: { moved == expected && fileMatches() })
    }
    let candidates = [
      candidate("C pwritev loop") {
        cPwritevBatch(segments, transfers: depth, per: per, to: fd, offset: 0, bytesPer: bytesPer)
      },
      candidate("swift-iov-iter pwritev loop") {
        iterPwritevBatch(iters, to: fd, offset: 0, bytesPer: bytesPer)
      },
      candidate("C raw io_uring") {
        cb_uring_writev_batch(
          &cring, fd, segments.baseAddress, depth, per, bytesPer, 0, vectors.baseAddress)
      },
      candidate("swift-iov-iter IOUring") {
        iterUringBatch(&box.ring, fileTransfers, iters, offset: 0, bytesPer: bytesPer)
      },
    ]
    let times = race(
      candidates, rounds: settings.rounds, workload: "io_uring vs pwritev (\(label))")
    let calls = Double(batches * depth)
    let bytes = Double(expected)
    let best = times.best
    func callsPerSecond(_ i: Int) -> String { format(calls / best[i] * 1e9, digits: 0) + " calls/s" }
    let pairedUringVsLoop = times.pairedRatio(3, to: 1)
    let pairedCUringVsLoop = times.pairedRatio(2, to: 0)
    var loop = Array(candidates[0...1])
    loop[0].note = "\(callsPerSecond(0)); 32 pwritev of 16 × 4 KiB"
    loop[1].note = "\(callsPerSecond(1)); writeAll(to:offset:), 32 calls"
    var ring = Array(candidates[2...3])
    ring[0].note =
      "\(callsPerSecond(2)); syscall + mmap, no liburing; vs C pwritev loop: "
      + "\(formatRatio(best[0] / best[2]))× best, \(formatRatio(pairedCUringVsLoop))× paired"
    ring[1].note =
      "\(callsPerSecond(3)); IOUringTransfer.reset + submit × 32, drain(); "
      + "vs swift pwritev loop: \(formatRatio(best[1] / best[3]))× best, "
      + "\(formatRatio(pairedUringVsLoop))× paired"
    let segmentLabel = "32 × 64 KiB (16 × 4 KiB), \(label) file"
    report.add(
      workload: "pwritev loop", segmentBytes: bytesPer, segmentLabel: segmentLabel,
      unit: .gigabytesPerSecond, candidates: loop,
      timings: Timings(samples: Array(times.samples[0...1])), work: [bytes, bytes])
    report.add(
      workload: "io_uring WRITEV, QD 32", segmentBytes: bytesPer, segmentLabel: segmentLabel,
      unit: .gigabytesPerSecond, candidates: ring,
      timings: Timings(samples: Array(times.samples[2...3])), work: [bytes, bytes])
  }
}
