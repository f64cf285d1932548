//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterBridge
import IterConformance
import IterCore
import IterTestSupport
import IterTypes
import Testing

@Suite("DMALimits")
struct DMALimitsTests {
  @Test func defaultsAreTheKernels() throws {
    let l = DMALimits.default
    #expect(l.maxSegmentSize == 65536)
    #expect(l.segmentBoundaryMask == 0xFFFF_FFFF)
    #expect(l.maxSegments == 128)
    #expect(l.dmaAlignment == 511)
    #expect(l.virtBoundaryMask == 0)
    #expect(l.maxHWSectors == 255 - 255 % 1)
    #expect(l.maxSectors == 255)
    #expect(l.logicalBlockSize == 512)
    // A virt boundary lifts the segment size to UInt32.max.
    #expect(try DMALimits(virtBoundaryMask: 4095).maxSegmentSize == UInt32.max)
    // max_hw_sectors is rounded down to the logical block size.
    #expect(try DMALimits(maxHWSectors: 255, logicalBlockSize: 4096).maxHWSectors == 248)
  }

  @Test func malformedLimitsAreTypedErrors() {
    let cases: [(String, () throws(DMAError) -> Void)] = [
      ("max_segments 0", { () throws(DMAError) in _ = try DMALimits(maxSegments: 0) }),
      ("max_segments 65536", { () throws(DMAError) in _ = try DMALimits(maxSegments: 65536) }),
      ("max_segment_size 0", { () throws(DMAError) in _ = try DMALimits(maxSegmentSize: 0) }),
      ("max_segment_size 4095", { () throws(DMAError) in _ = try DMALimits(maxSegmentSize: 4095) }),
      ("seg_boundary_mask 0", { () throws(DMAError) in _ = try DMALimits(segmentBoundaryMask: 0) }),
      ("seg_boundary_mask 2047", { () throws(DMAError) in _ = try DMALimits(segmentBoundaryMask: 2047) }),
      ("seg_boundary_mask 4094", { () throws(DMAError) in _ = try DMALimits(segmentBoundaryMask: 4094) }),
      ("seg_boundary_mask 4096", { () throws(DMAError) in _ = try DMALimits(segmentBoundaryMask: 4096) }),
      ("dma_alignment 4096", { () throws(DMAError) in _ = try DMALimits(dmaAlignment: 4096) }),
      ("dma_alignment 8191", { () throws(DMAError) in _ = try DMALimits(dmaAlignment: 8191) }),
      ("dma_alignment 5", { () throws(DMAError) in _ = try DMALimits(dmaAlignment: 5) }),
      ("virt_boundary_mask 4096", { () throws(DMAError) in _ = try DMALimits(virtBoundaryMask: 4096) }),
      (
        "virt boundary with max_segment_size",
        { () throws(DMAError) in
          _ = try DMALimits(maxSegmentSize: 65536, virtBoundaryMask: 4095)
        }
      ),
      ("max_hw_sectors 0", { () throws(DMAError) in _ = try DMALimits(maxHWSectors: 0) }),
      ("max_hw_sectors 7", { () throws(DMAError) in _ = try DMALimits(maxHWSectors: 7) }),
      ("max_user_sectors 4", { () throws(DMAError) in _ = try DMALimits(maxUserSectors: 4) }),
      ("logical_block_size 0", { () throws(DMAError) in _ = try DMALimits(logicalBlockSize: 0) }),
      ("logical_block_size 1000", { () throws(DMAError) in _ = try DMALimits(logicalBlockSize: 1000) }),
      ("logical_block_size 256", { () throws(DMAError) in _ = try DMALimits(logicalBlockSize: 256) }),
      (
        "logical block above max_hw_sectors",
        { () throws(DMAError) in
          _ = try DMALimits(maxHWSectors: 8, logicalBlockSize: 8192)
        }
      ),
    ]
    for (name, make) in cases {
      do throws(DMAError) {
        try make()
        Issue.record("\(name) was accepted")
      } catch {
        switch error {
        case .invalidLimit, .contradictoryLimits: break
        default: Issue.record("\(name): unexpected \(error)")
        }
      }
    }
  }

  @Test func maxSegmentBytesDoesNotOverflowWithAllOnes() throws {
    let l = try DMALimits(maxSegmentSize: UInt32.max, segmentBoundaryMask: UInt64.max)
    #expect(l.maxSegmentBytes(at: 0, length: UInt64.max) == UInt64(UInt32.max))
    #expect(l.maxSegmentBytes(at: UInt64.max, length: UInt64.max) == 1)
    let w = try DMALimits(segmentBoundaryMask: 4095)
    #expect(w.maxSegmentBytes(at: 0x1FFF, length: 100) == 1)
    #expect(w.maxSegmentBytes(at: 0x1000, length: 1 << 20) == 4096)
  }

