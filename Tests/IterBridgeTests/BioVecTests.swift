//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterBridge
import Testing

@Suite("BioVec")
struct BioVecTests {
  @Test func isSixteenBytes() {
    #expect(MemoryLayout<BioVec>.size == 16)
    #expect(MemoryLayout<BioVec>.stride == 16)
  }
}
