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
  /// retention probe is the pool's reference total.
  @Test func bioVecArraysPassTheConformanceSuite() throws {
    let pool = try PagePool(pageCount: 64, maxOrder: 3)
    let folios = try (0..<8).map { _ in try pool.allocateFolio(order: 3) }
    var options = ConformanceOptions()
    options.sizes = [0, 1, 7, 300, 4097, 20_000]
    options.operationsPerRun = 1_500
    options.retentionProbe = { pool.outstandingReferences }
    let report = checkIterConformance(of: "BioVecArray", options: options) { bytes, seed in
      var rng = SeededGenerator(seed: seed)
      let sizes = randomSegmentSizes(total: bytes.count, maxSegments: 40, using: &rng)
      var bvec = BioVecArray()
      var folio = 0
      var at = 0
      var consumed = 0
      for size in sizes {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: at = (at + IterPage.size - 1) / IterPage.size * IterPage.size
        case 1: at += Int.random(in: 1...40, using: &rng)
        default: break
        }
        if at + size > folios[folio].byteCount {
          folio += 1
          at = 0
          guard folio < folios.count else { throw LayoutTooLarge(bytes: bytes.count, seed: seed) }
        }
        let fragment = PageFragment(folio: folios[folio], offset: at, length: size)
        try bvec.append(fragment)
        let chunk = Array(bytes[consumed..<(consumed + size)])
        folios[folio].withUnsafeMutableBytes { raw in
          for k in 0..<size { raw[at + k] = chunk[k] }
        }
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
