//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterBridge
import IterCore
import Testing

@Suite("DMAError descriptions")
struct DMAErrorTests {
  @Test("addresses print in hexadecimal and each case says what it is")
  func descriptions() {
    let cases: [(DMAError, [String])] = [
      (
        .invalidLimit(name: "seg_boundary_mask", value: 0x7ff, reason: "below a page"),
        ["seg_boundary_mask", "0x7ff", "below a page"]
      ),
      (.contradictoryLimits("virt boundary with a finite max_segment_size"), ["virt boundary"]),
      (.notTranslatable(address: 0xdead_b000), ["0xdeadb000"]),
      (.pageNotPresent(address: 0x1000), ["0x1000", "not present"]),
      (.pageSwapped(address: 0x2000), ["0x2000", "swapped"]),
      (.framesHidden(address: 0x7f00_0000_1000), ["0x7f0000001000", "CAP_SYS_ADMIN"]),
      (.systemCall(name: "pread", errno: 9), ["pread", "9"]),
      (
        .misaligned(piece: 2, offset: 1536, address: 0x1003, length: 7, alignmentMask: 511),
        ["piece 2", "0x1003", "512"]
      ),
      (.requestBelowBlockSize(bytes: 100, logicalBlockSize: 512), ["100", "512"]),
      (.requestBufferTooSmall(capacity: 4, maxSegments: 128), ["4", "128"]),
      (.noMemory(offset: 64), ["64", "discard"]),
      (.iterator(.revertPastStart(requested: 9, consumed: 2)), ["iterator refused"]),
      (.iovaExhausted(size: 4096), ["4096"]),
      (.iovaLinkMisaligned(offset: 0x1200, length: 512, mergeBoundary: 0xfff), ["0x1200", "0xfff"]),
    ]
    for (error, words) in cases {
      let text = String(describing: error)
      for word in words { #expect(text.contains(word), "\(text) lacks \(word)") }
    }
  }
}
