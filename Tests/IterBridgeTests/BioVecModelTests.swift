//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterBridge
import IterConformance
import IterCore
import Testing

/// Random layouts and limits for the model comparison.
struct LayoutCase {
  var segments: [(address: UInt, length: Int)]
  var table: ModelPageTable
  var translator: IOVATableTranslator
  /// A window over linearly mapped pages, for the mapper's inline translation.
  var window: TranslationWindow?
  var limits: DMALimits
  var bounce: Bool

  static func random(using rng: inout SeededGenerator) -> LayoutCase {
    func pick<T>(_ xs: [T]) -> T { xs[Int.random(in: 0..<xs.count, using: &rng)] }
    // Limits first (re-rolled until valid).
    var limits = DMALimits.default
    while true {
      let vbm: UInt64? = pick([nil, nil, nil, 0, 4095, 8191])
      let mss: UInt32? =
        vbm.map { $0 == 0 ? pick([nil, 4096, 5000, 65536, UInt32.max]) : nil }
        ?? pick([nil, 4096, 4097, 6000, 8192, 65536, UInt32.max])
      let lbs: UInt32 = pick([512, 512, 512, 1024, 4096])
      let hw: UInt32? = pick([nil, 8, 16, 24, 64, 255, UInt32.max])
      do {
        limits = try DMALimits(
          maxSegmentSize: mss, segmentBoundaryMask: pick([nil, 4095, 8191, 16383, 65535, UInt64.max]),
          maxSegments: pick([1, 2, 3, 4, 7, 128]), dmaAlignment: pick([0, 0, 0, 0, 0, 0, 3, 511]),
          virtBoundaryMask: vbm, maxHWSectors: hw, maxUserSectors: pick([nil, nil, 8, 16]),
          logicalBlockSize: lbs)
        break
      } catch {}
    }
    // Segments over a few virtual pages near each other (so they share pages).
    let basePage = UInt.random(in: 0x1000...0x100000, using: &rng)
    var segments: [(UInt, Int)] = []
    for _ in 0..<Int.random(in: 1...6, using: &rng) {
      let page = basePage + UInt.random(in: 0..<12, using: &rng)
      let offset: UInt = pick([0, 0, 0, 1, 512, 4095, UInt.random(in: 0..<4096, using: &rng)])
      let length: Int =
        switch Int.random(in: 0..<16, using: &rng) {
        case 0..<4: Int.random(in: 1...16, using: &rng)
        case 4..<8: Int.random(in: 1...700, using: &rng)
        case 8..<12: 512 * Int.random(in: 1...4, using: &rng)
        case 12, 13: 4096 * Int.random(in: 1...2, using: &rng)
        default: Int.random(in: 1...9000, using: &rng)
        }
      segments.append((page * 4096 + offset, length))
    }
    // Physical frames: runs of contiguous frames, jumps, frames near 4 GiB,
    // and now and then a page of device memory (bus address, region 1).
    var table = ModelPageTable()
    var translator = IOVATableTranslator()
    var frame = UInt64.random(in: 0x10...0xF_FFFF, using: &rng)
    // One case in three maps the pages linearly, all RAM, and gives the
    // translator a window over some of them: the mapper translates inside it
    // by arithmetic and calls the table outside it.
    let linear = Int.random(in: 0..<3, using: &rng) == 0
    var window: TranslationWindow?
    if linear {
      let first = UInt.random(in: 0..<16, using: &rng)
      let end = UInt.random(in: (first + 1)...16, using: &rng)
      window = TranslationWindow(
        virtualAddress: (basePage + first) * 4096, count: (end - first) * 4096,
        deviceAddress: (frame + 1 + UInt64(first)) * 4096)
    }
    for vpage in basePage..<(basePage + 16) {
      if linear {
        frame += 1
        table.pages[vpage] = (frame, [], 0)
        try! translator.map(.init(virtualAddress: vpage * 4096, length: 4096, iova: frame * 4096))
        continue
      }
      switch Int.random(in: 0..<10, using: &rng) {
      case 0: frame = UInt64.random(in: 0..<(1 << 30), using: &rng)
      case 1: frame = 0xF_FFFE + UInt64.random(in: 0...2, using: &rng)  // around 4 GiB
      case 2: frame = frame &+ 2
      default: frame = frame &+ 1
      }
      let device = Int.random(in: 0..<12, using: &rng) == 0
      let flags: BioVecFlags = device ? .busAddress : []
      let region: UInt32 = device ? 1 : 0
      table.pages[vpage] = (frame, flags, region)
      try! translator.map(
        .init(virtualAddress: vpage * 4096, length: 4096, iova: frame * 4096, attributes: flags, region: region))
    }
    return LayoutCase(
      segments: segments, table: table, translator: translator, window: window, limits: limits,
      bounce: Int.random(in: 0..<3, using: &rng) == 0)
  }
}