  @Test func mergeRuleRefusesDeviceMemoryNextToRAM() {
    let l = DMALimits.default
    let ram = BioVec(address: 0x1000, length: 4096)
    let bus = BioVec(address: 0x2000, length: 4096, flags: .busAddress)
    #expect(l.physicallyMergeable(ram, BioVec(address: 0x2000, length: 4096)))
    #expect(!l.physicallyMergeable(ram, bus))
    #expect(!l.physicallyMergeable(ram, BioVec(address: 0x2000, length: 4096), sameRegion: false))
    #expect(
      !l.physicallyMergeable(BioVec(address: 0xFFFF_F000, length: 4096), BioVec(address: 0x1_0000_0000, length: 1)))
  }
}

@Suite("BioVecMapper")
struct BioVecMapperTests {
  /// Segments of 4 GiB − 1 at made-up addresses through identity translation,
  /// masks of all ones, checked by the rules a correct answer must keep.
  @Test(arguments: [UInt64.max, 0xFFFF_FFFF, 0x3FFF_FFFF])
  func hugeSegmentsKeepEveryRule(mask: UInt64) throws {
    let limits = try DMALimits(
      maxSegmentSize: UInt32.max, segmentBoundaryMask: mask, maxSegments: 5, dmaAlignment: 0,
      maxHWSectors: UInt32.max, maxUserSectors: UInt32.max)
    let big = Int(UInt32.max)
    let layout: [(UInt, Int)] = [
      (0x7F00_0000_1000, big), (0x7F01_0000_0000 + 1, big), (0xFFFF_F001, 4095), (0x1_0000_0000, big),
      (0x2_0000_0000 - 7, 14), (0x1234_5678, 1),
    ]
    let list = UnsafeSegmentList(
      layout.map { IterSegment(base: UnsafeMutableRawPointer(bitPattern: $0.0), count: $0.1) })
    var iter = try IovIter(list, direction: .source)
    var mapper = BioVecMapper(limits: limits, translator: IdentityTranslator())
    var request = BioVecRequest(for: limits)
    // The byte stream, as (virtual address, length) pieces.
    var expected = layout.map { (UInt64($0.0), UInt64($0.1)) }
    var total: UInt64 = 0
    while try mapper.mapNextRequest(from: &iter, into: &request) {
      #expect(request.count <= limits.maxSegments)
      #expect(request.byteCount <= limits.maxRequestBytes)
      let chunks = request.array
      for (k, c) in chunks.enumerated() {
        // Coverage: the chunk is the next bytes of the stream.
        var at = c.address
        var left = UInt64(c.length)
        while left > 0 {
          let (a, l) = expected[0]
          #expect(a == at, "chunk \(k) starts at 0x\(String(at, radix: 16)), stream at 0x\(String(a, radix: 16))")
          let n = min(l, left)
          at += n
          left -= n
          if n == l { expected.removeFirst() } else { expected[0] = (a + n, l - n) }
        }
        // Limits: size and window.
        #expect(c.length >= 1)
        #expect(UInt64(c.length) <= limits.maxSegmentBytes(at: c.address, length: UInt64.max))
        // Forced boundary: the next chunk could not have been part of this one.
        if k + 1 < chunks.count {
          let n = chunks[k + 1]
          let full = UInt64(c.length) == limits.maxSegmentBytes(at: c.address, length: UInt64.max)
          #expect(full || c.endAddress != n.address, "chunk \(k) \(c) could have taken \(n)")
        }
      }
      total += UInt64(request.byteCount)
    }
    #expect(expected.isEmpty)
    #expect(total == layout.reduce(0) { $0 + UInt64($1.1) })
  }

