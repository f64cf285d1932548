//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterConformance
import IterCore
import Testing

/// Deliberately broken buffer kinds: the suite must report each one, under
/// the check that its bug breaks. (Bugs that live in the cursor itself, such
/// as a wrong count after truncate or a reordered gather export, cannot be
/// written by a kind: the kind only describes segments, and the cursor,
/// written once, does the rest.)
@Suite("The suite catches broken kinds")
struct BrokenKindTests {
  static let options: ConformanceOptions = {
    var o = ConformanceOptions()
    o.operationsPerRun = 600
    o.sizes = [1, 300, 5000]
    return o
  }()

  /// A correct kind over a StaccatoSource, with one method overridable to break it.
  struct Kind: IterSegmentSource {
    var inner: StaccatoSource
    var segmentHook: (Int, IterSegment) -> IterSegment = { $1 }
    var countHook: (Int) -> Int = { $0 }
    var directions: IterDirections = .both
    var retentionKind: IterRetentionKind = .none
    var extract: ((Kind, IterPosition, Int, Int) throws(IterError) -> IterExtraction)? = nil

    var segmentCount: Int { countHook(inner.segmentCount) }
    func segment(at index: Int) -> IterSegment {
      segmentHook(index, index < inner.segmentCount ? inner.segment(at: index) : IterSegment(base: nil, count: 0))
    }
    var supportedDirections: IterDirections { directions }
    func retention(for options: IterExtractionOptions) -> IterRetentionKind { retentionKind }
    func extractPages(
      at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
    )
      throws(IterError) -> IterExtraction
    {
      if let extract { return try extract(self, position, maxBytes, maxPages) }
      return try IterExtraction.singleSegmentRun(of: self, at: position, maxBytes: maxBytes, maxPages: maxPages) {
        _, _ throws(IterError) in IterRetention()
      }
    }
  }

  func check(
    _ name: String, options: ConformanceOptions = BrokenKindTests.options, _ make: @escaping (StaccatoSource) -> Kind
  )
    -> ConformanceReport
  {
    checkIterConformance(of: name, options: options) { bytes, seed in
      make(StaccatoSource(contents: bytes, seed: seed, gaps: Int(seed % 3) * 16))
    }
  }

  @Test func correctKindIsClean() {
    let report = check("correct") { Kind(inner: $0) }
    #expect(report.isClean, "\(report)")
    #expect(report.layoutsChecked == 3 && report.operationsRun == 3 * 2 * 600)
  }

  @Test func offByOneLengthIsReported() {
    let report = check("off-by-one") { inner in
      var kind = Kind(inner: inner)
      let last = inner.segmentCount - 1
      kind.segmentHook = { index, s in index == last ? IterSegment(base: s.base, count: s.count + 1) : s }
      return kind
    }
    #expect(report.violates("bytes"), "\(report)")
    #expect(report.violations.first?.message.contains("bytes, ") == true)
  }

  @Test func segmentsOutOfOrderAreReported() {
    let report = check("reordered") { inner in
      var kind = Kind(inner: inner)
      let n = inner.segmentCount
      kind.segmentHook = { index, _ in inner.segment(at: n - 1 - index) }
      return kind
    }
    #expect(report.violates("bytes"), "\(report)")
  }

  @Test func negativeLengthIsReported() {
    let report = check("negative") { inner in
      var kind = Kind(inner: inner)
      kind.countHook = { $0 + 1 }
      kind.segmentHook = { index, s in index == inner.segmentCount ? IterSegment(base: nil, count: -4) : s }
      return kind
    }
    #expect(report.violates("segments"), "\(report)")
    #expect(report.violations.allSatisfy { $0.message.contains("negative length -4") })
  }

  @Test func memorylessSegmentInAReadableKindIsReported() {
    let report = check("memoryless") { inner in
      var kind = Kind(inner: inner)
      kind.countHook = { $0 + 1 }
      kind.segmentHook = { index, s in index == inner.segmentCount ? IterSegment(base: nil, count: 3) : s }
      return kind
    }
    #expect(report.violates("segments"), "\(report)")
  }

