//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: copy and checksum, in one pass and in two.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import CBaseline
import Glibc
@_spi(Testing) import IterCore

// MARK: - swift-iov-iter, concrete so every generic is specialised

/// `IovIter.read(into:checksum:)` (one pass), or `IovIter.read(into:)` and
/// then `update` over the destination (two passes), `times` times.
@inline(never)
func iterGatherChecksummed<C: IterChecksum>(
  _ iter: inout IovIter<UnsafeSegmentList>, from start: IterState,
  into destination: UnsafeMutableRawBufferPointer, _ checksum: inout C, times: Int, fresh: C,
  onePass: Bool
) {
  for _ in 0..<times {
    try! iter.restore(start)
    checksum = fresh
    if onePass {
      _ = try! iter.read(into: destination, checksum: &checksum)
    } else {
      let n = try! iter.read(into: destination)
      checksum.update(UnsafeRawBufferPointer(rebasing: destination[0..<n]))
    }
  }
}

// MARK: - The workloads

/// One checksum's four candidates over one layout: C one pass (the baseline),
/// C two passes, swift-iov-iter one pass, swift-iov-iter two passes (the
/// second reference).
func checksumCandidates<C: IterChecksum>(
  name: String, fresh: C, value: @escaping (C) -> UInt32, expected: UInt32,
  cOnePass: @escaping () -> UInt32, cTwoPass: @escaping () -> UInt32,
  iter: IovIter<UnsafeSegmentList>, pool: Region, flat: Region, total: Int, times: Int
) -> [Candidate] {
  var iter = iter
  let start = iter.saveState()
  let dst = UnsafeMutableRawBufferPointer(start: flat.base, count: total)
  var sum = fresh
  var cResult: UInt32 = 0
  func prepare() {
    flat.zero()
    sum = fresh
    cResult = ~expected
  }
  func bytesRight() -> Bool { flat.equals(pool.base, count: total) }
  return [
    Candidate(
      name: "C one pass", note: "copy and \(name) in one loop",
      run: { for _ in 0..<times { cResult = cOnePass() } }, prepare: prepare,
      verify: { bytesRight() && cResult == expected }),
    Candidate(
      name: "C two passes", note: "memcpy loop, then \(name) over the copy",
      run: { for _ in 0..<times { cResult = cTwoPass() } }, prepare: prepare,
      verify: { bytesRight() && cResult == expected }),
    Candidate(
      name: "swift-iov-iter", note: "IovIter.read(into:checksum:), one pass",
      run: {
        iterGatherChecksummed(
          &iter, from: start, into: dst, &sum, times: times, fresh: fresh, onePass: true)
      },
      prepare: prepare, verify: { bytesRight() && value(sum) == expected }),
    Candidate(
      name: "swift-iov-iter, two passes", note: "2nd reference: read(into:), then update(_:)",
      run: {
        iterGatherChecksummed(
          &iter, from: start, into: dst, &sum, times: times, fresh: fresh, onePass: false)
      },
      prepare: prepare, verify: { bytesRight() && value(sum) == expected }),
  ]
}

/// Copy out (gather) with CRC-32C and with the Internet checksum, at one
/// segment size: cache-resident (a small buffer copied many times) and in
/// DRAM (the full size once). The expected checksums come from the portable
/// Swift paths (table CRC, 32-bit sums), which none of the timed code uses.
func measureChecksummedCopies(size: Int, settings: Settings, report: Report) {
  for place in cacheAndDRAM(settings) {
    let total = place.total
    let fixture = GatherFixture(total: total, size: size, seed: 21)
    let (pool, flat, iovecs) = (fixture.pool, fixture.flat, fixture.iovecs)
    let n = iovecs.count
    let iter = fixture.source()
    let source = UnsafeRawBufferPointer(start: pool.base, count: total)
    let label = "\(sizeLabel(size)) (\(sizeLabel(total)) × \(place.times))"
    let work = Array(repeating: Double(total * place.times), count: 4)

    var table = CRC32C()
    table._updateInSoftware(source)
    let crc = checksumCandidates(
      name: "CRC-32C", fresh: CRC32C(), value: { $0.value }, expected: table.value,
      cOnePass: { cb_gather_crc32c(iovecs.baseAddress, n, flat.base, total) },
      cTwoPass: { cb_gather_then_crc32c(iovecs.baseAddress, n, flat.base, total) },
      iter: iter, pool: pool, flat: flat, total: total, times: place.times)
    let crcTimes = race(crc, rounds: settings.rounds, workload: "copy + CRC-32C \(label)")
    report.add(
      workload: "copy out + CRC-32C, \(place.where)", segmentBytes: size, segmentLabel: label,
      unit: .gigabytesPerSecond, candidates: crc, timings: crcTimes, work: work, second: 3)

    var narrow = InternetChecksum()
    narrow._updateInSoftware(source)
    let csum = checksumCandidates(
      name: "Internet checksum", fresh: InternetChecksum(), value: { UInt32($0.sum) },
      expected: UInt32(narrow.sum),
      cOnePass: { UInt32(cb_gather_csum(iovecs.baseAddress, n, flat.base, total)) },
      cTwoPass: { UInt32(cb_gather_then_csum(iovecs.baseAddress, n, flat.base, total)) },
      iter: iter, pool: pool, flat: flat, total: total, times: place.times)
    let csumTimes = race(csum, rounds: settings.rounds, workload: "copy + csum \(label)")
    report.add(
      workload: "copy out + Internet checksum, \(place.where)", segmentBytes: size,
      segmentLabel: label, unit: .gigabytesPerSecond, candidates: csum, timings: csumTimes,
      work: work, second: 3)
  }
}