  @Test func tagIsStrippedForTheLookupOnly() throws {
    var table = IOVATableTranslator()
    try table.map(.init(virtualAddress: 0x10_0000, length: 1 << 20, iova: 0xABC0_0000))
    let tag: UInt = 0x5A00_0000_0000_0000
    let list = UnsafeSegmentList([IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x10_0000 | tag), count: 8192)])
    var iter = try IovIter(list, direction: .source)
    var mapper = BioVecMapper(limits: try DMALimits(dmaAlignment: 0), translator: table, tagMask: 0xFF00_0000_0000_0000)
    var request = BioVecRequest(for: mapper.limits)
    #expect(try mapper.mapNextRequest(from: &iter, into: &request))
    #expect(request.array == [BioVec(address: 0xABC0_0000, length: 8192, flags: .endOfRequest)])
    // The iterator's own addresses keep the tag.
    #expect(list.segment(at: 0).address == 0x10_0000 | tag)
  }

  @Test func misalignmentNamesThePieceAndLeavesTheIteratorAlone() throws {
    var table = IOVATableTranslator()
    try table.map(.init(virtualAddress: 0x10_0000, length: 1 << 20, iova: 0x4000_0000))
    let list = UnsafeSegmentList([
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x10_0000), count: 1024),
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x10_2000 + 3), count: 512),
    ])
    var iter = try IovIter(list, direction: .source)
    var mapper = BioVecMapper(limits: .default, translator: table)
    var request = BioVecRequest(for: mapper.limits)
    #expect(throws: DMAError.misaligned(piece: 1, offset: 1024, address: 0x10_2003, length: 512, alignmentMask: 511)) {
      try mapper.mapNextRequest(from: &iter, into: &request)
    }
    #expect(iter.count == 1536)
    // With a bounce plan the piece is flagged, not merged.
    var bouncing = BioVecMapper(limits: .default, translator: table, misalignment: .bounce)
    #expect(try bouncing.mapNextRequest(from: &iter, into: &request))
    #expect(
      request.array == [
        BioVec(address: 0x4000_0000, length: 1024),
        BioVec(address: 0x4000_2003, length: 512, flags: [.needsBounce, .endOfRequest]),
      ])
    #expect(request.bounceCount == 1)
  }

  /// A kind that breaks the protocol by dropping its segments once it has
  /// handed a run over: the direct walk cannot put the cursor back for the
  /// general path, and says so with a typed error instead of trapping.
  @Test func aSourceThatLosesSegmentsMidWalkIsATypedError() throws {
    struct VanishingList: IterSegmentSource {
      final class Box {
        var segments: [IterSegment] = []
        var armed = false
      }
      let box = Box()
      init(_ segments: [IterSegment]) { box.segments = segments }
      var segmentCount: Int { box.segments.count }
      func segment(at index: Int) -> IterSegment {
        index < box.segments.count ? box.segments[index] : IterSegment(base: nil, count: 0)
      }
      // One segment a run; after the first run is handed over, the segments are gone.
      func withContiguousSegments<R, E: Error>(
        from index: Int, _ body: (UnsafeBufferPointer<IterSegment>) throws(E) -> R
      ) throws(E) -> R? {
        guard index < box.segments.count else { return nil }
        let result = try box.segments.withUnsafeBufferPointer { (all) throws(E) -> R in
          try body(UnsafeBufferPointer(rebasing: all[index...index]))
        }
        if box.armed { box.segments.removeAll() }
        return result
      }
    }
    let list = VanishingList([
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x10_0000), count: 512),
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x10_1000), count: 512),
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x10_2000), count: 512),
    ])
    var iter = try IovIter(list, direction: .source)
    try iter.advance(by: 512)
    list.box.armed = true
    var mapper = BioVecMapper(limits: .default, translator: IdentityTranslator())
    var request = BioVecRequest(for: mapper.limits)
    do {
      _ = try mapper.mapNextRequest(from: &iter, into: &request)
      Issue.record("mapped a request over a source that lost its segments")
    } catch {
      guard case .iterator = error else {
        Issue.record("wrong error: \(error)")
        return
      }
    }
    #expect(request.count == 0)
  }

  /// A request that would fail ends the batch before it; the next call
  /// throws its error, with the batch empty and the iterator where it was.
  @Test func aBatchStopsBeforeAFailingRequest() throws {
    var table = IOVATableTranslator()
    try table.map(.init(virtualAddress: 0x10_0000, length: 1 << 20, iova: 0x4000_0000))
    let limits = try DMALimits(maxHWSectors: 8)  // 4 KiB requests
    let list = UnsafeSegmentList([
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x10_0000), count: 8192),
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x10_4003), count: 512),  // misaligned
    ])
    var iter = try IovIter(list, direction: .source)
    var mapper = BioVecMapper(limits: limits, translator: table)
    var batch = BioVecRequestBatch(requests: 8, for: limits)
    #expect(try mapper.mapNextRequests(from: &iter, into: &batch) == 2)
    #expect(batch.byteCount == 8192 && iter.count == 512)
    #expect(batch.chunks(ofRequest: 1) == [BioVec(address: 0x4000_1000, length: 4096, flags: .endOfRequest)])
    #expect(batch.end(ofRequest: 0) == .maxBytes)
    #expect(throws: DMAError.misaligned(piece: 0, offset: 0, address: 0x10_4003, length: 512, alignmentMask: 511)) {
      try mapper.mapNextRequests(from: &iter, into: &batch)
    }
    #expect(batch.isEmpty && iter.count == 512)
  }

  /// Batches give what single calls give over a chain of two kinds, and a
  /// batch too small for the limits, or an empty iterator, is refused or empty.
  @Test func batchesOverAChainAndTheEdges() throws {
    let limits = try DMALimits(maxSegments: 3, maxHWSectors: 16, logicalBlockSize: 1024)
    func chain() throws -> IovIter<IterChain> {
      let c = IterChain(direction: .source)
      try c.append(
        UnsafeSegmentList(
          (0..<9).map { IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x20_0000 + $0 * 8192), count: 1536) }))
      try c.append(
        UnsafeSegmentList(
          (0..<5).map { IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x80_0000 + $0 * 4096), count: 2560) }))
      return try IovIter(c, direction: .source)
    }
    var single = try chain()
    var mapper = BioVecMapper(limits: limits, translator: IdentityTranslator())
    var request = BioVecRequest(for: limits)
    var expected: [[BioVec]] = []
    while try mapper.mapNextRequest(from: &single, into: &request) { expected.append(request.array) }
    for capacity in [1, 2, 3, 7, 64] {
      var iter = try chain()
      var batch = BioVecRequestBatch(requests: capacity, for: limits)
      var got: [[BioVec]] = []
      while case let n = try mapper.mapNextRequests(from: &iter, into: &batch), n > 0 {
        for i in 0..<n { got.append(batch.chunks(ofRequest: i)) }
      }
      #expect(got == expected, "batches of \(capacity)")
      #expect(iter.count == 0)
    }
    var small = BioVecRequestBatch(requests: 4, for: try DMALimits(maxSegments: 2))
    var iter = try chain()
    #expect(throws: DMAError.requestBufferTooSmall(capacity: 2, maxSegments: 3)) {
      try mapper.mapNextRequests(from: &iter, into: &small)
    }
    try iter.advance(by: iter.count)
    var batch = BioVecRequestBatch(requests: 4, for: limits)
    #expect(try mapper.mapNextRequests(from: &iter, into: &batch) == 0)
    #expect(batch.isEmpty && batch.byteCount == 0)
  }

  @Test func smallRequestBufferIsRefused() throws {
    var mapper = BioVecMapper(limits: .default, translator: IdentityTranslator())
    var request = BioVecRequest(capacity: 4)
    var iter = try IovIter(
      UnsafeSegmentList([IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x1000), count: 512)]),
      direction: .source)
    #expect(throws: DMAError.requestBufferTooSmall(capacity: 4, maxSegments: 128)) {
      try mapper.mapNextRequest(from: &iter, into: &request)
    }
  }

  @Test func discardBytesHaveNoAddress() throws {
    var mapper = BioVecMapper(limits: try DMALimits(dmaAlignment: 0), translator: IdentityTranslator())
    var request = BioVecRequest(for: mapper.limits)
    var iter = try IovIter(
      UnsafeSegmentList([
        IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x1000), count: 512), IterSegment(base: nil, count: 100),
      ]), direction: .destination)
    #expect(throws: DMAError.noMemory(offset: 512)) { try mapper.mapNextRequest(from: &iter, into: &request) }
    #expect(iter.count == 612)
  }
}

