//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterConformance
import IterCore
import RingBufferKind
import XCTest

/// The same suite from XCTest: `assertClean()` fails the test once per violation.
final class RingConformanceXCTests: XCTestCase {
  func testReadableRegionConformsFromXCTest() {
    let log = RingLog()
    var options = ConformanceOptions()
    options.sizes = [0, 2, 4097]
    options.operationsPerRun = 1_000
    options.retentionProbe = { log.heldExtractions }
    let report = checkIterConformance(of: "ByteRing.readableRegion", options: options) { bytes, seed in
      try readableRing(holding: bytes, seed: seed, log: log).readableRegion
    }
    report.assertClean()
    XCTAssertEqual(report.layoutsChecked, 3)
  }
}
