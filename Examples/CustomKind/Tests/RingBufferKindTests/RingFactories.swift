//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterConformance
import IterCore

@testable import RingBufferKind

/// The rings a test built, so that a retention probe can add up what they hold.
///
/// The conformance suite calls its factory many times (once per layout, once
/// per model run, once per replay while it shrinks a failure); each call
/// makes a new ring, and an extraction holds only its own ring.
final class RingLog: @unchecked Sendable {
  // Safe because each test owns its log and the suite runs its checks in order.
  private var rings: [ByteRing] = []

  func record(_ ring: ByteRing) -> ByteRing {
    rings.append(ring)
    return ring
  }

  /// The extractions that still hold any ring in the log.
  var heldExtractions: Int { rings.reduce(0) { $0 + $1.heldExtractions } }
}

/// Moves an empty ring's head to `index` (produce then consume), so that the
/// next bytes produced start there.
func moveHead(of ring: ByteRing, to index: Int) throws {
  try ring.produced(index)
  try ring.consumed(index)
}

/// Writes `bytes` into the ring's free space through a destination cursor and
/// records them as produced.
func produce(_ bytes: [UInt8], into ring: ByteRing) throws {
  var input = try IovIter(ring.freeRegion, direction: .destination)
  try ring.produced(try input.write(bytes))
}

/// Writes `bytes` into the ring's storage from index `start`, wrapping at its
/// end, through the storage's own pointer: not through a region, so that a
/// region with a wrong address cannot write the bytes where it will read them.
func fill(_ ring: ByteRing, from start: Int, with bytes: [UInt8]) {
  for (k, byte) in bytes.enumerated() { ring.storage[(start + k) % ring.capacity] = byte }
}

/// A ring whose readable bytes are exactly `bytes` and wrap around the end of
/// its storage at a point drawn from `seed`: with two bytes or more, both
/// segments of ``ByteRing/readableRegion`` hold bytes.
func readableRing(holding bytes: [UInt8], seed: UInt64, log: RingLog) throws -> ByteRing {
  var rng = SeededGenerator(seed: seed)
  let capacity = bytes.count + Int.random(in: 1...64, using: &rng)  // some free space is left over
  let beforeWrap = bytes.count >= 2 ? Int.random(in: 1..<bytes.count, using: &rng) : bytes.count
  let ring = log.record(try ByteRing(capacity: capacity))
  try moveHead(of: ring, to: capacity - beforeWrap)
  fill(ring, from: ring.head, with: bytes)
  try ring.produced(bytes.count)
  return ring
}

/// A ring whose free space is exactly `bytes.count` bytes, holds `bytes`, and
/// wraps around the end of its storage at a point drawn from `seed`: with two
/// bytes or more, both segments of ``ByteRing/freeRegion`` hold bytes.
func freeRing(holding bytes: [UInt8], seed: UInt64, log: RingLog) throws -> ByteRing {
  var rng = SeededGenerator(seed: seed)
  let readable = Int.random(in: 1...64, using: &rng)  // the ring is never empty
  let capacity = bytes.count + readable
  let beforeWrap = bytes.count >= 2 ? Int.random(in: 1..<bytes.count, using: &rng) : bytes.count
  let tail = (capacity - beforeWrap) % capacity
  let ring = log.record(try ByteRing(capacity: capacity))
  try moveHead(of: ring, to: (tail - readable + capacity) % capacity)
  fill(ring, from: ring.head, with: [UInt8](repeating: 0xEE, count: readable))
  try ring.produced(readable)
  // Fill the free space with the bytes asked for, without producing them.
  fill(ring, from: (ring.head + readable) % capacity, with: bytes)
  return ring
}