/// A buffer kind written outside the package: two halves of one buffer, swapped.
struct SwappedHalves: IterSegmentSource {
  var buffer: UnsafeMutableRawBufferPointer
  var segmentCount: Int { 2 }
  func segment(at index: Int) -> IterSegment {
    let half = buffer.count / 2
    return index == 0
      ? IterSegment(UnsafeMutableRawBufferPointer(rebasing: buffer[half...]))
      : IterSegment(UnsafeMutableRawBufferPointer(rebasing: buffer[..<half]))
  }
}

@Suite("BioVec round trips through the page pool", .pinsExclusively)
struct BioVecRoundTripTests {
  /// Maps the iterator to requests and reads every chunk's bytes back through
  /// the translator's inverse; they must be the iterator's bytes.
  func roundTrip<S: IterSegmentSource>(
    _ iter: IovIter<S>, translator: PagePoolTranslator, extract: Bool, options: IterExtractionOptions = []
  ) throws -> (bytes: [UInt8], retentions: Int) {
    var expected: [UInt8] = []
    iter.forEachChunk { span in
      for i in 0..<span.byteCount { expected.append(span.unsafeLoad(fromByteOffset: i, as: UInt8.self)) }
      return true
    }
    let limits = try DMALimits(maxSegmentSize: 8192, segmentBoundaryMask: 16383, maxSegments: 3, dmaAlignment: 0)
    var mapper = BioVecMapper(limits: limits, translator: translator)
    var request = BioVecRequest(for: limits)
    var cursor = iter
    var got: [UInt8] = []
    while try extract
      ? mapper.extractNextRequest(from: &cursor, into: &request, options: options)
      : mapper.mapNextRequest(from: &cursor, into: &request)
    {
      for v in request.array {
        for k in 0..<UInt64(v.length) {
          let va = try #require(translator.virtualAddress(of: v.address + k))
          got.append(UnsafePointer<UInt8>(bitPattern: va)!.pointee)
        }
      }
    }
    #expect(got == expected)
    let held = mapper.retentionCount
    mapper.finish().release()
    return (got, held)
  }

