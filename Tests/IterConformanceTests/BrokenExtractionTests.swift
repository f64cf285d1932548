//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterConformance
import IterCore
import Testing

/// The right run from `position` (one segment, as the default), with `hold` taken on it.
func rightRun(
  _ kind: BrokenKindTests.Kind, _ position: IterPosition, _ maxBytes: Int, _ maxPages: Int,
  hold: @escaping (UInt, Int) -> IterRetention = { _, _ in IterRetention() }
) throws(IterError) -> IterExtraction {
  try IterExtraction.singleSegmentRun(of: kind, at: position, maxBytes: maxBytes, maxPages: maxPages) {
    start, count throws(IterError) in hold(start, count)
  }
}

/// The first violation of `check`, or a failed expectation that prints the report.
func firstViolation(_ report: ConformanceReport, _ check: String) -> ConformanceReport.Violation? {
  let found = report.violations.first { $0.check == check }
  #expect(found != nil, "no \(check) violation in \(report)")
  return found
}

/// Kinds whose extraction breaks its contract in the ways people get it
/// wrong: every one is reported under `extraction`, with the call, what was
/// expected and what came back, and none of them traps the suite or a cursor.
@Suite("Broken extraction is a report, never a crash")
struct BrokenExtractionTests {
  func check(
    _ name: String,
    extract: @escaping (BrokenKindTests.Kind, IterPosition, Int, Int) throws(IterError) -> IterExtraction
  ) -> ConformanceReport {
    BrokenKindTests().check(name) { inner in
      var kind = BrokenKindTests.Kind(inner: inner)
      kind.extract = extract
      return kind
    }
  }

  @Test func ignoringMaxBytesIsReported() throws {
    let report = check("ignores-maxBytes") { kind, position, _, maxPages throws(IterError) in
      try rightRun(kind, position, .max, maxPages)
    }
    let v = try #require(firstViolation(report, "extraction"))
    #expect(v.message.contains("maxBytes: 1, maxPages: 1"), "\(v)")
    #expect(v.message.contains("broke its limits: it gave"), "\(v)")
    #expect(v.message.contains("allowed 1...1"), "\(v)")
    #expect(!report.violates("model"))
  }

  @Test func ignoringMaxPagesIsReported() throws {
    let report = check("ignores-maxPages") { kind, position, maxBytes, _ throws(IterError) in
      try rightRun(kind, position, maxBytes, .max)
    }
    let v = try #require(firstViolation(report, "extraction"))
    #expect(v.message.contains("maxPages: 1,"), "\(v)")
    #expect(v.message.contains("broke its limits: it listed 2 pages; allowed at most 1"), "\(v)")
  }

  /// Stands at the end of a segment and answers as if the buffer ended there.
  @Test func nothingAtTheEndOfASegmentIsReported() throws {
    let report = check("empty-at-segment-end") { kind, position, maxBytes, maxPages throws(IterError) in
      if position.offset == kind.segment(at: position.segmentIndex).count { return .empty }
      return try rightRun(kind, position, maxBytes, maxPages)
    }
    let v = try #require(firstViolation(report, "extraction"))
    #expect(v.message.contains("it gave 0 bytes"), "\(v)")
    #expect(v.message.contains("count 0"), "\(v)")
  }

  /// Stands at the end of a segment and lists the byte one past it.
  @Test func listingPastTheEndOfASegmentIsReported() throws {
    let report = check("past-segment-end") { kind, position, maxBytes, maxPages throws(IterError) in
      let segment = kind.segment(at: position.segmentIndex)
      guard position.offset == segment.count, segment.count > 0 else {
        return try rightRun(kind, position, maxBytes, maxPages)
      }
      let end = segment.address + UInt(segment.count)
      return IterExtraction(
        pages: [IterPage(containing: end)], offset: Int(end % UInt(IterPage.size)), count: 1, retention: IterRetention()
      )
    }
    let v = try #require(firstViolation(report, "extraction"))
    #expect(v.message.contains("not a page list of the run"), "\(v)")
  }

  /// Offset 0 in the first page, wherever the run starts.
  @Test func wrongFirstOffsetIsReported() throws {
    let report = check("offset0-zero") { kind, position, maxBytes, maxPages throws(IterError) in
      let right = try rightRun(kind, position, maxBytes, maxPages)
      return IterExtraction(pages: right.pages, offset: 0, count: right.count, retention: IterRetention())
    }
    let v = try #require(firstViolation(report, "extraction"))
    #expect(v.message.contains(", offset 0, count"), "\(v)")
    #expect(v.message.contains("expected 1..."), "\(v)")
  }

