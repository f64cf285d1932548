//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterTestSupport
import IterTypes

/// Builds mixed chains over real memory of every kind, and keeps the memory
/// alive as long as it lives: a kernel-virtual header, a page-fragment
/// payload and a user trailer as the source; a different layout (user,
/// discard, page fragments, kernel-virtual) as the destination.
final class Mixed: @unchecked Sendable {  // Used by one test at a time.
  let pool: PagePool
  let regions = VirtualAllocator()
  private var memories: [TestMemory] = []

  init(pages: Int = 1024) throws {
    pool = try PagePool(pageCount: pages, maxOrder: 2)
  }

  private func kvec(
    _ bytes: ArraySlice<UInt8>, pieces: Int, _ rng: inout SeededGenerator
  ) throws
    -> KVecArray
  {
    let offset = Int.random(in: 0...64, using: &rng)
    let region = try regions.allocate(byteCount: bytes.count + offset + 1)
    region.withUnsafeMutableBytes { raw in
      for (k, b) in bytes.enumerated() { raw[offset + k] = b }
    }
    var array = KVecArray()
    var at = 0
    for (i, size) in cut(bytes.count, into: pieces, &rng).enumerated() {
      try array.append(KVec(region, offset: offset + at, count: size))
      at += size
      _ = i
    }
    return array
  }

  private func bvec(_ bytes: ArraySlice<UInt8>, _ rng: inout SeededGenerator) throws -> BioVecArray {
    var array = BioVecArray()
    var consumed = bytes.startIndex
    for var size in randomSegmentSizes(total: bytes.count, maxSegments: 12, using: &rng) {
      repeat {
        let take = min(size, 4 * IterPage.size)
        let order = take > 2 * IterPage.size ? 2 : Int.random(in: 1...2, using: &rng)
        let folio = try pool.allocateFolio(order: order)
        let offset = Int.random(in: 0...(folio.byteCount - take), using: &rng)
        let chunk = bytes[consumed..<(consumed + take)]
        folio.withUnsafeMutableBytes { raw in
          for (k, b) in chunk.enumerated() { raw[offset + k] = b }
        }
        try array.append(PageFragment(folio: folio, offset: offset, length: take))
        consumed += take
        size -= take
      } while size > 0
    }
    return array
  }

  private func user(
    _ bytes: ArraySlice<UInt8>, _ rng: inout SeededGenerator
  ) throws
    -> UserIOVecArray
  {
    let sizes = randomSegmentSizes(total: bytes.count, maxSegments: 16, using: &rng)
    let memory = TestMemory(size: TestMemory.sizeNeeded(for: sizes))
    memories.append(memory)
    let segments = memory.segments(sizes: sizes, gaps: true, using: &rng)
    var at = bytes.startIndex
    for s in segments {
      for k in 0..<s.count { s.base!.storeBytes(of: bytes[at + k], toByteOffset: k, as: UInt8.self) }
      at += s.count
    }
    return try UserIOVecArray(importing: segments)
  }

  private func cut(_ total: Int, into pieces: Int, _ rng: inout SeededGenerator) -> [Int] {
    guard pieces > 1, total > 0 else { return [total] }
    var marks = (0..<(pieces - 1)).map { _ in Int.random(in: 0...total, using: &rng) }
    marks.sort()
    var sizes: [Int] = []
    var last = 0
    for m in marks + [total] {
      sizes.append(m - last)
      last = m
    }
    return sizes
  }

  /// A source chain holding `bytes`: a kernel-virtual header, a page-fragment
  /// payload and a user trailer.
  func source(_ bytes: [UInt8], _ rng: inout SeededGenerator) throws -> IterChain {
    let header = min(bytes.count, Int.random(in: 0...80, using: &rng))
    let trailer = min(bytes.count - header, Int.random(in: 0...300, using: &rng))
    let chain = IterChain(direction: .source)
    try chain.append(kvec(bytes[0..<header], pieces: 2, &rng))
    try chain.append(bvec(bytes[header..<(bytes.count - trailer)], &rng))
    try chain.append(user(bytes[(bytes.count - trailer)...], &rng))
    return chain
  }

  /// A destination chain of `total` bytes laid out differently from
  /// ``source(_:_:)``: user iovecs, a discard sink of `discard` bytes, page
  /// fragments, kernel-virtual memory. `readBack` returns the bytes kept
  /// (everything but the discarded range, which `discarded` gives).
  func destination(
    total: Int, discard: Int, _ rng: inout SeededGenerator
  ) throws -> (
    chain: IterChain, discarded: Range<Int>, readBack: () throws -> [UInt8]
  ) {
    let kept = total - discard
    let first = Int.random(in: 0...kept, using: &rng)
    let second = Int.random(in: 0...(kept - first), using: &rng)
    let third = kept - first - second
    let zeros = [UInt8](repeating: 0, count: max(first, second, third))
    let members: [any IterSegmentSource] = [
      try user(zeros[0..<first], &rng),
      try bvec(zeros[0..<second], &rng),
      try kvec(zeros[0..<third], pieces: 3, &rng),
    ]
    let chain = IterChain(direction: .destination)
    try chain.append(members[0])
    if discard > 0 { try chain.append(DiscardSink(count: discard)) }
    try chain.append(members[1])
    try chain.append(members[2])
    let readBack = { () throws -> [UInt8] in
      var reader = try IovIter(IterChain(direction: .source, members: members))
      return try reader.read(upTo: kept)
    }
    return (chain, first..<(first + discard), readBack)
  }
}