/// The case's table, with its window (if any) offered to the mapper.
struct WindowedTranslator: PhysicalTranslator {
  var table: IOVATableTranslator
  var window: TranslationWindow?

  func translate(_ address: UInt, length: Int) throws(DMAError) -> PhysicalRun {
    try table.translate(address, length: length)
  }

  var translationWindow: TranslationWindow? { window }
}

/// Runs the mapper to the end (or the first error) and records what it made.
func mapAll(
  _ c: LayoutCase, extract: Bool
) -> (outcome: ModelOutcome, consistent: String?) {
  let list = UnsafeSegmentList(
    c.segments.map { IterSegment(base: UnsafeMutableRawPointer(bitPattern: $0.address), count: $0.length) })
  var iter = try! IovIter(list, direction: .source)
  var mapper = BioVecMapper(
    limits: c.limits, translator: WindowedTranslator(table: c.translator, window: c.window),
    misalignment: c.bounce ? .bounce : .fail)
  var request = BioVecRequest(for: c.limits)
  var requests: [ModelRequest] = []
  while true {
    let before = iter.count
    do throws(DMAError) {
      let more =
        extract
        ? try mapper.extractNextRequest(from: &iter, into: &request)
        : try mapper.mapNextRequest(from: &iter, into: &request)
      guard more else { break }
      if before - iter.count != request.byteCount {
        return (
          ModelOutcome(requests: requests), "iterator moved \(before - iter.count), request has \(request.byteCount)"
        )
      }
      requests.append(ModelRequest(chunks: request.array, end: request.end))
    } catch {
      if iter.count != before { return (ModelOutcome(requests: requests), "iterator moved on error") }
      return (ModelOutcome(requests: requests, error: error), nil)
    }
  }
  return (ModelOutcome(requests: requests, error: nil), nil)
}

/// Runs the mapper to the end in batches of `capacity` requests.
func mapAllBatched(_ c: LayoutCase, capacity: Int) -> (outcome: ModelOutcome, consistent: String?) {
  let list = UnsafeSegmentList(
    c.segments.map { IterSegment(base: UnsafeMutableRawPointer(bitPattern: $0.address), count: $0.length) })
  var iter = try! IovIter(list, direction: .source)
  var mapper = BioVecMapper(
    limits: c.limits, translator: WindowedTranslator(table: c.translator, window: c.window),
    misalignment: c.bounce ? .bounce : .fail)
  var batch = BioVecRequestBatch(requests: capacity, for: c.limits)
  var requests: [ModelRequest] = []
  while true {
    let before = iter.count
    do throws(DMAError) {
      let n = try mapper.mapNextRequests(from: &iter, into: &batch)
      guard n > 0 else { break }
      if n != batch.count || n > capacity {
        return (ModelOutcome(requests: requests), "\(n) requests, count \(batch.count)")
      }
      var total = 0
      for i in 0..<n {
        let chunks = batch.chunks(ofRequest: i)
        if chunks.reduce(0, { $0 + Int($1.length) }) != batch.byteCount(ofRequest: i) {
          return (ModelOutcome(requests: requests), "request \(i)'s chunks do not add up to its bytes")
        }
        total += batch.byteCount(ofRequest: i)
        requests.append(ModelRequest(chunks: chunks, end: batch.end(ofRequest: i)))
      }
      if before - iter.count != total || total != batch.byteCount {
        return (ModelOutcome(requests: requests), "iterator moved \(before - iter.count), batch has \(total)")
      }
    } catch {
      if iter.count != before { return (ModelOutcome(requests: requests), "iterator moved on error") }
      if batch.count != 0 { return (ModelOutcome(requests: requests), "batch not empty on error") }
      return (ModelOutcome(requests: requests, error: error), nil)
    }
  }
  return (ModelOutcome(requests: requests, error: nil), nil)
}

