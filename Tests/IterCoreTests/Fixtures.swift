//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterTestSupport

/// A layout of real memory: segments of `sizes` back to back in one
/// page-aligned allocation, filled with a recognisable pattern.
final class Layout {
  let memory: TestMemory
  let list: UnsafeSegmentList
  let sizes: [Int]

  init(_ sizes: [Int], at offset: Int = 0) {
    self.sizes = sizes
    memory = TestMemory(size: sizes.reduce(offset, +) + 64)
    var at = offset
    var segments: [IterSegment] = []
    for s in sizes {
      segments.append(IterSegment(base: memory.base + at, count: s))
      at += s
    }
    for k in 0..<memory.size {
      memory.base.storeBytes(of: UInt8(truncatingIfNeeded: k &* 7 &+ 3), toByteOffset: k, as: UInt8.self)
    }
    self.offset = offset
    list = UnsafeSegmentList(segments)
  }

  let offset: Int
  var total: Int { sizes.reduce(0, +) }

  /// The bytes the segments hold, in order.
  var bytes: [UInt8] {
    (0..<total).map { memory.base.load(fromByteOffset: offset + $0, as: UInt8.self) }
  }

  func cursor(_ direction: IterDirection, count: Int? = nil) throws -> IovIter<UnsafeSegmentList> {
    try IovIter(list, direction: direction, count: count)
  }
}

/// Segments at made-up addresses, for the queries that only look at
/// addresses (alignment, npages, gather, extraction); never copied through.
func fakeList(_ pairs: [(UInt, Int)]) -> UnsafeSegmentList {
  UnsafeSegmentList(pairs.map { IterSegment(base: UnsafeMutableRawPointer(bitPattern: $0.0), count: $0.1) })
}
