//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterConformance
import IterCore
import Testing

/// Kinds whose bulk segment access (`withContiguousSegments(from:_:)`) breaks
/// its contract in the ways an outside kind realistically does: the suite
/// must report each one under `bulk`, before any cursor walks the bad run.
@Suite("The suite catches broken bulk access")
struct BrokenBulkTests {
  /// A kind over a StaccatoSource that hands over, from `index`, the run
  /// `run(index, segments)` returns (`nil`: no bulk access there).
  struct Kind: IterSegmentSource {
    var inner: StaccatoSource
    var run: (Int, [IterSegment]) -> [IterSegment]?

    var segmentCount: Int { inner.segmentCount }
    func segment(at index: Int) -> IterSegment { inner.segment(at: index) }
    func withContiguousSegments<R, E: Error>(
      from index: Int, _ body: (UnsafeBufferPointer<IterSegment>) throws(E) -> R
    ) throws(E) -> R? {
      let all = (0..<inner.segmentCount).map { inner.segment(at: $0) }
      guard let segments = run(index, all) else { return nil }
      return try segments.withUnsafeBufferPointer { (buffer) throws(E) -> R in try body(buffer) }
    }
  }

  func check(_ name: String, _ run: @escaping (Int, [IterSegment]) -> [IterSegment]?) -> ConformanceReport {
    checkIterConformance(of: name, options: BrokenKindTests.options) { bytes, seed in
      Kind(inner: StaccatoSource(contents: bytes, seed: seed, gaps: Int(seed % 3) * 16), run: run)
    }
  }

  @Test func correctRunsAreClean() {
    let report = check("whole runs") { index, all in Array(all[index...]) }
    #expect(report.isClean, "\(report)")
    #expect(report.operationsRun == 3 * 2 * 600)
  }

  /// Short runs (one to three segments) and no run at every fifth index are
  /// within the contract: the cursor asks again, or falls back.
  @Test func shortAndMissingRunsAreClean() {
    let report = check("short runs") { index, all in
      index % 5 == 4 ? nil : Array(all[index..<min(all.count, index + 1 + index % 3)])
    }
    #expect(report.isClean, "\(report)")
  }

  @Test func runStartingAtTheWrongIndexIsReported() {
    let report = check("off by one") { index, all in Array(all[max(0, index - 1)...]) }
    #expect(report.violates("bulk"), "\(report)")
    #expect(!report.violates("model"), "the model never ran over the bad runs: \(report)")
  }

  @Test func runFromTheStartWhateverTheIndexIsReported() {
    let report = check("always from 0") { _, all in all }
    #expect(report.violates("bulk"), "\(report)")
  }

  @Test func emptyRunIsReported() {
    let report = check("empty") { _, _ in [] }
    #expect(report.violates("bulk"), "\(report)")
    #expect(report.violations.contains { $0.message.contains("is empty") })
  }

  @Test func runPastSegmentCountIsReported() {
    let report = check("too long") { index, all in
      Array(all[index...]) + [IterSegment(base: all.last?.base, count: 1)]
    }
    #expect(report.violates("bulk"), "\(report)")
    #expect(report.violations.contains { $0.message.contains("past segmentCount") })
  }

  @Test func runWithANegativeLengthIsReported() {
    let report = check("negative") { index, all in
      var run = Array(all[index...])
      run[run.count - 1].count = -1
      return run
    }
    #expect(report.violates("bulk"), "\(report)")
    #expect(report.violations.contains { $0.message.contains("+-1") })
  }
}
