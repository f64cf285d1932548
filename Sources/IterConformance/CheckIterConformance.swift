//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// How ``checkIterConformance(of:bytes:options:makeSource:)`` runs.
///
/// Sendable: plain values and `@Sendable` probes.
public struct ConformanceOptions: Sendable {
  /// Model operations per layout and direction.
  public var operationsPerRun: Int = 4_000
  /// The byte counts of the layouts the suite asks the factory for. The
  /// default covers empty, one-byte, small, page-crossing and 64 KiB buffers.
  public var sizes: [Int] = [0, 1, 7, 300, 4097, 20_000, 65_536]
  /// The base seed; the default is `ITER_TEST_SEED` from the environment, or 0.
  public var seed: UInt64 = TestSeed.base
  /// Shrink a failing model run to a minimal sequence (at most this many replays).
  public var shrinkBudget: Int = 400
  /// Counts the retentions the kind holds right now, if it can tell; the suite
  /// then checks that it goes up while an extraction that declares a
  /// retention is held (by 1, counting extractions, or by the pages listed,
  /// counting pages; it stays put for `.none`), and that every release returns
  /// the count to where it was.
  public var retentionProbe: (@Sendable () -> Int)? = nil
  /// Counts the holds on one page right now, if the kind can tell: for a
  /// page reference, the references the kind's page counter has on it; for a
  /// pin, the pins on it.
  ///
  /// While an extraction that declares `.pin` or `.pageReference` is held,
  /// the suite checks that each page it lists reads one more than before for
  /// each time it is listed, and that every page reads as before once the
  /// extraction is released; for `.none`, that nothing changed (for
  /// `.ownerReference`, which holds the owner and not the pages, it is not
  /// read). A kind that declares a pin is also checked against the kernel's
  /// own record of locked memory, with or without this probe (the page must
  /// be locked while held, and unlocked again after release if it was
  /// unlocked before): a pin is a lock, whatever the kind counts beside it.
  public var pageHoldProbe: (@Sendable (IterPage) -> Int)? = nil

  /// The defaults.
  public init() {}

  /// Whether the suite can read the kernel's lock flag in this process, and
  /// so checks every declared `.pin` against it.
  ///
  /// Found once, by locking a page of its own with `mlock(2)` and asking the
  /// kernel whether it is locked. It is `false` where `mlock(2)` is refused
  /// (`RLIMIT_MEMLOCK`, no `CAP_IPC_LOCK`), and where a runtime replaces
  /// `mlock(2)` with a call that locks nothing, as AddressSanitizer and
  /// ThreadSanitizer do: there a real pin cannot be told from a pin that locks
  /// nothing, so declared pins are checked only through ``retentionProbe`` and
  /// ``pageHoldProbe``.
  public static var kernelLockFlagIsObservable: Bool { _kernelLockFlagIsObservable }
}

