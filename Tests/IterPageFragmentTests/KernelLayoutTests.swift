//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterPageFragment
import Testing

// The layouts of the kernel's own iov_iter KUnit cases (lib/tests/kunit_iov_iter.c),
// rebuilt over a page pool: a 1 MiB buffer of 256 single pages whose first
// quarter is swapped with its third, so that the buffer is not contiguous in
// memory. The expected results are worked out from the kernel's algorithms
// (by hand, and by the small models below), never from this library's code.

private let pageSize = IterPage.size

/// The kernel test's buffer size.
private let bufferSize = 0x10_0000

/// `kvec_test_ranges`: byte ranges of the buffer, `from..<to`.
private let kvecTestRanges: [(from: Int, to: Int)] = [
  (0x00002, 0x00002), (0x00027, 0x03000), (0x05193, 0x18794), (0x20000, 0x20000),
  (0x20000, 0x24000), (0x24000, 0x27001), (0x29000, 0xffffb), (0xffffd, 0xffffe),
]

/// `bvec_test_ranges`: a buffer page and a byte range in it.
private let bvecTestRanges: [(page: Int, from: Int, to: Int)] = [
  (0, 0x0002, 0x0002), (1, 0x0027, 0x0893), (2, 0x0193, 0x0794), (3, 0x0000, 0x1000),
  (4, 0x0000, 0x1000), (5, 0x0000, 0x1000), (6, 0x0000, 0x0ffb), (6, 0x0ffd, 0x0ffe),
]

/// The test's `pattern()`.
private func kernelPattern(_ x: Int) -> UInt8 {
  UInt8(truncatingIfNeeded: x) &+ UInt8(truncatingIfNeeded: x >> 8)
    &+ UInt8(truncatingIfNeeded: x >> 16)
}

/// `iov_kunit_create_buffer`: 256 pages, the first quarter swapped with the
/// third. Page `k` of the buffer is `pages[k]`.
private func kernelBuffer() throws -> (PagePool, [Folio]) {
  try #require(pageSize == 4096, "the kernel test's numbers assume 4 KiB pages")
  let count = bufferSize / pageSize
  let pool = try PagePool(pageCount: count, maxOrder: 0)
  var pages = try (0..<count).map { _ in try pool.allocatePage() }
  for i in 0..<(count / 4) { pages.swapAt(i, i + count / 2) }
  #expect(pages[3].frame == pages[2].frame + 1)
  #expect(pages[64].frame != pages[63].frame + 1)
  return (pool, pages)
}

/// Buffer byte `k`, wherever its page is.
private func bufferAddress(_ pages: [Folio], _ k: Int) -> UInt {
  pages[k / pageSize].address + UInt(k % pageSize)
}

/// The whole buffer, in buffer order.
private func readBuffer(_ pages: [Folio]) -> [UInt8] {
  pages.flatMap { bytes(at: $0.address, count: pageSize) }
}

/// Fills the buffer with `value(k)` at buffer byte `k`.
private func fillBuffer(_ pages: [Folio], _ value: (Int) -> UInt8) {
  for (n, page) in pages.enumerated() {
    page.withUnsafeMutableBytes { raw in
      for i in 0..<pageSize { raw[i] = value(n * pageSize + i) }
    }
  }
}

/// A model of `iov_iter_extract_folioq_pages` as lib/iov_iter.c walks it,
/// over a flat list of folios (the queue-segment hop changes nothing here):
/// the runs of successive calls on a cursor at `slot` and `iovOffset` with
/// `count` bytes, each call after `iov_iter_extract_pages` clamped `maxsize`
/// to the count.
private func kernelFolioqRuns(
  folios: [Folio], slot start: Int, iovOffset start0: Int, count start1: Int, maxSize: Int,
  maxPages: Int
) -> [Run] {
  var slot = start
  var iovOffset = start0
  var count = start1
  var runs: [Run] = []
  while count > 0 {
    let maxsize = min(maxSize, count)
    let offset0 = iovOffset % pageSize
    var frames: [UInt64] = []
    var extracted = 0
    while true {
      let fsize = folios[slot].byteCount
      if iovOffset < fsize {
        let part = min(pageSize - iovOffset % pageSize, maxsize - extracted, fsize - iovOffset)
        frames.append(UInt64(folios[slot].frame + iovOffset / pageSize))
        count -= part
        iovOffset += part
        extracted += part
      }
      if frames.count >= maxPages || extracted >= maxsize { break }
      if iovOffset >= fsize {
        iovOffset = 0
        slot += 1
      }
    }
    runs.append(Run(frames: frames, offset: offset0, count: extracted))
  }
  return runs
}

