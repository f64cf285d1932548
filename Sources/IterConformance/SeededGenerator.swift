//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc

/// A repeatable random number generator (SplitMix64) for randomised tests.
///
/// Sendable: its state is one integer, and each task steps its own copy.
public struct SeededGenerator: RandomNumberGenerator {
  private var state: UInt64

  /// Creates a generator whose sequence is fixed by `seed`.
  public init(seed: UInt64) { self.state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// The base seed of every randomised test: `ITER_TEST_SEED` from the
/// environment (decimal or 0x-hex), or 0. Failures print the seed they ran with.
///
/// Sendable: a namespace with no instances.
public enum TestSeed {
  /// `ITER_TEST_SEED` from the environment, read on every access; 0 when it
  /// is unset or not a number.
  public static var base: UInt64 {
    guard let raw = getenv("ITER_TEST_SEED") else { return 0 }
    let text = String(cString: raw)
    if text.hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) ?? 0 }
    return UInt64(text) ?? 0
  }
}

/// Random segment sizes that add up to `total`: mostly small and medium
/// segments with empty, one-byte and page-sized-or-larger ones mixed in.
public func randomSegmentSizes(
  total: Int, maxSegments: Int, using rng: inout SeededGenerator
) -> [Int] {
  var sizes: [Int] = []
  var left = total
  while left > 0 && sizes.count < maxSegments - 1 {
    let size: Int
    switch Int.random(in: 0..<10, using: &rng) {
    case 0: size = 0
    case 1: size = 1
    case 2: size = Int.random(in: 4096...12288, using: &rng)
    case 3: size = Int.random(in: 2...7, using: &rng)
    default: size = Int.random(in: 8...700, using: &rng)
    }
    let s = min(size, left)
    sizes.append(s)
    left -= s
  }
  if left > 0 || sizes.isEmpty { sizes.append(left) }
  if Bool.random(using: &rng) { sizes.insert(0, at: Int.random(in: 0...sizes.count, using: &rng)) }
  return sizes
}

extension SeededGenerator: Sendable {}

extension TestSeed: Sendable {}
