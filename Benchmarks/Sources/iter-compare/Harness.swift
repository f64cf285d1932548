//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: timing, memory and the results table.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import CBaseline
import Glibc
import IterCore

// MARK: - Clock

/// Monotonic nanoseconds.
@inline(__always)
func nowNanoseconds() -> UInt64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

// MARK: - Settings

/// What one run measures: `--quick` shrinks everything to a smoke run.
struct Settings {
  var quick = false
  var csvPath: String? = nil
  /// Bytes per copy workload.
  var totalBytes = 64 << 20
  /// Rounds of best-of-N timing; each round runs every candidate once, in turn,
  /// so that noise from other work on the machine hits all of them alike.
  var rounds = 41
  /// Segment counts for the build workload (O(n) check).
  var buildCounts = [16_384, 131_072]
  /// Segment counts for DispatchData's quadratic append.
  var dispatchAppendCounts = [2_048, 8_192]
  /// Bytes per copy in the cache-resident workloads, and copies per timed run.
  var cachedBytes = 256 << 10
  var cachedRepeats = 64
  /// Segment sizes of the sweep (throughput against segment size, for the plots).
  var sweepSizes = (3...16).map { 1 << $0 }
  /// Sections to run (all when empty): memcpy, copy, cached, checksum, sweep,
  /// iter, advance, save, export, build, chain, bridge, io.
  var only: Set<String> = []

  func runs(_ section: String) -> Bool { only.isEmpty || only.contains(section) }

  static func parse(_ arguments: [String]) -> Settings {
    var settings = Settings()
    var i = 1
    while i < arguments.count {
      switch arguments[i] {
      case "--quick":
        settings.quick = true
      case "--csv":
        i += 1
        guard i < arguments.count else { usage("--csv needs a path") }
        settings.csvPath = arguments[i]
      case "--only":
        i += 1
        guard i < arguments.count else { usage("--only needs a section name") }
        settings.only.formUnion(arguments[i].split(separator: ",").map(String.init))
      case "--rounds":
        i += 1
        guard i < arguments.count, let n = Int(arguments[i]), n > 0 else {
          usage("--rounds needs a positive number")
        }
        settings.rounds = n
      case "-h", "--help":
        usage(nil)
      default:
        usage("unknown argument \(arguments[i])")
      }
      i += 1
    }
    if settings.quick {
      settings.totalBytes = 4 << 20
      settings.rounds = min(settings.rounds, 3)
      settings.buildCounts = [4_096, 16_384]
      settings.dispatchAppendCounts = [512, 1_024]
      settings.cachedRepeats = 8
      settings.sweepSizes = [8, 64, 4096]
    }
    return settings
  }
}

func usage(_ message: String?) -> Never {
  if let message { eprint("iter-compare: \(message)\n") }
  eprint(
    """
    usage: iter-compare [--quick] [--csv PATH] [--rounds N] [--only SECTIONS]
      --quick       a seconds-long smoke run (4 MiB per copy, 3 rounds)
      --csv PATH    also write the numbers as CSV (for Benchmarks/plot.py)
      --rounds N    best of N rounds (default 41)
      --only LIST   run only these sections, comma-separated: memcpy, copy,
                    cached, checksum, sweep, iter, advance, save, export, build,
                    chain, bridge, io

    """)
  exit(message == nil ? 0 : 64)
}

// MARK: - Memory

/// Page-aligned, pre-faulted memory filled with a pattern.
final class Region {
  let base: UnsafeMutableRawPointer
  let count: Int

  init(count: Int, seed: UInt8 = 0) {
    self.count = count
    self.base = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 4096)
    fill(seed: seed)
  }

  deinit { base.deallocate() }

  /// Writes a pattern that makes a misplaced byte visible.
  func fill(seed: UInt8) {
    let bytes = base.assumingMemoryBound(to: UInt8.self)
    for i in 0..<count { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i >> 12) &+ seed }
  }

  func zero() { memset(base, 0, count) }

  var buffer: UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(start: base, count: count)
  }

  func equals(_ other: UnsafeRawPointer, count: Int) -> Bool {
    count <= self.count && memcmp(base, other, count) == 0
  }
}