/// `iov_iter_folio_queue(…, 0, 0, count)` then `iov_iter_advance(from)`: the
/// slot and `iov_offset` the kernel's folio-queue advance lands on.
private func kernelFolioqAdvance(folios: [Folio], by from: Int) -> (slot: Int, iovOffset: Int) {
  var slot = 0
  var size = from
  while size > 0 {
    let fsize = folios[slot].byteCount
    if size < fsize { break }
    size -= fsize
    slot += 1
  }
  return (slot, size)
}

/// `iov_kunit_load_bvec`: an entry per range, except that a range that
/// starts a page merges into the entry before when that entry ended a page
/// and this page is the very next one in memory (`page == can_merge`).
private func kernelLoadBvec(_ pages: [Folio]) -> [PageFragment] {
  var fragments: [PageFragment] = []
  var canMerge: (pool: PagePool, frame: Int)? = nil
  for range in bvecTestRanges {
    let page = pages[range.page]
    if range.from == 0 && range.from != range.to, let next = canMerge,
      next.pool === page.pool, next.frame == page.frame
    {
      fragments[fragments.count - 1].length += range.to
    } else {
      fragments.append(PageFragment(folio: page, offset: range.from, length: range.to - range.from))
    }
    canMerge = range.to % pageSize == 0 ? (page.pool, page.frame + range.to / pageSize) : nil
  }
  return fragments
}

/// Extracts until the cursor is empty, as the kernel tests do.
private func kernelExtractAll<S: IterSegmentSource>(_ iter: inout IovIter<S>) throws -> [Run] {
  try extractAll(&iter, maxBytes: 100 * 1024, maxPages: 8)
}

