//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterTestSupport
import IterTypes

/// Makes members of every built-in kind (and nested chains) over real memory,
/// and keeps that memory alive for as long as the factory lives.
final class MemberFactory: KindMemory, @unchecked Sendable {  // used from one test at a time
  init() throws {
    try super.init(pageCount: 2048, maxOrder: 3)
  }

  /// A chain in `direction` holding `bytes` in members of random kinds:
  /// empty, one-byte and one-byte-per-segment members mixed in, nested chains
  /// up to `depth`, and (in a destination chain) discard members, which hold
  /// no bytes of `bytes` but add `discardBytes` to the chain.
  func chain(
    _ bytes: [UInt8], direction: IterDirection, depth: Int = 2, discard: Bool = false,
    _ rng: inout SeededGenerator
  ) throws -> IterChain {
    let chain = IterChain(direction: direction)
    let sizes = randomSegmentSizes(total: bytes.count, maxSegments: 10, using: &rng)
    var consumed = 0
    for size in sizes {
      let part = Array(bytes[consumed..<(consumed + size)])
      consumed += size
      switch Int.random(in: 0..<(depth > 0 ? 6 : 5), using: &rng) {
      case 0: try chain.append(userIOVecs(part, &rng))
      case 1: try chain.append(pageFragments(part, &rng))
      case 2: try chain.append(kvec(part, &rng))
      case 3:
        try chain.append(OneBytePerSegmentSource(contents: part))
      case 4:
        // A cursor member: only what is left of it counts.
        let lead = Int.random(in: 0...8, using: &rng)
        let memory = StaccatoSource(
          contents: [UInt8](repeating: 0xEE, count: lead) + part + [0xEE, 0xEE], seed: rng.next())
        keep(memory)
        var cursor = try IovIter(memory, direction: direction)
        try cursor.advance(by: lead)
        try cursor.truncate(to: part.count)
        try chain.append(cursor)
      default:
        try chain.append(self.chain(part, direction: direction, depth: depth - 1, discard: false, &rng))
      }
      if discard && direction == .destination && Bool.random(using: &rng) {
        try chain.append(DiscardSink(count: Int.random(in: 0...300, using: &rng)))
      }
    }
    return chain
  }
}
