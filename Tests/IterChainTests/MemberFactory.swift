//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterTestSupport
import IterTypes

/// Makes members of every built-in kind (and nested chains) over real memory,
/// and keeps that memory alive for as long as the factory lives.
final class MemberFactory: @unchecked Sendable {  // used from one test at a time
  let pool: PagePool
  let slabs: SlabAllocator
  let regions = VirtualAllocator()
  private var staccato: [StaccatoSource] = []
  private var folios: [Folio] = []

  init() throws {
    pool = try PagePool(pageCount: 2048, maxOrder: 3)
    slabs = try SlabAllocator(objectSize: 256)
  }

  /// Extractions hold pins, page references and owners; this counts them all.
  var heldRetentions: Int {
    UserPinRegistry.shared.totalPinCount + pool.outstandingReferences - folios.count
      + slabs.extractionRetentionCount + regions.extractionRetentionCount
  }

  func user(_ bytes: [UInt8], _ rng: inout SeededGenerator) throws -> UserIOVecArray {
    let memory = StaccatoSource(
      contents: bytes, segmentSizes: randomSegmentSizes(total: bytes.count, maxSegments: 8, using: &rng), gaps: 24)
    staccato.append(memory)
    return try UserIOVecArray(importing: (0..<memory.segmentCount).map { memory.segment(at: $0) })
  }

  func bvec(_ bytes: [UInt8], _ rng: inout SeededGenerator) throws -> BioVecArray {
    var array = BioVecArray()
    var consumed = 0
    for size in randomSegmentSizes(total: bytes.count, maxSegments: 8, using: &rng) {
      let order = size > 4096 ? 3 : Int.random(in: 0...1, using: &rng)
      let folio = try pool.allocateFolio(order: order)
      folios.append(folio)
      let offset = Int.random(in: 0...max(0, folio.byteCount - size), using: &rng)
      let chunk = Array(bytes[consumed..<(consumed + size)])
      folio.withUnsafeMutableBytes { raw in for k in 0..<size { raw[offset + k] = chunk[k] } }
      try array.append(PageFragment(folio: folio, offset: offset, length: size))
      consumed += size
    }
    return array
  }

  func kvec(_ bytes: [UInt8], _ rng: inout SeededGenerator) throws -> KVecArray {
    var entries: [KVec] = []
    var consumed = 0
    for size in randomSegmentSizes(total: bytes.count, maxSegments: 8, using: &rng) {
      let owner: KernelVirtualAllocation
      let offset: Int
      if size <= 256 {
        owner = try slabs.allocate()
        offset = Int.random(in: 0...(256 - size), using: &rng)
      } else {
        offset = Int.random(in: 0...64, using: &rng)
        owner = try regions.allocate(byteCount: size + offset)
      }
      let chunk = Array(bytes[consumed..<(consumed + size)])
      owner.withUnsafeMutableBytes { raw in for k in 0..<size { raw[offset + k] = chunk[k] } }
      entries.append(KVec(owner, offset: offset, count: size))
      consumed += size
    }
    return try KVecArray(entries)
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
      case 0: try chain.append(user(part, &rng))
      case 1: try chain.append(bvec(part, &rng))
      case 2: try chain.append(kvec(part, &rng))
      case 3:
        try chain.append(OneBytePerSegmentSource(contents: part))
      case 4:
        // A cursor member: only what is left of it counts.
        let lead = Int.random(in: 0...8, using: &rng)
        let memory = StaccatoSource(
          contents: [UInt8](repeating: 0xEE, count: lead) + part + [0xEE, 0xEE], seed: rng.next())
        staccato.append(memory)
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
