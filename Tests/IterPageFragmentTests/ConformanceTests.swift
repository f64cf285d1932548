//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterPageFragment
import IterTestSupport
import Testing

private struct LayoutTooLarge: Error {
  var bytes: Int
  var seed: UInt64
}

@Suite("Conformance")
struct ConformanceTests {
  /// The conformance suite over bio_vec arrays: the factory lays the bytes out
  /// in entries over eight 32 KiB folios, back to back or with gaps, and the
  /// retention probe is the pool's reference total. The folios fill the
  /// arena, so with `spill` an entry may run on from one folio into the next
  /// (a multi-page bio_vec).
  @Test(arguments: [false, true])
  func bioVecArraysPassTheConformanceSuite(spill: Bool) throws {
    let pool = try PagePool(pageCount: 64, maxOrder: 3)
    let folios = try (0..<8).map { _ in try pool.allocateFolio(order: 3) }
    let folioBytes = folios[0].byteCount
    #expect(folios.map(\.frame) == Array(stride(from: 0, to: 64, by: 8)))
    var options = ConformanceOptions()
    options.sizes = [0, 1, 7, 300, 4097, 20_000]
    options.operationsPerRun = 1_500
    options.retentionProbe = { pool.outstandingReferences }
    let report = checkIterConformance(of: "BioVecArray", options: options) { bytes, seed in
      var rng = SeededGenerator(seed: seed)
      let sizes = randomSegmentSizes(total: bytes.count, maxSegments: 40, using: &rng)
      var bvec = BioVecArray()
      var at = 0  // byte offset in the arena
      var consumed = 0
      for size in sizes {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: at = (at + IterPage.size - 1) / IterPage.size * IterPage.size
        case 1: at += Int.random(in: 1...40, using: &rng)
        default: break
        }
        let folioEnd = (at / folioBytes + 1) * folioBytes
        if at + size > folioEnd && (!spill || Bool.random(using: &rng)) {
          at = folioEnd
        }
        guard at < pool.byteCount, at + size <= pool.byteCount else {
          throw LayoutTooLarge(bytes: bytes.count, seed: seed)
        }
        let folio = folios[at / folioBytes]
        try bvec.append(PageFragment(folio: folio, offset: at % folioBytes, length: size))
        let base = UnsafeMutableRawPointer(bitPattern: pool.address + UInt(at))!
        for k in 0..<size { base.storeBytes(of: bytes[consumed + k], toByteOffset: k, as: UInt8.self) }
        at += size
        consumed += size
      }
      return bvec
    }
    report.recordIssues()
    #expect(report.layoutsChecked == options.sizes.count)
    for folio in folios { try folio.put() }
    #expect(pool.audit().isEmpty)
  }
}