  /// The first page listed again in place of the second.
  @Test func pageListedTwiceIsReported() throws {
    let report = check("page-twice") { kind, position, maxBytes, maxPages throws(IterError) in
      let right = try rightRun(kind, position, maxBytes, maxPages)
      guard right.pages.count >= 2 else { return right }
      var pages = right.pages
      pages[1] = pages[0]
      return IterExtraction(pages: pages, offset: right.offset, count: right.count, retention: IterRetention())
    }
    let v = try #require(firstViolation(report, "extraction"))
    #expect(v.message.contains("not a page list of the run"), "\(v)")
    // The same page, named the same way, twice.
    let listed = v.message.split(separator: "got pages [").last?.prefix { $0 != "]" }.split(separator: ", ") ?? []
    #expect(listed.count == 2 && listed.first == listed.last, "\(v)")
  }

  /// Values no extraction can have: each is a violation, not a trap.
  enum Garbage: CaseIterable, Sendable {
    case noPagesButBytes, negativeCount, hugeCount, offsetPastThePage, negativeOffset, pagesNotAligned
  }

  @Test(arguments: Garbage.allCases)
  func garbageIsReportedNotTrapped(_ garbage: Garbage) throws {
    let make: (BrokenKindTests.Kind, IterPosition, Int, Int) throws(IterError) -> IterExtraction = {
      kind, position, maxBytes, maxPages throws(IterError) in
      let right = try rightRun(kind, position, maxBytes, maxPages)
      let (pages, offset, count) = (right.pages, right.offset, right.count)
      switch garbage {
      case .noPagesButBytes: return IterExtraction(pages: [], offset: offset, count: count, retention: IterRetention())
      case .negativeCount:
        return IterExtraction(pages: pages, offset: offset, count: -count, retention: IterRetention())
      case .hugeCount: return IterExtraction(pages: pages, offset: offset, count: .max, retention: IterRetention())
      case .offsetPastThePage:
        return IterExtraction(pages: pages, offset: offset + IterPage.size, count: count, retention: IterRetention())
      case .negativeOffset: return IterExtraction(pages: pages, offset: -1, count: count, retention: IterRetention())
      case .pagesNotAligned:
        return IterExtraction(
          pages: pages.map { IterPage(address: $0.address + 8) }, offset: offset, count: count,
          retention: IterRetention())
      }
    }
    let report = check("garbage-\(garbage)", extract: make)
    let v = try #require(firstViolation(report, "extraction"))
    #expect(v.message.contains("got pages ["), "\(v)")

    // The cursor refuses the same run with a typed error, and does not move.
    var kind = BrokenKindTests.Kind(
      inner: StaccatoSource(contents: Array(repeating: 1, count: 5000), segmentSizes: [5000]))
    kind.extract = make
    var iter = try IovIter(kind, direction: .source)
    #expect {
      _ = try iter.extractPages(maxBytes: 4097, maxPages: 2)
    } throws: { error in
      if case IterError.extractionContractViolated = error { true } else { false }
    }
    #expect(iter.count == 5000 && iter.consumedCount == 0)
  }

  @Test func throwingWhereBytesHaveMemoryIsReported() throws {
    let report = check("throws-mid-segment") { kind, position, maxBytes, maxPages throws(IterError) in
      if position.offset > 0 { throw .invalidArgument(argument: "position", value: position.offset, reason: "why not") }
      return try rightRun(kind, position, maxBytes, maxPages)
    }
    let v = try #require(firstViolation(report, "extraction"))
    #expect(v.message.contains("threw invalidArgument") || v.message.contains("threw "), "\(v)")
    #expect(v.message.contains("offset 1 "), "\(v)")
  }

  /// A report says what and where: the call (position, limits, options), what
  /// was expected, what came back, the layout and the seed; and it names
  /// memory relative to the layout, so that a rerun prints the same text.
  @Test func reportsSayWhatAndWhereAndRepeat() throws {
    let extract: (BrokenKindTests.Kind, IterPosition, Int, Int) throws(IterError) -> IterExtraction = {
      kind, position, maxBytes, maxPages throws(IterError) in
      let right = try rightRun(kind, position, maxBytes, maxPages)
      return IterExtraction(
        pages: right.pages.map { IterPage(address: $0.address + UInt(IterPage.size)) }, offset: right.offset,
        count: right.count, retention: IterRetention())
    }
    let first = check("shifted", extract: extract)
    let second = check("shifted", extract: extract)
    let v = try #require(firstViolation(first, "extraction"))
    for part in [
      "extractPages(at: segment 0 offset 0 (byte 0 of 1), maxBytes: 1, maxPages: 1, options: [])",
      "expected 1...1 bytes in at most 1 pages, the first byte <segment 0 page+0> at offset 0 of page 0",
      "got pages [<segment 0 page+1>], offset 0, count 1, holding none",
      "layout: 2 segments (length@page offset): 1@0x0, 0",
    ] {
      #expect(v.message.contains(part), "missing '\(part)' in \(v)")
    }
    #expect(v.seed != nil)
    // No raw address (anything of a page or more in hex) is left in any report.
    for violation in first.violations {
      #expect(!containsAddress(violation.message), "\(violation)")
    }
    #expect(first.description == second.description)
  }

  func containsAddress(_ text: String) -> Bool {
    var rest = Substring(text)
    while let zero = rest.firstIndex(of: "0") {
      let tail = rest[rest.index(after: zero)...]
      if tail.first == "x", let value = UInt(tail.dropFirst().prefix { $0.isHexDigit }, radix: 16),
        value >= UInt(IterPage.size)
      {
        return true
      }
      rest = tail
    }
    return false
  }

  @Test func negativeSegmentCountIsReportedNotTrapped() {
    let report = BrokenKindTests().check("negative-count") { inner in
      var kind = BrokenKindTests.Kind(inner: inner)
      kind.countHook = { _ in -1 }
      return kind
    }
    #expect(report.violates("segments"), "\(report)")
    #expect(report.violations.allSatisfy { $0.message.contains("segmentCount is negative (-1)") })
  }

  /// Segment 1 points at the page below address 0x10000, which nothing maps:
  /// reading it would end the process, so it must be reported first.
  @Test func segmentAtAWildAddressIsReportedNotTrapped() {
    let report = BrokenKindTests().check("wild") { inner in
      var kind = BrokenKindTests.Kind(inner: inner)
      kind.segmentHook = { index, s in
        index == 1 && s.count > 0 ? IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x1000), count: s.count) : s
      }
      return kind
    }
    #expect(report.violates("segments"), "\(report)")
    #expect(
      report.violations.contains { $0.message.contains("segment 1 (") && $0.message.contains("is not mapped") },
      "\(report)")
  }

  /// A kind that offers writing into memory mapped read-only.
  @Test func writableKindOverReadOnlyMemoryIsReportedNotTrapped() throws {
    let page = IterPage.size
    let mapped = mmap(nil, 2 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    let raw = try #require(mapped.flatMap { $0 == UnsafeMutableRawPointer(bitPattern: -1) ? nil : $0 }, "mmap failed")
    defer { munmap(raw, 2 * page) }
    let source = UnsafeSegmentList([IterSegment(base: raw, count: 100)])
    let report = checkIterConformance(of: "read-only", source: source)
    #expect(report.violates("segments"), "\(report)")
    #expect(report.violations.first?.message.contains("not readable and writable") == true, "\(report)")
  }

  @Test func kindWithNoDirectionIsReported() {
    let report = BrokenKindTests().check("no-direction") { inner in
      var kind = BrokenKindTests.Kind(inner: inner)
      kind.directions = []
      return kind
    }
    #expect(report.violates("directions"), "\(report)")
    #expect(report.operationsRun == 0)
  }

  /// A destination-only kind whose first segment starts one byte late: the
  /// cursor writes wherever the segments point, so only the factory's bytes,
  /// read back through the layout, show it.
  @Test func destinationSegmentAtAWrongAddressIsReported() {
    let report = BrokenKindTests().check("dest-shifted") { inner in
      var kind = BrokenKindTests.Kind(inner: inner)
      kind.directions = .destination
      kind.segmentHook = { index, s in
        index == 0 && s.count > 1 ? IterSegment(base: s.base.map { $0 + 1 }, count: s.count) : s
      }
      return kind
    }
    #expect(report.violates("bytes"), "\(report)")
  }
}