@Suite("Kernel test layouts")
struct KernelLayoutTests {
  /// `iov_kunit_extract_pages_folioq`: for each range, a cursor over the
  /// queue from slot 0 with `to` bytes, advanced by `from`, then extraction
  /// of at most 100 KiB and 8 pages per call. The kernel lists the pages of
  /// several folios per call: 34 calls in all (one folio per call would make
  /// 247, one per page touched).
  @Test func folioQueueExtractionMakesTheKernelsCalls() throws {
    let (pool, pages) = try kernelBuffer()
    let queue = try FolioQueue(pages)
    #expect(queue.queueSegmentCount == 9)
    var calls: [[Run]] = []
    for range in kvecTestRanges {
      var iter = try IovIter(
        queue, direction: .source, firstSlot: FolioQueue.Slot(index: 0), offset: 0,
        count: range.to)
      try iter.advance(by: range.from)
      let runs = try kernelExtractAll(&iter)
      #expect(iter.count == 0)
      #expect(runs.reduce(0) { $0 + $1.count } == range.to - range.from)
      calls.append(runs)

      // The kernel test's own checks: the pages are the buffer's, in order,
      // the first from `from % PAGE_SIZE`, then whole pages.
      var from = range.from
      for run in runs {
        var offset0 = run.offset
        var len = run.count
        for frame in run.frames {
          let part = min(len, pageSize - offset0)
          #expect(frame == UInt64(pages[from / pageSize].frame), "range \(range), byte \(from)")
          #expect(offset0 == from % pageSize, "range \(range), byte \(from)")
          from += part
          len -= part
          offset0 = 0
        }
        #expect(len == 0)
      }
      #expect(from == range.to)

      // The same runs as the kernel's algorithm gives.
      let start = kernelFolioqAdvance(folios: pages, by: range.from)
      #expect(
        runs
          == kernelFolioqRuns(
            folios: pages, slot: start.slot, iovOffset: start.iovOffset,
            count: range.to - range.from, maxSize: 100 * 1024, maxPages: 8),
        "range \(range)")
    }
    // Worked out by hand: (0x18794 - 0x5193) spans 20 pages: 8 + 8 + 4;
    // 0x29000..<0xffffb spans 215 pages: 26 calls of 8 and one of 7.
    #expect(calls.map(\.count) == [0, 1, 3, 0, 1, 1, 27, 1])
    #expect(calls.joined().count == 34)
    #expect(
      calls[2].map { [$0.offset, $0.frames.count, $0.count] } == [
        [0x193, 8, 8 * pageSize - 0x193], [0, 8, 8 * pageSize], [0, 4, 3 * pageSize + 0x794],
      ])
    #expect(calls[6].last.map { [$0.offset, $0.frames.count, $0.count] } == [0, 7, 28667])
    // Over single-page folios the runs are a kvec's over the same bytes:
    // the pool's arena is one virtual range, walked by the default rule.
    for (range, runs) in zip(kvecTestRanges, calls) {
      let list = UnsafeSegmentList([
        IterSegment(
          base: UnsafeMutableRawPointer(bitPattern: pool.address + UInt(range.from)),
          count: range.to - range.from)
      ])
      var kvec = try IovIter(list, direction: .source)
      let shapes = try kernelExtractAll(&kvec).map { [$0.offset, $0.frames.count, $0.count] }
      #expect(runs.map { [$0.offset, $0.frames.count, $0.count] } == shapes, "range \(range)")
    }
    for page in pages { try page.put() }
    #expect(pool.audit().isEmpty)
  }

  /// `iov_kunit_copy_to_folioq` and `iov_kunit_copy_from_folioq`: for each
  /// range, copy `to - from` bytes after advancing by `from`; the cursor ends
  /// with `iov_offset == to % PAGE_SIZE`.
  @Test(arguments: [IterDirection.destination, .source])
  func folioQueueCopiesMatchTheKernelTest(direction: IterDirection) throws {
    let (pool, pages) = try kernelBuffer()
    let queue = try FolioQueue(pages)
    if direction == .destination {
      fillBuffer(pages) { _ in 0 }
    } else {
      fillBuffer(pages, kernelPattern)
    }
    var scratch = direction == .destination ? (0..<bufferSize).map(kernelPattern) : []
    var i = 0
    for range in kvecTestRanges {
      let size = range.to - range.from
      var iter = try IovIter(
        queue, direction: direction, firstSlot: FolioQueue.Slot(index: 0), offset: 0,
        count: range.to)
      try iter.advance(by: range.from)
      if direction == .destination {
        #expect(try iter.write(Array(scratch[i..<(i + size)])) == size)
      } else {
        scratch += try iter.read(upTo: size)
      }
      #expect(iter.count == 0)
      #expect(iter.segmentOffset == range.to % pageSize, "range \(range)")
      i += size
    }
    if direction == .destination {
      var expected = [UInt8](repeating: 0, count: bufferSize)
      var patt = 0
      for range in kvecTestRanges {
        for k in range.from..<range.to {
          expected[k] = kernelPattern(patt)
          patt += 1
        }
      }
      #expect(readBuffer(pages) == expected)
    } else {
      #expect(scratch == kvecTestRanges.flatMap { ($0.from..<$0.to).map(kernelPattern) })
    }
    for page in pages { try page.put() }
    #expect(pool.audit().isEmpty)
  }

  /// `iov_kunit_load_bvec` merges pages 3 to 6 of the buffer, which follow
  /// each other in memory, into one multi-page entry.
  @Test func loadBvecMergesNeighbouringPagesIntoOneEntry() throws {
    let (pool, pages) = try kernelBuffer()
    let fragments = kernelLoadBvec(pages)
    #expect(
      fragments.map { [$0.offset, $0.length] } == [
        [0x2, 0], [0x27, 0x86c], [0x193, 0x601], [0, 3 * pageSize + 0xffb], [0xffd, 1],
      ])
    #expect(fragments[3].folio == pages[3])
    let bvec = try BioVecArray(fragments)
    #expect(bvec.segmentCount == 5)
    #expect(bvec.segment(at: 3).address == pages[3].address)
    #expect(bvec.segment(at: 3).count == 0x3ffb)
    let iter = try IovIter(bvec, direction: .source)
    // Pages: 0 for the empty entry (skipped), then 1 + 1 + 4 + 1.
    #expect(try iter.pageCount() == 7)
    let alignment = fragments.filter { $0.length > 0 }.reduce(UInt(0)) {
      $0 | ($1.folio.address + UInt($1.offset)) | UInt($1.length)
    }
    #expect(try iter.alignment == alignment)
    for page in pages { try page.put() }
    #expect(pool.audit().isEmpty)
  }

  /// `iov_kunit_copy_to_bvec` and `iov_kunit_copy_from_bvec` over the
  /// merged layout.
  @Test(arguments: [IterDirection.destination, .source])
  func bvecCopiesMatchTheKernelTest(direction: IterDirection) throws {
    let (pool, pages) = try kernelBuffer()
    let bvec = try BioVecArray(kernelLoadBvec(pages))
    var iter = try IovIter(bvec, direction: direction)
    let size = iter.count
    #expect(size == bvecTestRanges.reduce(0) { $0 + $1.to - $1.from })
    if direction == .destination {
      fillBuffer(pages) { _ in 0 }
      #expect(try iter.write((0..<size).map(kernelPattern)) == size)
      var expected = [UInt8](repeating: 0, count: bufferSize)
      var patt = 0
      for range in bvecTestRanges {
        for k in range.from..<range.to {
          expected[range.page * pageSize + k] = kernelPattern(patt)
          patt += 1
        }
      }
      #expect(readBuffer(pages) == expected)
    } else {
      fillBuffer(pages, kernelPattern)
      let read = try iter.read(upTo: size)
      #expect(
        read
          == bvecTestRanges.flatMap { r in
            (r.from..<r.to).map { kernelPattern(r.page * pageSize + $0) }
          })
    }
    #expect(iter.count == 0)
    #expect(iter.segmentsRemaining == 0)
    for page in pages { try page.put() }
    #expect(pool.audit().isEmpty)
  }

  /// `iov_kunit_extract_pages_bvec` over the merged layout: the multi-page
  /// entry is one call of four pages, as `iov_iter_extract_bvec_pages`
  /// walks its page chunks; the other entries end or start inside a page, so
  /// each is a call of its own. Four calls in all.
  @Test func bvecExtractionMakesTheKernelsCalls() throws {
    let (pool, pages) = try kernelBuffer()
    let bvec = try BioVecArray(kernelLoadBvec(pages))
    var iter = try IovIter(bvec, direction: .source)
    let runs = try kernelExtractAll(&iter)
    let frame = { (k: Int) in UInt64(pages[k].frame) }
    #expect(
      runs == [
        Run(frames: [frame(1)], offset: 0x27, count: 0x86c),
        Run(frames: [frame(2)], offset: 0x193, count: 0x601),
        Run(frames: [frame(3), frame(4), frame(5), frame(6)], offset: 0, count: 0x3ffb),
        Run(frames: [frame(6)], offset: 0xffd, count: 1),
      ])
    // The kernel test's own walk over the unmerged ranges.
    var ranges = bvecTestRanges[...]
    var from = ranges.first!.from
    for run in runs {
      var offset0 = run.offset
      var len = run.count
      for listed in run.frames {
        while from == ranges.first!.to {
          ranges = ranges.dropFirst()
          from = ranges.first!.from
        }
        let part = min(len, pageSize - offset0)
        #expect(listed == frame(ranges.first!.page + from / pageSize))
        #expect(offset0 == from % pageSize)
        from += part
        len -= part
        offset0 = 0
      }
    }
    for page in pages { try page.put() }
    #expect(pool.audit().isEmpty)
  }

  /// `.retain` over the multi-page entry takes a reference on each of the
  /// four folios it covers, and the release puts each once.
  @Test func retainingAMultiPageEntryHoldsEveryFolioItTouches() throws {
    let (pool, pages) = try kernelBuffer()
    var iter = try IovIter(BioVecArray(kernelLoadBvec(pages)), direction: .source)
    try iter.advance(by: 0x86c + 0x601)
    let held = try iter.extractPages(maxBytes: .max, maxPages: 8, options: .retain)
    #expect(held.retentionKind == .pageReference)
    #expect(held.count == 0x3ffb)
    #expect((3...6).map { pages[$0].referenceCount } == [2, 2, 2, 2])
    #expect(pool.outstandingReferences == pages.count + 4)
    held.release()
    #expect((3...6).map { pages[$0].referenceCount } == [1, 1, 1, 1])
    for page in pages { try page.put() }
    #expect(pool.audit().isEmpty)
  }

  /// `iov_kunit_iter_to_sg_bvec`'s layout: every page merged into the entry
  /// before when it follows it in memory, so the swapped buffer is four
  /// entries of 64 pages. With 8 pages per call both the kernel and this
  /// make 32 calls. With 100 KiB per call and no page limit the kernel goes
  /// on from one entry to the next (11 calls); here a bvec run also needs the
  /// next entry at the next address, and these are not (12 calls).
  @Test func wholePageEntriesMergeAsIterToSgBvecMergesThem() throws {
    let (pool, pages) = try kernelBuffer()
    var fragments: [PageFragment] = []
    var canMerge: Int? = nil
    for page in pages {
      if page.frame == canMerge {
        fragments[fragments.count - 1].length += pageSize
      } else {
        fragments.append(PageFragment(folio: page))
      }
      canMerge = page.frame + 1
    }
    #expect(fragments.map(\.length) == Array(repeating: 64 * pageSize, count: 4))
    let bvec = try BioVecArray(fragments)
    var iter = try IovIter(bvec, direction: .source)
    let runs = try kernelExtractAll(&iter)
    #expect(runs.count == 32)
    #expect(runs.allSatisfy { $0.frames.count == 8 && $0.offset == 0 })
    #expect(runs.flatMap(\.frames) == pages.map { UInt64($0.frame) })
    var wide = try IovIter(bvec, direction: .source)
    #expect(try extractAll(&wide, maxBytes: 100 * 1024, maxPages: 1000).count == 12)
    for page in pages { try page.put() }
    #expect(pool.audit().isEmpty)
  }
}