  /// The built-in translators that offer a window give, inside it, what
  /// `translate` gives: the mapper's inline translation depends on it.
  @Test func windowsAgreeWithTranslate() throws {
    let pool = try PagePool(pageCount: 16)
    let translators: [any PhysicalTranslator] = [
      PagePoolTranslator(pool: pool, base: 0x8_0000_0000), PagePoolTranslator(pool: pool, base: .max - 4095),
      IdentityTranslator(),
    ]
    var rng = SeededGenerator(seed: TestSeed.base ^ 0x3_1D0)
    for t in translators {
      let w = try #require(t.translationWindow)
      for k in 0..<2000 {
        let offset = k == 0 ? w.count - 1 : UInt.random(in: 0..<Swift.min(w.count, 1 << 40), using: &rng)
        let length = Int.random(in: 1...100_000, using: &rng)
        let run = try t.translate(w.virtualAddress + offset, length: length)
        #expect(run.address == w.deviceAddress &+ UInt64(offset))
        #expect(run.attributes == w.attributes && run.region == w.region)
        #expect(run.length >= Swift.min(length, Int(clamping: w.count - offset)))
      }
    }
    #expect(IOVATableTranslator().translationWindow == nil)
    #expect(PagePoolTranslator(pool: pool).translationWindow?.count == UInt(pool.byteCount))
  }

  @Test(arguments: [false, true])
  func everyKindRoundTrips(extract: Bool) throws {
    let pool = try PagePool(pageCount: 64)
    let translator = PagePoolTranslator(pool: pool, base: 0x8_0000_0000)
    var rng = SeededGenerator(seed: TestSeed.base ^ 0xF00D)
    var folios: [Folio] = []
    for order in [0, 1, 2, 0, 3] {
      let f = try pool.allocateFolio(order: order)
      f.withUnsafeMutableBytes { b in for i in 0..<b.count { b[i] = UInt8.random(in: 0...255, using: &rng) } }
      folios.append(f)
    }
    // Page fragments (bio_vec kind).
    let fragments = try BioVecArray([
      PageFragment(folio: folios[1], offset: 100, length: 5000), PageFragment(folio: folios[0], offset: 7, length: 1),
      PageFragment(folio: folios[3], offset: 0, length: 4096), PageFragment(folio: folios[4]),
    ])
    _ = try roundTrip(try IovIter(fragments, direction: .source), translator: translator, extract: extract)
    // User memory inside the arena (pinned when extracted).
    let arena = folios[2].withUnsafeMutableBytes { $0 }
    let user = try UserIOVecArray(importing: [
      UnsafeMutableRawBufferPointer(rebasing: arena[3..<9000]),
      UnsafeMutableRawBufferPointer(rebasing: arena[9000..<9001]),
    ])
    let held = try roundTrip(try IovIter(user, direction: .source), translator: translator, extract: extract).retentions
    if extract { #expect(held > 0) }
    // A kind from outside the package.
    let outside = SwappedHalves(buffer: folios[4].withUnsafeMutableBytes { $0 })
    _ = try roundTrip(try IovIter(outside, direction: .source), translator: translator, extract: extract)
    // A chain of all three.
    let chain = IterChain(direction: .source)
    try chain.append(fragments)
    try chain.append(user)
    try chain.append(outside)
    _ = try roundTrip(try IovIter(chain, direction: .source), translator: translator, extract: extract)
    // Page references taken and released exactly once.
    if extract {
      let before = pool.referenceCount(of: folios[1])
      _ = try roundTrip(
        try IovIter(fragments, direction: .source), translator: translator, extract: true, options: .retain)
      #expect(pool.referenceCount(of: folios[1]) == before)
    }
  }
}