/// `count` bytes of `region` cut into segments of `size` bytes (the last one
/// shorter if need be), laid end to end in order.
struct Layout {
  let size: Int
  let segments: ContiguousArray<IterSegment>
  let iovecs: [iovec]

  init(region: Region, size: Int, count: Int? = nil) {
    self.size = size
    let total = count ?? region.count
    var segments = ContiguousArray<IterSegment>()
    var iovecs: [iovec] = []
    segments.reserveCapacity(total / size + 1)
    iovecs.reserveCapacity(total / size + 1)
    var offset = 0
    while offset < total {
      let n = min(size, total - offset)
      segments.append(IterSegment(base: region.base + offset, count: n))
      iovecs.append(iovec(iov_base: region.base + offset, iov_len: n))
      offset += n
    }
    self.segments = segments
    self.iovecs = iovecs
  }
}

/// Segments of `size` bytes over a source region, as a C iovec array (in
/// memory of its own, like a C program's) and as segments for a cursor, and
/// a contiguous destination region of the same size.
final class GatherFixture {
  let pool: Region
  let flat: Region
  let layout: Layout
  let iovecs: UnsafeMutableBufferPointer<iovec>

  init(total: Int, size: Int, seed: UInt8) {
    pool = Region(count: total, seed: seed)
    flat = Region(count: total, seed: seed &+ 1)
    layout = Layout(region: pool, size: size)
    iovecs = UnsafeMutableBufferPointer<iovec>.allocate(capacity: layout.iovecs.count)
    _ = iovecs.initialize(from: layout.iovecs)
  }

  deinit { iovecs.deallocate() }

  /// A source cursor over the segments.
  func source() -> IovIter<UnsafeSegmentList> {
    try! IovIter(UnsafeSegmentList(layout.segments), direction: .source)
  }
}

/// Where a sweep-like workload runs: cache-resident (a small buffer copied
/// many times a timed run) and in DRAM (the full size once).
func cacheAndDRAM(_ settings: Settings) -> [(total: Int, times: Int, where: String)] {
  [
    (settings.cachedBytes, settings.cachedRepeats, "in cache"),
    (settings.totalBytes, 1, "DRAM"),
  ]
}

// MARK: - Measuring

/// One implementation of a workload.
struct Candidate {
  var name: String
  var note: String = ""
  /// Runs the workload once.
  var run: () -> Void
  /// Called before the untimed first run.
  var prepare: () -> Void = {}
  /// Checks the untimed first run's result.
  var verify: () -> Bool = { true }
}

/// What `race` measured: every round's time for every candidate, in nanoseconds.
struct Timings {
  /// `samples[candidate][round]`.
  var samples: [[Double]]

  /// The best (smallest) time of each candidate.
  var best: [Double] { samples.map { $0.min() ?? .infinity } }

  /// The median over rounds of `samples[reference][r] / samples[i][r]`: the
  /// speed of candidate `i` relative to `reference`, each round's pair run
  /// back to back, so that what the rest of the machine does hits both alike.
  func pairedRatio(_ i: Int, to reference: Int) -> Double {
    var ratios = zip(samples[reference], samples[i]).map { $0 / $1 }
    ratios.sort()
    guard !ratios.isEmpty else { return .nan }
    let mid = ratios.count / 2
    return ratios.count % 2 == 1 ? ratios[mid] : (ratios[mid - 1] + ratios[mid]) / 2
  }
}

