//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// How ``checkIterConformance(of:bytes:options:makeSource:)`` runs.
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
  /// then checks that every release returns the count to where it was.
  public var retentionProbe: (@Sendable () -> Int)? = nil

  /// The defaults.
  public init() {}
}

/// Checks a buffer kind against the reference model and the contract of
/// `IterSegmentSource`, and reports every violation.
///
/// The suite asks `makeSource` for sources that describe given bytes (it
/// picks the bytes and a seed for the factory's own choices, such as where
/// segments begin), in every direction the kind supports, and checks:
///
/// - **segments**: no negative length; no segment without memory in a kind
///   that can be a source.
/// - **bytes**: the segments describe exactly the bytes asked for.
/// - **directions**: a cursor can be built in each supported direction, and
///   building one in an unsupported direction throws
///   `IterError.unsupportedDirection(_:kind:)`.
/// - **walk**: stepping over every segment boundary forwards and back lands
///   where the byte offsets say.
/// - **extraction**: the kind's `extractPages(at:maxBytes:maxPages:options:)`
///   keeps its contract at every position (at most the bytes and pages
///   allowed, a page list of the run: the first page used from the offset,
///   every later one from its start, every one but the last to its end, each
///   holding the bytes the layout puts there; the retention it declares,
///   released exactly once when a probe is given). A kind that declares
///   `.none` for `.retain` may refuse `.retain` with
///   `IterError.extractionUnsupported`, if the refusal moves and holds nothing.
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
///   - options: Operation counts, sizes, seed, shrinking and a retention probe.
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
    func violation(_ check: String, _ message: String, seed: UInt64? = layoutSeed, sequence: [String] = []) {
      report.violations.append(.init(check: check, context: context, message: message, seed: seed, minimalSequence: sequence))
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
          violation("directions", "building an unsupported \(direction) cursor threw \(error), not unsupportedDirection")
        }
      }
    }
    let directions = [IterDirection.source, .destination].filter { source.supportedDirections.supports($0) }
    checkWalk(source, directions: directions, violation: { violation($0, $1) })
    checkExtraction(source, directions: directions, probe: options.retentionProbe, violation: { violation($0, $1) })
    // A kind that already broke a contract would only trap or mislead the model.
    if report.violations.contains(where: { $0.context == context }) { continue }
    for direction in directions {
      let runSeed = rng.next()
      let outcome = runModel(
        makeSource: { try makeSource(bytes, layoutSeed) }, direction: direction, operations: options.operationsPerRun,
        seed: runSeed, probe: options.retentionProbe, shrinkBudget: options.shrinkBudget)
      report.operationsRun += outcome.operationsRun
      if let failure = outcome.failure {
        violation("model", "\(direction): \(failure.message) at step \(failure.step)", seed: runSeed, sequence: failure.sequence)
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
  return checkIterConformance(of: kind, bytes: nil, options: single) { bytes, _ in
    if bytes.count == layout.total { layout.write(bytes) }
    return source
  }
}

// MARK: - Structure, walk, extraction

private func checkStructure<S: IterSegmentSource>(
  _ source: S, bytes: [UInt8], violation: (String, String) -> Void
) -> Bool {
  var ok = true
  let canRead = source.supportedDirections.supports(.source)
  for i in 0..<max(0, source.segmentCount) {
    let segment = source.segment(at: i)
    if segment.count < 0 {
      violation("segments", "segment \(i) has a negative length \(segment.count)")
      ok = false
    } else if !segment.hasMemory && segment.count > 0 && canRead {
      violation("segments", "segment \(i) has no memory but the kind can be a source")
      ok = false
    }
  }
  guard ok else { return false }
  let layout = FlatLayout(source)
  guard layout.total == bytes.count else {
    violation("bytes", "the segments hold \(layout.total) bytes, \(bytes.count) were asked for")
    return false
  }
  if canRead && !layout.hasMemorylessPieces {
    let held = layout.read()
    if held != bytes {
      let k = zip(held, bytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
      violation("bytes", "byte \(k) is \(held[k]), \(bytes[k]) was asked for")
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
      let byte = layout.segmentStarts[min(p.segmentIndex, layout.segmentStarts.count - 1)] + p.offset
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
      let byte = layout.segmentStarts[p.segmentIndex] + p.offset
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
  _ = iter.iterateAndAdvance(maxCount: .max) { chunk, _ in first.append(chunk.count); return chunk.count }
  _ = again?.iterateAndAdvance(maxCount: .max) { chunk, _ in second.append(chunk.count); return chunk.count }
  if first != second {
    violation("determinism", "two cursors over the same source saw different chunks: \(first.prefix(8)) vs \(second.prefix(8))")
  }
}

private func checkExtraction<S: IterSegmentSource>(
  _ source: S, directions: [IterDirection], probe: (@Sendable () -> Int)?, violation: (String, String) -> Void
) {
  let layout = FlatLayout(source)
  guard !directions.isEmpty else { return }
  // Call the kind's own extraction at the start of every piece and mid-way in
  // it, so that a broken run is reported here instead of trapping in the cursor.
  for options in [IterExtractionOptions(), [.retain]] {
    for p in layout.pieces.prefix(64) {
      guard let segmentIndex = layout.segmentStarts.firstIndex(where: { $0 == p.start }).map({ idx -> Int in
        var i = idx
        while i < source.segmentCount && source.segment(at: i).count == 0 { i += 1 }
        return i
      }) else { continue }
      for skip in Set([0, p.length / 2]) where skip < p.length {
        let maxBytes = layout.total - p.start - skip
        let held = probe?()
        do {
          let result = try source.extractPages(
            at: IterPosition(segmentIndex: segmentIndex, offset: skip), maxBytes: maxBytes, maxPages: 3, options: options)
          let declared = (try? source.retention(for: options, at: IterPosition(segmentIndex: segmentIndex, offset: skip))) ?? .none
          if let problem = extractionProblem(result, at: p.start + skip, maxBytes: maxBytes, layout: layout, declared: declared) {
            violation("extraction", problem)
            return
          }
          result.release()
        } catch {
          // A kind that holds nothing may refuse `.retain` with `extractionUnsupported`.
          if options.contains(.retain), case IterError.extractionUnsupported = error,
            (try? source.retention(for: options, at: IterPosition(segmentIndex: segmentIndex, offset: skip))) == IterRetentionKind.none
          {
            if let held, let probe, probe() != held {
              violation("extraction", "a refused extraction left \(probe()) retentions held, \(held) before")
              return
            }
            continue
          }
          if p.base != nil {
            violation("extraction", "extractPages at byte \(p.start + skip) threw \(error)")
            return
          }
          continue
        }
        if let held, let probe, probe() != held {
          violation("extraction", "releasing an extraction left \(probe()) retentions held, \(held) before")
          return
        }
      }
    }
  }
}

/// What is wrong with an extraction the kind made at logical byte `at`, if anything.
private func extractionProblem(
  _ result: borrowing IterExtraction, at: Int, maxBytes: Int, layout: FlatLayout, declared: IterRetentionKind
) -> String? {
  if !layout.hasMemory(at) { return "extractPages listed pages for bytes without memory" }
  let n = result.count
  if n < 1 || n > maxBytes || result.pages.count > 3 {
    return "extractPages at byte \(at) gave \(n) bytes in \(result.pages.count) pages; allowed 1...\(maxBytes) bytes in 3 pages"
  }
  if let problem = layout.pageListProblem(pages: result.pages, offset: result.offset, count: n, from: at) {
    return "the pages extracted at byte \(at) are not a page list of the run: \(problem)"
  }
  if result.retentionKind != declared {
    return "extraction holds \(result.retentionKind) but retention(for:at:) says \(declared)"
  }
  return nil
}