/// Checks a buffer kind against the reference model and the contract of
/// `IterSegmentSource`, and reports every violation.
///
/// The suite asks `makeSource` for sources that describe given bytes (it
/// picks the bytes and a seed for the factory's own choices, such as where
/// segments begin), in every direction the kind supports, and checks:
///
/// - **segments**: no negative count or length, no total that overflows; no
///   segment without memory in a kind that can be a source; every segment's
///   bytes mapped readable (and writable, in a kind that can be a
///   destination), checked in `/proc/self/maps` before anything reads them.
/// - **bulk**: every run that `withContiguousSegments(from:_:)` hands over
///   holds at least one segment, ends by `segmentCount`, and agrees with
///   `segment(at:)` segment for segment (the cursor walks the run).
/// - **bytes**: the segments describe exactly the bytes asked for.
/// - **directions**: the kind supports a direction; a cursor can be built in
///   each supported direction, and
///   building one in an unsupported direction throws
///   `IterError.unsupportedDirection(_:kind:)`.
/// - **walk**: stepping over every segment boundary forwards and back lands
///   where the byte offsets say.
/// - **extraction**: the kind's `extractPages(at:maxBytes:maxPages:options:)`,
///   called directly before any model run, at the start, second byte, middle,
///   last byte and end of segments, with small limits (1 byte, a few, half of
///   what is left, all of it; 1, 2 and 3 pages), with and without `.retain`,
///   keeps its contract: at least 1 and at most `maxBytes` bytes, at most
///   `maxPages` pages, and a page list of the run (the first page used from
///   the offset, every later one from its start, every one but the last to
///   its end, each holding the bytes the layout puts there), as
///   `IterExtraction.contractViolation(of:at:maxBytes:maxPages:)` says. A
///   broken result is reported with the call, what was expected and what came
///   back; it never reaches the cursor, which would throw
///   `IterError.extractionContractViolated(kind:reason:)` for it. A kind that
///   declares `.none` for `.retain` may refuse `.retain` with
///   `IterError.extractionUnsupported`, if the refusal holds nothing.
/// - **retention**: each extraction holds what `retention(for:at:)` declares;
///   while it is held, ``ConformanceOptions/retentionProbe`` went up (by 1 or
///   by the pages listed) if and only if that is not `.none`, and each listed page gained one hold per
///   listing on ``ConformanceOptions/pageHoldProbe``, and for `.pin` the page
///   is locked, as the kernel records it; after the release, every reading is
///   back where it was.
/// - **determinism**: two cursors over the same source see the same segments.
/// - **model**: seeded random sequences of every cursor operation agree with a
///   flat-array model; a failure is shrunk to a minimal sequence.
///
/// ```swift
/// @Test func ringBufferConforms() {
///   let report = checkIterConformance(of: "RingBuffer", bytes: 4096) { bytes, seed in
///     RingBuffer(holding: bytes, wrappingAt: Int(seed % 4096))
///   }
///   report.recordIssues()     // or, from XCTest: report.assertClean()
/// }
/// ```
///
/// - Parameters:
///   - kind: A name for the report.
///   - bytes: The largest layout to ask for, in bytes (smaller default sizes are
///     used too); `nil` uses ``ConformanceOptions/sizes`` as they are.
///   - options: Operation counts, sizes, seed, shrinking and the retention probes.
///   - makeSource: Makes a source whose segments hold exactly `bytes`, in
///     order. `seed` is for the factory's own random choices.
/// - Returns: The report.
public func checkIterConformance<S: IterSegmentSource>(
  of kind: String, bytes: Int? = nil, options: ConformanceOptions = ConformanceOptions(),
  makeSource: (_ bytes: [UInt8], _ seed: UInt64) throws -> S
) -> ConformanceReport {
  var report = ConformanceReport(kind: kind)
  var sizes = options.sizes
  if let bytes { sizes = sizes.filter { $0 < bytes } + [bytes] }
  var rng = SeededGenerator(seed: options.seed ^ 0x1_7E2_C0DE)
  for (layoutIndex, size) in sizes.enumerated() {
    let layoutSeed = rng.next()
    let bytes = seededBytes(size, seed: layoutSeed)
    let context = "\(size)-byte layout #\(layoutIndex)"
    var layout: FlatLayout? = nil
    func violation(_ check: String, _ message: String, seed: UInt64? = layoutSeed, sequence: [String] = []) {
      // Addresses relative to the layout, so that a rerun with the seed prints the same report.
      let text = layout?.relativized(message) ?? message
      report.violations.append(
        .init(check: check, context: context, message: text, seed: seed, minimalSequence: sequence))
    }
    let source: S
    do {
      source = try makeSource(bytes, layoutSeed)
    } catch {
      violation("factory", "makeSource threw \(error)")
      continue
    }
    report.layoutsChecked += 1
    guard checkStructure(source, bytes: bytes, violation: { violation($0, $1) }) else { continue }
    layout = FlatLayout(source)
    for direction in [IterDirection.source, .destination] {
      let supported = source.supportedDirections.supports(direction)
      do {
        _ = try IovIter(source, direction: direction)
        if !supported {
          violation("directions", "a \(direction) cursor was built although the kind does not support \(direction)")
        }
      } catch let error {
        if supported {
          violation("directions", "building a \(direction) cursor threw \(error)")
        } else if error != .unsupportedDirection(direction, kind: source.memoryKind) {
          violation(
            "directions", "building an unsupported \(direction) cursor threw \(error), not unsupportedDirection")
        }
      }
    }
    let directions = [IterDirection.source, .destination].filter { source.supportedDirections.supports($0) }
    if directions.isEmpty {
      // Nothing could be checked, and no cursor can ever be built over it.
      violation(
        "directions", "supportedDirections is empty: no cursor can be built over the kind, so nothing was checked")
      continue
    }
    checkWalk(source, directions: directions, violation: { violation($0, $1) })
    if !directions.isEmpty {
      let layout = FlatLayout(source)
      for finding in probeExtraction(
        source, layout: layout, retentionProbe: options.retentionProbe, pageHoldProbe: options.pageHoldProbe)
      {
        violation(finding.check, "\(finding.message); layout: \(layout.summary)")
      }
    }
    // A kind that already broke a contract would only trap or mislead the model.
    if report.violations.contains(where: { $0.context == context }) { continue }
    for direction in directions {
      let runSeed = rng.next()
      let outcome = runModel(
        makeSource: { try makeSource(bytes, layoutSeed) }, direction: direction, operations: options.operationsPerRun,
        seed: runSeed, probe: options.retentionProbe, shrinkBudget: options.shrinkBudget)
      report.operationsRun += outcome.operationsRun
      if let failure = outcome.failure {
        violation(
          "model", "\(direction): \(failure.message) at step \(failure.step)", seed: runSeed, sequence: failure.sequence
        )
      }
      if direction == .destination, !bytes.isEmpty, let fresh = try? makeSource(bytes, layoutSeed) {
        // Leave the caller's memory as it was asked for, for any later check.
        FlatLayout(fresh).write(bytes)
      }
    }
  }
  return report
}

