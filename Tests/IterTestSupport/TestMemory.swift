//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
public import IterCore

/// Page-aligned memory for tests, freed when the owner goes away.
public final class TestMemory {
  public let base: UnsafeMutableRawPointer
  public let size: Int

  /// Allocates `size` bytes (at least one page), page-aligned and zeroed.
  public init(size: Int) {
    var p: UnsafeMutableRawPointer? = nil
    let rounded = max(IterPage.size, (size + IterPage.size - 1) / IterPage.size * IterPage.size)
    precondition(posix_memalign(&p, IterPage.size, rounded) == 0, "posix_memalign failed")
    memset(p!, 0, rounded)
    self.base = p!
    self.size = rounded
  }

  deinit { free(base) }

  /// Segments of `sizes` laid out in this memory in order: back to back when
  /// `gaps` is false, otherwise with random gaps (sometimes none, sometimes
  /// to the next page boundary) between them.
  public func segments(
    sizes: [Int], gaps: Bool, using rng: inout SeededGenerator
  ) -> [IterSegment] {
    var at = gaps ? Int.random(in: 0..<64, using: &rng) : 0
    var result: [IterSegment] = []
    for s in sizes {
      precondition(at + s <= size, "TestMemory too small: need \(at + s), have \(size)")
      result.append(IterSegment(base: base + at, count: s))
      at += s
      if gaps {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: break
        case 1: at = (at + IterPage.size - 1) / IterPage.size * IterPage.size
        default: at += Int.random(in: 1...40, using: &rng)
        }
      }
    }
    return result
  }

  /// The bytes needed by `segments(sizes:gaps:using:)` in the worst case.
  public static func sizeNeeded(for sizes: [Int]) -> Int {
    sizes.reduce(64) { $0 + $1 + IterPage.size + 40 }
  }
}