extension ModelOutcome {
  init(requests: [ModelRequest]) { self.init(requests: requests, error: nil) }
}

@Suite("BioVecMapper against the brute-force model")
struct BioVecModelTests {
  /// `ITER_BRIDGE_MODEL_CASES` (default 3,000; the report's 10^5 and more are
  /// run by hand with it).
  static var caseCount: Int {
    guard let raw = getenv("ITER_BRIDGE_MODEL_CASES") else { return 3_000 }
    return Int(String(cString: raw)) ?? 3_000
  }

  @Test func randomLayoutsMatchTheModel() {
    let seed = TestSeed.base
    var rng = SeededGenerator(seed: seed ^ 0xB10_7EC)
    var failures = 0
    var errors = 0
    var requests = 0
    for n in 0..<Self.caseCount {
      let c = LayoutCase.random(using: &rng)
      let expected = BioVecModel.run(segments: c.segments, table: c.table, limits: c.limits, bounce: c.bounce)
      let extract = n % 8 == 0
      let (got, problem) = mapAll(c, extract: extract)
      if problem != nil || got != expected {
        failures += 1
        if failures <= 3 {
          Issue.record(
            """
            case \(n) (ITER_TEST_SEED=\(seed), extract: \(extract)): \(problem ?? "differs")
            limits: \(c.limits) bounce: \(c.bounce)
            segments: \(c.segments.map { "0x\(String($0.address, radix: 16))+\($0.length)" })
            expected: \(expected.requests) error: \(String(describing: expected.error))
            got:      \(got.requests) error: \(String(describing: got.error))
            """)
        }
      }
      if expected.error != nil { errors += 1 }
      requests += expected.requests.count
    }
    #expect(failures == 0)
    print("model: \(Self.caseCount) layouts, \(requests) requests, \(errors) ending in a typed error")
  }

  /// Batches of 1 to 6 (and now and then 32) requests give the requests and
  /// the error the model gives, and move the iterator by their bytes.
  @Test func batchesMatchTheModel() {
    let seed = TestSeed.base
    var rng = SeededGenerator(seed: seed ^ 0xBA7C4)
    var failures = 0
    var batches = 0
    for n in 0..<Self.caseCount {
      let c = LayoutCase.random(using: &rng)
      let capacity = Int.random(in: 0..<8, using: &rng) == 0 ? 32 : Int.random(in: 1...6, using: &rng)
      let expected = BioVecModel.run(segments: c.segments, table: c.table, limits: c.limits, bounce: c.bounce)
      let (got, problem) = mapAllBatched(c, capacity: capacity)
      if problem != nil || got != expected {
        failures += 1
        if failures <= 3 {
          Issue.record(
            """
            case \(n) (ITER_TEST_SEED=\(seed), batches of \(capacity)): \(problem ?? "differs")
            limits: \(c.limits) bounce: \(c.bounce) window: \(String(describing: c.window))
            segments: \(c.segments.map { "0x\(String($0.address, radix: 16))+\($0.length)" })
            expected: \(expected.requests) error: \(String(describing: expected.error))
            got:      \(got.requests) error: \(String(describing: got.error))
            """)
        }
      }
      batches += 1
    }
    #expect(failures == 0)
  }
}
