//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterConformance
import IterCore
import IterTypes
import Testing

/// Every built-in kind passes the conformance suite clean. The user kinds run
/// it in IterUserTests instead, inside the serialized suite that reads VmLck:
/// their extractions pin pages, and a pin taken here in parallel would show
/// up in those tests' VmLck readings.
@Suite("Built-in kinds conform")
struct BuiltInKindTests {
  static var options: ConformanceOptions {
    var o = ConformanceOptions()
    o.operationsPerRun = 2_000
    return o
  }

  @Test func kvecArrayConforms() throws {
    let slabs = try SlabAllocator(objectSize: 512)
    let regions = VirtualAllocator()
    var options = Self.options
    options.retentionProbe = { slabs.extractionRetentionCount + regions.extractionRetentionCount }
    let report = checkIterConformance(of: "KVecArray", options: options) { bytes, seed in
      var rng = SeededGenerator(seed: seed)
      var entries: [KVec] = []
      var consumed = 0
      for size in randomSegmentSizes(total: bytes.count, maxSegments: 64, using: &rng) {
        let owner: KernelVirtualAllocation
        let offset: Int
        if size <= 512 {
          owner = try slabs.allocate()
          offset = Int.random(in: 0...(512 - size), using: &rng)
        } else {
          offset = Int.random(in: 0...100, using: &rng)
          owner = try regions.allocate(byteCount: size + offset)
        }
        let chunk = bytes[consumed..<(consumed + size)]
        owner.withUnsafeMutableBytes { raw in
          for (k, b) in chunk.enumerated() { raw[offset + k] = b }
        }
        entries.append(KVec(owner, offset: offset, count: size))
        consumed += size
      }
      return try KVecArray(entries)
    }
    report.recordIssues()
    #expect(report.isClean && report.layoutsChecked == options.sizes.count)
  }

  @Test func bioVecArrayAndFolioQueueConform() throws {
    let pool = try PagePool(pageCount: 256, maxOrder: 3)
    var options = Self.options
    options.sizes = [0, 4096, 3 * 4096, 40 * 4096]
    options.retentionProbe = { pool.outstandingReferences }
    var folios: [Folio] = []
    let queues = checkIterConformance(of: "FolioQueue", options: options) { bytes, seed in
      var rng = SeededGenerator(seed: seed)
      let queue = FolioQueue()
      var pages = bytes.count / 4096
      var consumed = 0
      while pages > 0 {
        var order = Int.random(in: 0...2, using: &rng)
        while 1 << order > pages { order -= 1 }
        let folio = try pool.allocateFolio(order: order)
        folios.append(folio)
        let chunk = bytes[consumed..<(consumed + folio.byteCount)]
        folio.withUnsafeMutableBytes { raw in
          for (k, b) in chunk.enumerated() { raw[k] = b }
        }
        try queue.append(folio)
        consumed += folio.byteCount
        pages -= 1 << order
      }
      return queue
    }
    queues.recordIssues()
    #expect(queues.isClean && queues.layoutsChecked == options.sizes.count)
    for folio in folios { try folio.put() }
    #expect(pool.audit().isEmpty)
  }

  @Test func discardSinkConforms() {
    let report = checkIterConformance(of: "DiscardSink", options: Self.options) { bytes, _ in
      try DiscardSink(count: bytes.count)
    }
    report.recordIssues()
    #expect(report.isClean && report.layoutsChecked == Self.options.sizes.count)
  }
}