  /// Each call of segment(at:) for the same index gives another length: the
  /// cursor steps back over a different segment than it stepped over.
  @Test func segmentThatChangesBetweenCallsIsReported() {
    final class Calls: @unchecked Sendable { var n = 0 }
    let calls = Calls()
    let report = check("unstable") { inner in
      var kind = Kind(inner: inner)
      kind.segmentHook = { index, s in
        calls.n += 1
        guard calls.n > 4000, s.count > 1 else { return s }
        return IterSegment(base: s.base, count: s.count - (calls.n % 2))
      }
      return kind
    }
    #expect(!report.isClean, "\(report)")
    // The extraction probe reads every segment of each run it checks, so a
    // length that changes between calls may show there first.
    #expect(
      report.violates("model") || report.violates("walk") || report.violates("bytes") || report.violates("determinism")
        || report.violates("extraction"), "\(report)")
  }

  @Test func wrongRetentionKindIsReported() {
    let report = check("pin-liar") { inner in
      var kind = Kind(inner: inner)
      kind.retentionKind = .pin
      return kind
    }
    #expect(report.violates("retention"), "\(report)")
    #expect(report.violations.contains { $0.message.contains("retention(for:at:) says pin") })
  }

  final class Holds: @unchecked Sendable {
    var held = 0
  }

  func retainingKind(_ holds: Holds, release: @escaping @Sendable (Holds) -> Void) -> ConformanceReport {
    var options = BrokenKindTests.options
    options.retentionProbe = { holds.held }
    return check("retaining", options: options) { inner in
      var kind = Kind(inner: inner)
      kind.retentionKind = .ownerReference
      kind.extract = { kind, position, maxBytes, maxPages throws(IterError) in
        try IterExtraction.singleSegmentRun(of: kind, at: position, maxBytes: maxBytes, maxPages: maxPages) {
          _, _ throws(IterError) in
          holds.held += 1
          return IterRetention(kind: .ownerReference) { release(holds) }
        }
      }
      return kind
    }
  }

  @Test func correctRetentionIsClean() {
    let report = retainingKind(Holds()) { $0.held -= 1 }
    #expect(report.isClean, "\(report)")
  }

  @Test func retentionReleasedTwiceIsReported() {
    let report = retainingKind(Holds()) { $0.held -= 2 }
    #expect(report.violates("retention"), "\(report)")
    #expect(report.violations.contains { $0.message.contains("retentions held") })
  }

  @Test func retentionNeverReleasedIsReported() {
    let report = retainingKind(Holds()) { _ in }
    #expect(report.violates("retention"), "\(report)")
  }

  @Test func extractionOverTwoSegmentsThatAreNotContiguousIsReported() {
    let report = check("greedy-extract") { inner in
      var kind = Kind(inner: inner)
      kind.extract = { kind, position, maxBytes, maxPages throws(IterError) in
        // Claims the whole rest of the buffer as one run, across segment gaps.
        let s = kind.segment(at: position.segmentIndex)
        let start = s.address + UInt(position.offset)
        let offset = Int(start & UInt(IterPage.size - 1))
        let pages = min(maxPages, (offset + maxBytes + IterPage.size - 1) / IterPage.size)
        let count = min(maxBytes, pages * IterPage.size - offset)
        return IterExtraction(
          pages: (0..<pages).map { IterPage(address: start - UInt(offset) + UInt($0 * IterPage.size)) },
          offset: offset, count: count, retention: IterRetention())
      }
      return kind
    }
    #expect(report.violates("extraction"), "\(report)")
    #expect(report.violations.contains { $0.message.contains("not a page list of the run") })
  }

  /// An extraction that lists every page one page too high.
  static func shiftedPages(
    _ kind: Kind, _ position: IterPosition, _ maxBytes: Int, _ maxPages: Int
  )
    throws(IterError) -> IterExtraction
  {
    let right = try IterExtraction.singleSegmentRun(of: kind, at: position, maxBytes: maxBytes, maxPages: maxPages) {
      _, _ throws(IterError) in IterRetention()
    }
    return IterExtraction(
      pages: right.pages.map { IterPage(address: $0.address + UInt(IterPage.size)) }, offset: right.offset,
      count: right.count, retention: IterRetention())
  }

  @Test func extractionWithWrongPagesIsReported() {
    let report = check("shifted-pages") { inner in
      var kind = Kind(inner: inner)
      kind.extract = BrokenKindTests.shiftedPages
      return kind
    }
    #expect(report.violates("extraction"), "\(report)")
    #expect(report.violations.contains { $0.message.contains("not a page list of the run") })
  }

  @Test func extractionOverReportingIsReportedNotTrapped() {
    let report = check("over-report") { inner in
      var kind = Kind(inner: inner)
      kind.extract = { kind, position, maxBytes, maxPages throws(IterError) in
        let right = try IterExtraction.singleSegmentRun(of: kind, at: position, maxBytes: maxBytes, maxPages: maxPages)
        {
          _, _ throws(IterError) in IterRetention()
        }
        return IterExtraction(pages: right.pages, offset: right.offset, count: maxBytes + 1, retention: IterRetention())
      }
      return kind
    }
    #expect(report.violates("extraction"), "\(report)")
  }

  @Test func factoryThatIgnoresTheBytesIsReported() {
    let report = checkIterConformance(of: "zeros", options: BrokenKindTests.options) { bytes, _ in
      StaccatoSource(contents: [UInt8](repeating: 0, count: bytes.count), segmentSizes: [bytes.count])
    }
    #expect(report.violates("bytes"), "\(report)")
  }

  @Test func unsupportedDirectionThatBuildsIsReported() {
    // Claims to be destination-only, but a source cursor over it is refused
    // by the cursor itself; the suite checks the refusal names the direction.
    let report = check("dest-only") { inner in
      var kind = Kind(inner: inner)
      kind.directions = .destination
      return kind
    }
    #expect(report.isClean, "\(report)")
  }

  @Test func modelFailureCarriesSeedAndMinimalSequence() {
    // Segments that shrink after enough calls make the model diverge at some
    // step; the report carries the seed and a shrunk sequence.
    final class Calls: @unchecked Sendable { var n = 0 }
    let calls = Calls()
    var options = BrokenKindTests.options
    options.sizes = [5000]
    let report = checkIterConformance(of: "drifting", options: options) { bytes, seed in
      let inner = StaccatoSource(contents: bytes, seed: seed)
      var kind = Kind(inner: inner)
      kind.segmentHook = { _, s in
        calls.n += 1
        return calls.n > 1_500 && s.count > 2 ? IterSegment(base: s.base, count: s.count - 1) : s
      }
      return kind
    }
    let model = report.violations.first { $0.check == "model" }
    #expect(model != nil, "\(report)")
    #expect(model?.seed != nil)
    #expect(model.map { !$0.minimalSequence.isEmpty } == true)
  }
}