/// Checks a single source the caller built.
///
/// Use this for a kind whose sources cannot be rebuilt on demand. The suite
/// writes the bytes it checks against into the source's memory (through its
/// segments) before every run, so the memory's old contents are lost.
public func checkIterConformance<S: IterSegmentSource>(
  of kind: String, source: S, options: ConformanceOptions = ConformanceOptions()
) -> ConformanceReport {
  let layout = FlatLayout(source)
  var single = options
  single.sizes = [layout.total]
  let maps = MappedMemory()
  let writable = layout.pieces.allSatisfy { p in
    p.base == nil || maps.problem(address: p.address, count: p.length, write: true) == nil
  }
  return checkIterConformance(of: kind, bytes: nil, options: single) { bytes, _ in
    // Memory the suite cannot write is left as it is, for the structure check to report.
    if bytes.count == layout.total && writable { layout.write(bytes) }
    return source
  }
}

// MARK: - Structure, walk, extraction

private func checkStructure<S: IterSegmentSource>(
  _ source: S, bytes: [UInt8], violation: (String, String) -> Void
) -> Bool {
  var ok = true
  let canRead = source.supportedDirections.supports(.source)
  if source.segmentCount < 0 {
    violation("segments", "segmentCount is negative (\(source.segmentCount))")
    return false
  }
  var total = 0
  for i in 0..<source.segmentCount {
    let segment = source.segment(at: i)
    if segment.count < 0 {
      violation("segments", "segment \(i) has a negative length \(segment.count)")
      ok = false
    } else if total.addingReportingOverflow(segment.count).overflow {
      violation("segments", "segment \(i) of \(segment.count) bytes overflows the total of the \(total) before it")
      return false
    } else if !segment.hasMemory && segment.count > 0 && canRead {
      violation("segments", "segment \(i) has no memory but the kind can be a source")
      ok = false
    }
    total = max(0, total &+ segment.count)
  }
  guard ok else { return false }
  // The cursor walks a kind's bulk runs instead of calling segment(at:):
  // they must agree before any cursor is built.
  guard checkBulkAccess(source, violation: violation) else { return false }
  // Everything after this reads (and for a destination writes) through the
  // segments: a wild address must be a report, not the end of the process.
  let maps = MappedMemory()
  let write = source.supportedDirections.supports(.destination)
  for i in 0..<source.segmentCount {
    let segment = source.segment(at: i)
    guard segment.hasMemory,
      let problem = maps.problem(address: segment.address, count: segment.count, write: write)
    else { continue }
    violation(
      "segments",
      "segment \(i) (\(segment.count) bytes) is not memory the suite can "
        + "\(write ? "read and write" : "read"): \(problem)")
    return false
  }
  let layout = FlatLayout(source)
  guard layout.total == bytes.count else {
    violation("bytes", "the segments hold \(layout.total) bytes, \(bytes.count) were asked for")
    return false
  }
  // A destination-only kind's memory must hold the bytes too: the factory
  // wrote them, and a segment at a wrong address shows here, not in the model.
  if !layout.hasMemorylessPieces {
    let held = layout.read()
    if held != bytes {
      let k = zip(held, bytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
      violation("bytes", "byte \(k) is \(held[k]), \(bytes[k]) was asked for")
      return false
    }
  }
  return true
}

/// Checks that the run `withContiguousSegments(from:_:)` hands over from
/// every index agrees with `segment(at:)`: not empty, not past
/// `segmentCount`, and segment for segment the same. Runs from the first
/// index, and from every index in a source of at most 512 segments, are
/// compared whole; elsewhere their first 16 segments are, and a whole run
/// every 64 indices, to keep the check linear in practice.
private func checkBulkAccess<S: IterSegmentSource>(
  _ source: S, violation: (String, String) -> Void
) -> Bool {
  let n = source.segmentCount
  for i in 0..<n {
    let problem: String?? = unsafe source.withContiguousSegments(from: i) { (run) -> String? in
      if run.isEmpty { return "the bulk run from segment \(i) is empty: hand at least one segment, or nil" }
      if run.count > n - i {
        return "the bulk run from segment \(i) holds \(run.count) segments, past segmentCount (\(n))"
      }
      let whole = n <= 512 || i == 0 || i % 64 == 0
      for k in 0..<(whole ? run.count : min(run.count, 16)) {
        let expected = source.segment(at: i + k)
        if unsafe run[k] != expected {
          return "the bulk run from segment \(i) holds \(unsafe run[k]) at segment \(i + k), "
            + "where segment(at:) gives \(expected)"
        }
      }
      return nil
    }
    if case .some(.some(let message)) = problem {
      violation("bulk", message)
      return false
    }
  }
  return true
}

private func checkWalk<S: IterSegmentSource>(
  _ source: S, directions: [IterDirection], violation: (String, String) -> Void
) {
  guard let direction = directions.first, var iter = try? IovIter(source, direction: direction) else { return }
  let layout = FlatLayout(source)
  var again = try? IovIter(source, direction: direction)
  // Forwards over every boundary, then back.
  var offsets: [Int] = []
  for p in layout.pieces { offsets.append(p.start + p.length) }
  var at = 0
  for end in offsets {
    do {
      try iter.advance(by: end - at)
      at = end
      let p = iter.position
      let byte = layout.segmentStarts[max(0, min(p.segmentIndex, layout.segmentStarts.count - 1))] + p.offset
      if byte != at {
        violation("walk", "after advancing to byte \(at) the cursor stands at byte \(byte)")
        return
      }
    } catch {
      violation("walk", "advance threw \(error)")
      return
    }
  }
  for start in layout.pieces.map(\.start).reversed() {
    do {
      try iter.revert(by: at - start)
      at = start
      let p = iter.position
      let byte = layout.segmentStarts[max(0, min(p.segmentIndex, layout.segmentStarts.count - 1))] + p.offset
      if byte != at || iter.count != layout.total - at {
        violation("walk", "after reverting to byte \(at) the cursor stands at byte \(byte) with \(iter.count) left")
        return
      }
    } catch {
      violation("walk", "revert to byte \(start) threw \(error)")
      return
    }
  }
  // Determinism: a second cursor sees the same chunks.
  var first: [Int] = []
  var second: [Int] = []
  _ = iter.iterateAndAdvance(maxCount: .max) { chunk, _ in
    first.append(chunk.count)
    return chunk.count
  }
  _ = again?.iterateAndAdvance(maxCount: .max) { chunk, _ in
    second.append(chunk.count)
    return chunk.count
  }
  if first != second {
    violation(
      "determinism", "two cursors over the same source saw different chunks: \(first.prefix(8)) vs \(second.prefix(8))")
  }
}
