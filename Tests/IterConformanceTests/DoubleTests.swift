//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterConformance
import IterCore
import Testing
import XCTest

@Suite("Test doubles conform")
struct DoubleTests {
  @Test func staccatoSourceConforms() {
    let report = checkIterConformance(of: "StaccatoSource") { bytes, seed in
      StaccatoSource(contents: bytes, seed: seed, gaps: Int(seed % 2) * 8)
    }
    report.recordIssues()
    #expect(report.isClean)
    #expect(report.layoutsChecked == ConformanceOptions().sizes.count)
  }

  @Test func oneBytePerSegmentSourceConforms() {
    var options = ConformanceOptions()
    options.sizes = [0, 1, 2, 300, 4097]
    let report = checkIterConformance(of: "OneBytePerSegmentSource", options: options) { bytes, _ in
      OneBytePerSegmentSource(contents: bytes)
    }
    report.recordIssues()
    #expect(report.isClean)
  }

  @Test func staccatoKeepsTheCallersBoundaries() throws {
    let source = StaccatoSource(contents: Array(0..<10), segmentSizes: [3, 0, 1, 6])
    #expect((0..<source.segmentCount).map { source.segment(at: $0).count } == [3, 0, 1, 6])
    var iter = try IovIter(source, direction: .source)
    #expect(try iter.read(upTo: 10) == Array(0..<10))
  }

  @Test func checkingASingleSourceInstance() {
    let source = StaccatoSource(contents: Array(repeating: 7, count: 999), segmentSizes: [0, 500, 1, 498])
    let report = checkIterConformance(of: "instance", source: source)
    report.recordIssues()
    #expect(report.isClean && report.layoutsChecked == 1)
  }

  @Test func reportDescribesViolations() {
    var report = ConformanceReport(kind: "K")
    #expect(report.description.contains("conforms"))
    report.violations.append(
      .init(check: "model", context: "ctx", message: "boom", seed: 42, minimalSequence: ["advance 3"]))
    #expect(report.description.contains("[model] ctx: boom (seed 42)"))
    #expect(report.description.contains("1. advance 3"))
  }
}

/// The suite works from XCTest too.
final class ConformanceFromXCTest: XCTestCase {
  func testStaccatoSourceConformsFromXCTest() {
    var options = ConformanceOptions()
    options.sizes = [0, 64, 4096]
    options.operationsPerRun = 1000
    let report = checkIterConformance(of: "StaccatoSource", options: options) { bytes, seed in
      StaccatoSource(contents: bytes, seed: seed)
    }
    report.assertClean()
    XCTAssertEqual(report.operationsRun, 3 * 2 * 1000)
  }
}