/// Feeds `bytes` to a fresh checksum `times` times through `update`.
@inline(never)
func checksumRepeated<C: IterChecksum>(
  _ bytes: UnsafeRawBufferPointer, _ checksum: inout C, fresh: C, times: Int,
  update: (inout C, UnsafeRawBufferPointer) -> Void
) {
  for _ in 0..<times {
    checksum = fresh
    update(&checksum, bytes)
  }
}

/// The checksums alone over a cache-resident buffer: CRC-32C through the CPU's
/// instruction against the table path, the 64-bit Internet checksum against
/// the 32-bit Swift loop (each row's second reference is the portable path).
func measureChecksumsAlone(settings: Settings, report: Report) {
  let total = settings.cachedBytes
  let times = settings.cachedRepeats
  let region = Region(count: total, seed: 41)
  let bytes = UnsafeRawBufferPointer(start: region.base, count: total)
  let label = "1 × \(sizeLabel(total)) × \(times)"
  let work = [Double(total * times), Double(total * times)]

  var table = CRC32C()
  table._updateInSoftware(bytes)
  var crc = CRC32C()
  let crcs = [
    Candidate(
      name: "CRC32C.update", note: CRC32C._usesHardware ? "the CPU's crc32 instruction" : "table",
      run: { checksumRepeated(bytes, &crc, fresh: CRC32C(), times: times) { $0.update($1) } },
      verify: { crc == table }),
    Candidate(
      name: "CRC32C table path", note: "2nd reference: slicing-by-8 in Swift",
      run: {
        checksumRepeated(bytes, &crc, fresh: CRC32C(), times: times) { $0._updateInSoftware($1) }
      },
      verify: { crc == table }),
  ]
  let crcTimes = race(crcs, rounds: settings.rounds, workload: "CRC-32C alone")
  report.add(
    workload: "CRC-32C alone, in cache", segmentBytes: total, segmentLabel: label,
    unit: .gigabytesPerSecond, candidates: crcs, timings: crcTimes, work: work, baseline: nil,
    second: 1)

  var narrow = InternetChecksum()
  narrow._updateInSoftware(bytes)
  var sum = InternetChecksum()
  let sums = [
    Candidate(
      name: "InternetChecksum.update", note: "64-bit adds (C)",
      run: { checksumRepeated(bytes, &sum, fresh: InternetChecksum(), times: times) { $0.update($1) } },
      verify: { sum == narrow }),
    Candidate(
      name: "InternetChecksum 32-bit loop", note: "2nd reference: 32-bit adds in Swift",
      run: {
        checksumRepeated(bytes, &sum, fresh: InternetChecksum(), times: times) {
          $0._updateInSoftware($1)
        }
      },
      verify: { sum == narrow }),
  ]
  let sumTimes = race(sums, rounds: settings.rounds, workload: "Internet checksum alone")
  report.add(
    workload: "Internet checksum alone, in cache", segmentBytes: total, segmentLabel: label,
    unit: .gigabytesPerSecond, candidates: sums, timings: sumTimes, work: work, baseline: nil,
    second: 1)
}
