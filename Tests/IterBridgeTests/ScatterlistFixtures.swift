//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterBridge
import IterCore
import IterTestSupport
import IterTypes

/// Real memory for scatterlist tests: a page pool for tables and page
/// fragments, allocators for kvecs, and staccato memory for user kinds. It
/// keeps everything it made alive for as long as it lives.
final class ScatterlistFixture: KindMemory, @unchecked Sendable {  // used from one test at a time
  private var memories: [TestMemory] = []

  init(pages: Int = 8192) throws {
    try super.init(pageCount: pages, maxOrder: 5)
  }

  // MARK: - Tables

  /// A hand-filled table holding `bytes`: entries of random sizes, some
  /// inside one page at a random offset, some spanning a folio's pages (pool
  /// entries, offsets past the first page), some empty, in arrays of
  /// `maxEntriesPerArray` (random when nil) chained together.
  func table(holding bytes: [UInt8], seed: UInt64, maxEntriesPerArray: Int? = nil) throws -> ScatterlistTable {
    var rng = SeededGenerator(seed: seed)
    let sizes = randomSegmentSizes(total: bytes.count, maxSegments: 24, using: &rng)
    let perArray = maxEntriesPerArray ?? Int.random(in: 2...6, using: &rng)
    let table = try ScatterlistTable(entryCount: max(1, sizes.count), maxEntriesPerArray: perArray)
    let slots = try table.slots()
    var consumed = 0
    let pageSize = IterPage.size
    for (slot, size) in zip(slots, sizes) {
      let chunk = Array(bytes[consumed..<(consumed + size)])
      consumed += size
      if size == 0 {
        try slot.array.setPage(nil, length: 0, offset: 0, at: slot.index)
        continue
      }
      if size <= pageSize && Bool.random(using: &rng) {
        let f = try folio(order: 0)
        let offset = Int.random(in: 0...(pageSize - size), using: &rng)
        f.withUnsafeMutableBytes { raw in for k in 0..<size { raw[offset + k] = chunk[k] } }
        try slot.array.setPage(f.page(at: 0), length: size, offset: offset, at: slot.index)
      } else {
        let lead = Int.random(in: 0...(2 * pageSize), using: &rng)
        var order = 0
        while (pageSize << order) < lead + size { order += 1 }
        let f = try folio(order: order)
        f.withUnsafeMutableBytes { raw in for k in 0..<size { raw[lead + k] = chunk[k] } }
        try slot.array.setFolio(f, length: size, offset: lead, at: slot.index)
      }
    }
    return table
  }

  // MARK: - Buffers of every kind

  func userBuffer(_ bytes: [UInt8], _ rng: inout SeededGenerator) throws -> UserBuffer {
    let memory = TestMemory(size: bytes.count + 64)
    memories.append(memory)
    let offset = Int.random(in: 0...63, using: &rng)
    for (k, b) in bytes.enumerated() { memory.base.storeBytes(of: b, toByteOffset: offset + k, as: UInt8.self) }
    return try UserBuffer(importing: UnsafeMutableRawBufferPointer(start: memory.base + offset, count: bytes.count))
  }

  func segmentList(_ bytes: [UInt8], _ rng: inout SeededGenerator) -> UnsafeSegmentList {
    let memory = StaccatoSource(contents: bytes, seed: rng.next(), gaps: 3)
    keep(memory)
    return UnsafeSegmentList((0..<memory.segmentCount).map { memory.segment(at: $0) })
  }

  /// A folio queue whose folios hold `bytes` from a random offset on; the
  /// cursor is started at that offset.
  func folioQueue(_ bytes: [UInt8], _ rng: inout SeededGenerator) throws -> (FolioQueue, offset: Int) {
    let queue = FolioQueue()
    let lead = Int.random(in: 0...100, using: &rng)
    var all = [UInt8](repeating: 0xEE, count: lead) + bytes
    while !all.isEmpty {
      let f = try folio(order: Int.random(in: 0...2, using: &rng))
      let n = min(f.byteCount, all.count)
      let chunk = Array(all.prefix(n))
      f.withUnsafeMutableBytes { raw in for k in 0..<n { raw[k] = chunk[k] } }
      try queue.append(f)
      all.removeFirst(n)
    }
    return (queue, lead)
  }

  /// A chain of members of random kinds (and a nested chain) holding `bytes`.
  func chain(_ bytes: [UInt8], depth: Int = 1, _ rng: inout SeededGenerator) throws -> IterChain {
    let chain = IterChain(direction: .source)
    var consumed = 0
    for size in randomSegmentSizes(total: bytes.count, maxSegments: 8, using: &rng) {
      let part = Array(bytes[consumed..<(consumed + size)])
      consumed += size
      switch Int.random(in: 0..<(depth > 0 ? 6 : 5), using: &rng) {
      case 0: try chain.append(userIOVecs(part, &rng))
      case 1: try chain.append(pageFragments(part, &rng))
      case 2: try chain.append(kvec(part, &rng))
      case 3: try chain.append(segmentList(part, &rng))
      case 4: try chain.append(OutsideKind(holding: part))
      default: try chain.append(self.chain(part, depth: depth - 1, &rng))
      }
    }
    return chain
  }
}

/// A buffer kind written outside the package: bytes in a class-owned
/// buffer, described as segments of 1, 2, 3, ... bytes; extraction is the
/// protocol's default (one segment per call, holding nothing).
struct OutsideKind: IterSegmentSource, @unchecked Sendable {
  final class Storage {
    let base: UnsafeMutableRawPointer
    let count: Int
    init(_ bytes: [UInt8]) {
      count = bytes.count
      base = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 16)
      base.copyMemory(from: bytes, byteCount: bytes.count)
    }
    deinit { base.deallocate() }
  }

  let storage: Storage
  let bounds: [(start: Int, count: Int)]

  init(holding bytes: [UInt8]) {
    storage = Storage(bytes)
    var b: [(Int, Int)] = []
    var at = 0
    var n = 1
    while at < bytes.count {
      let c = min(n, bytes.count - at)
      b.append((at, c))
      at += c
      n += 1
    }
    bounds = b
  }

  var segmentCount: Int { bounds.count }
  func segment(at index: Int) -> IterSegment {
    IterSegment(base: storage.base + bounds[index].start, count: bounds[index].count)
  }
  var memoryKind: IterMemoryKind { IterMemoryKind("outside-kind") }
}
