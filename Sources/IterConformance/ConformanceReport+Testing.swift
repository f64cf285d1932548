//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import Testing
import XCTest

extension ConformanceReport {
  /// Records each violation as a Swift Testing issue at the caller's location.
  public func recordIssues(sourceLocation: SourceLocation = #_sourceLocation) {
    for violation in violations {
      Issue.record(Comment(rawValue: "\(kind): \(violation)"), sourceLocation: sourceLocation)
    }
  }

  /// Fails the XCTest test case once per violation, at the caller's location.
  public func assertClean(file: StaticString = #filePath, line: UInt = #line) {
    for violation in violations {
      XCTFail("\(kind): \(violation)", file: file, line: line)
    }
  }
}