/// Times every candidate over `rounds` interleaved rounds. Every candidate
/// first runs once untimed and is verified; a wrong result ends the program.
func race(_ candidates: [Candidate], rounds: Int, workload: String) -> Timings {
  for c in candidates {
    c.prepare()
    c.run()
    if !c.verify() {
      eprint("iter-compare: \(c.name) produced wrong bytes in \(workload)\n")
      exit(1)
    }
  }
  var samples = [[Double]](repeating: [], count: candidates.count)
  for round in 0..<rounds {
    // Every other round runs the candidates in reverse, so no candidate always
    // follows the same neighbour (and inherits its cache and memory state).
    let order = round % 2 == 0 ? Array(candidates.indices) : candidates.indices.reversed()
    for i in order {
      let start = nowNanoseconds()
      candidates[i].run()
      samples[i].append(Double(nowNanoseconds() &- start))
    }
  }
  return Timings(samples: samples)
}

// MARK: - Results

enum Unit: String {
  /// Gigabytes (10^9 bytes) a second: larger is better.
  case gigabytesPerSecond = "GB/s"
  /// Nanoseconds an operation: smaller is better.
  case nanosecondsPerOperation = "ns/op"
  /// Nanoseconds a segment: smaller is better.
  case nanosecondsPerSegment = "ns/seg"
}

struct Row {
  var workload: String
  /// Segment size in bytes (0 when it does not apply).
  var segmentBytes: Int
  var segmentLabel: String
  var implementation: String
  var unit: Unit
  var value: Double
  /// Speed relative to the C baseline of the same workload, from the best
  /// times: above 1 is faster.
  var ratio: Double?
  /// The median over rounds of the same ratio, each round's pair back to back.
  var pairedRatio: Double? = nil
  /// The paired ratio to the workload's second reference, where it has one:
  /// the inline-copy C loop in the copy workloads, swift-iov-iter's two-pass
  /// copy-then-checksum in the checksum workloads.
  var secondRatio: Double? = nil
  var note: String
}

final class Report {
  var rows: [Row] = []

  /// Records candidates' best times as rows; `work` is the bytes per run (for
  /// GB/s) or the operations per run (for ns/op).
  func add(
    workload: String, segmentBytes: Int, segmentLabel: String? = nil, unit: Unit,
    candidates: [Candidate], timings: Timings, work: [Double], baseline: Int? = 0,
    second: Int? = nil
  ) {
    let times = timings.best
    func value(_ i: Int) -> Double {
      unit == .gigabytesPerSecond ? work[i] / times[i] : times[i] / work[i]
    }
    let reference = baseline.map { value($0) }
    for (i, c) in candidates.enumerated() {
      let v = value(i)
      var ratio: Double? = nil
      var paired: Double? = nil
      if let reference, let baseline {
        ratio = unit == .gigabytesPerSecond ? v / reference : reference / v
        // Per-operation work is the same for the pair, so time ratios are speed ratios.
        paired = timings.pairedRatio(i, to: baseline) * work[i] / work[baseline]
      }
      rows.append(
        Row(
          workload: workload, segmentBytes: segmentBytes,
          segmentLabel: segmentLabel ?? sizeLabel(segmentBytes),
          implementation: c.name, unit: unit, value: v, ratio: ratio, pairedRatio: paired,
          secondRatio: second.map { timings.pairedRatio(i, to: $0) * work[i] / work[$0] },
          note: c.note))
    }
  }

  func markdown() -> String {
    var out =
      "| Workload | Segments | Implementation | Result | vs C (best) | vs C (paired) "
      + "| vs 2nd ref (paired) | Note |\n"
    out += "|---|---|---|---:|---:|---:|---:|---|\n"
    for r in rows {
      let ratio = r.ratio.map { formatRatio($0) + "×" } ?? "–"
      let paired = r.pairedRatio.map { formatRatio($0) + "×" } ?? "–"
      let second = r.secondRatio.map { formatRatio($0) + "×" } ?? "–"
      out += "| \(r.workload) | \(r.segmentLabel) | \(r.implementation) | "
      out +=
        "\(formatValue(r.value, r.unit)) \(r.unit.rawValue) | \(ratio) | \(paired) | \(second) "
      out += "| \(r.note) |\n"
    }
    return out
  }

  func csv() -> String {
    var out =
      "workload,segment_bytes,segments,implementation,unit,value,ratio_to_c,paired_ratio_to_c,"
      + "paired_ratio_to_second,note\n"
    for r in rows {
      let fields = [
        r.workload, String(r.segmentBytes), r.segmentLabel, r.implementation, r.unit.rawValue,
        String(r.value), r.ratio.map { String($0) } ?? "", r.pairedRatio.map { String($0) } ?? "",
        r.secondRatio.map { String($0) } ?? "", r.note,
      ]
      out += fields.map(csvField).joined(separator: ",") + "\n"
    }
    return out
  }
}

func csvField(_ s: String) -> String {
  if s.contains(",") || s.contains("\"") || s.contains("\n") {
    return "\"" + s.replacingAll("\"", with: "\"\"") + "\""
  }
  return s
}

extension String {
  func replacingAll(_ target: Character, with replacement: String) -> String {
    var out = ""
    for c in self { if c == target { out += replacement } else { out.append(c) } }
    return out
  }
}

func sizeLabel(_ bytes: Int) -> String {
  if bytes == 0 { return "–" }
  if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
  if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
  return "\(bytes) B"
}

func formatValue(_ v: Double, _ unit: Unit) -> String {
  switch unit {
  case .gigabytesPerSecond: format(v, digits: 2)
  case .nanosecondsPerOperation, .nanosecondsPerSegment:
    v >= 1000 ? format(v, digits: 0) : v >= 10 ? format(v, digits: 1) : format(v, digits: 2)
  }
}

/// Fixed-point formatting without Foundation.
func format(_ v: Double, digits: Int) -> String {
  guard v.isFinite else { return "\(v)" }
  var scale = 1.0
  for _ in 0..<digits { scale *= 10 }
  let scaled = (abs(v) * scale).rounded()
  let whole = Int(scaled / scale)
  var out = (v < 0 ? "-" : "") + String(whole)
  if digits > 0 {
    let fraction = Int(scaled - Double(whole) * scale)
    var f = String(fraction)
    while f.count < digits { f = "0" + f }
    out += "." + f
  }
  return out
}

/// Writes `message` to standard error.
func eprint(_ message: String) {
  var text = message
  text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// Two decimals, or two significant digits below 0.1.
func formatRatio(_ r: Double) -> String {
  if r >= 0.1 || r == 0 { return format(r, digits: 2) }
  var digits = 2
  var x = r
  while x < 0.1 && digits < 8 {
    x *= 10
    digits += 1
  }
  return format(r, digits: digits)
}

/// The machine the numbers come from: the CPU model, the CPUs online, the
/// L2 and L3 sizes glibc reports, and the load average when the run started
/// (other tenants' work moves the numbers; see Docs/Benchmarks.md).
func hostDescription() -> String {
  var model = "unknown CPU"
  if let file = fopen("/proc/cpuinfo", "r") {
    defer { fclose(file) }
    var line: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0, let text = line.map({ String(cString: $0) }) {
      if text.hasPrefix("model name"), let colon = text.firstIndex(of: ":") {
        var value = text[text.index(after: colon)...]
        while value.first == " " || value.first == "\t" { value = value.dropFirst() }
        while value.last == "\n" || value.last == " " { value = value.dropLast() }
        model = String(value)
        break
      }
    }
  }
  let cpus = sysconf(Int32(_SC_NPROCESSORS_ONLN))
  let l2 = sysconf(Int32(_SC_LEVEL2_CACHE_SIZE))
  let l3 = sysconf(Int32(_SC_LEVEL3_CACHE_SIZE))
  var load = [Double](repeating: 0, count: 3)
  let loads = getloadavg(&load, 3) == 3 ? load.map { format($0, digits: 2) }.joined(separator: " ") : "unknown"
  return "\(model), \(cpus) CPUs online, L2 \(l2 > 0 ? sizeLabel(l2) : "unknown"), "
    + "L3 \(l3 > 0 ? sizeLabel(l3) : "unknown"), load average \(loads) at the start"
}
