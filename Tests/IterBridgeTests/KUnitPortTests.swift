//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterBridge
import IterCore
import IterTestSupport
import IterTypes
import Testing

// The kernel's own iov_iter KUnit cases (lib/tests/kunit_iov_iter.c) that the
// page-fragment tests do not already rebuild: the kvec copies and extraction,
// and the five `extract_iter_to_sg` cases. Each keeps the kernel test's
// buffer size, ranges, limits and order of calls, and checks what the kernel
// test checks, through the public API only.

private let kunitPageSize = IterPage.size
private let kunitBufferSize = 0x10_0000

/// `kvec_test_ranges`.
private let kunitKVecRanges: [(from: Int, to: Int)] = [
  (0x00002, 0x00002), (0x00027, 0x03000), (0x05193, 0x18794), (0x20000, 0x20000),
  (0x20000, 0x24000), (0x24000, 0x27001), (0x29000, 0xffffb), (0xffffd, 0xffffe),
]

/// The test's `pattern()`.
private func kunitPattern(_ x: Int) -> UInt8 {
  UInt8(truncatingIfNeeded: x) &+ UInt8(truncatingIfNeeded: x >> 8) &+ UInt8(truncatingIfNeeded: x >> 16)
}

/// A 1 MiB kernel-virtual region and `iov_kunit_load_kvec`'s entries over it.
private func kunitKVecs(over region: VirtualRegion) throws -> KVecArray {
  try KVecArray(kunitKVecRanges.map { KVec(region, offset: $0.from, count: $0.to - $0.from) })
}

private func fill(_ region: VirtualRegion, _ value: (Int) -> UInt8) {
  region.withUnsafeMutableBytes { raw in
    for i in 0..<raw.count { raw[i] = value(i) }
  }
}

private func contents(_ region: VirtualRegion) -> [UInt8] {
  region.withUnsafeMutableBytes { Array($0) }
}

@Suite("The kernel's KUnit cases: kvec and extract_iter_to_sg", .pinsExclusively)
struct KUnitPortTests {
  init() throws {
    try #require(kunitPageSize == 4096, "the kernel test's numbers assume 4 KiB pages")
  }

  /// `iov_kunit_copy_to_kvec`.
  @Test func copyToKVec() throws {
    let regions = VirtualAllocator()
    let buffer = try regions.allocate(byteCount: kunitBufferSize)
    fill(buffer) { _ in 0 }
    let scratch = (0..<kunitBufferSize).map(kunitPattern)
    var iter = try IovIter(try kunitKVecs(over: buffer), direction: .destination)
    let size = iter.count
    let copied = try iter.write(Array(scratch.prefix(size)))
    #expect(copied == size)
    #expect(iter.count == 0)
    #expect(iter.segmentsRemaining == 0)
    var expected = [UInt8](repeating: 0, count: kunitBufferSize)
    var patt = 0
    for range in kunitKVecRanges {
      for i in range.from..<range.to {
        expected[i] = kunitPattern(patt)
        patt += 1
      }
    }
    #expect(contents(buffer) == expected)
  }

  /// `iov_kunit_copy_from_kvec`.
  @Test func copyFromKVec() throws {
    let regions = VirtualAllocator()
    let buffer = try regions.allocate(byteCount: kunitBufferSize)
    fill(buffer, kunitPattern)
    var iter = try IovIter(try kunitKVecs(over: buffer), direction: .source)
    let size = min(iter.count, kunitBufferSize)
    let scratch = try iter.read(upTo: size)
    #expect(scratch.count == size)
    #expect(iter.count == 0)
    #expect(iter.segmentsRemaining == 0)
    var expected: [UInt8] = []
    for range in kunitKVecRanges {
      for j in range.from..<range.to { expected.append(kunitPattern(j)) }
    }
    #expect(scratch == expected)
  }

  /// `iov_kunit_extract_pages_kvec`: 100 KiB and 8 pages a call until the
  /// cursor is empty; every page listed is the buffer's page under the next
  /// byte of the ranges, and only the first has an offset.
  @Test func extractPagesKVec() throws {
    let regions = VirtualAllocator()
    let buffer = try regions.allocate(byteCount: kunitBufferSize)
    var iter = try IovIter(try kunitKVecs(over: buffer), direction: .destination)
    var size = iter.count
    var rangeIndex = 0
    var from = kunitKVecRanges[0].from
    var calls = 0
    extraction: repeat {
      let run = try iter.extractPages(maxBytes: 100 * 1024, maxPages: 8)
      calls += 1
      var len = run.count
      #expect(len >= 0 && len <= size)
      #expect(run.offset >= 0 && run.offset < kunitPageSize)
      #expect(iter.count == size - len)
      size -= len
      if len == 0 { break }
      var offset0 = run.offset
      for page in run.pages {
        let part = min(len, kunitPageSize - offset0)
        while from == kunitKVecRanges[rangeIndex].to {
          rangeIndex += 1
          if rangeIndex == kunitKVecRanges.count { break extraction }
          from = kunitKVecRanges[rangeIndex].from
        }
        #expect(page.address == buffer.address + UInt(from / kunitPageSize * kunitPageSize))
        #expect(offset0 == from % kunitPageSize)
        from += part
        len -= part
        if len == 0 { break }
        offset0 = 0
      }
      #expect(len == 0, "the pages listed hold fewer bytes than the run")
      run.release()
    } while iter.count > 0
    #expect(size == 0)
    #expect(iter.count == 0)
    #expect(calls > kunitKVecRanges.filter { $0.to > $0.from }.count)
    #expect(regions.extractionRetentionCount == 0)
  }

  // MARK: - extract_iter_to_sg

  /// `iov_kunit_iter_to_sg_check`: no entries allowed, then one, then the
  /// rest of the table up to 16 pages before the end, then the tail; the
  /// table then reads back as the pattern.
  func iterToSGCheck<S: IterSegmentSource>(_ iter: inout IovIter<S>, heldAfterRelease: () -> Int) throws {
    let bufferSize = kunitBufferSize
    let pageCount = bufferSize / kunitPageSize
    let tail = 16 * kunitPageSize
    var table = try ScatterlistTable(entryCount: pageCount)
    table.nents = 0
    let held = heldAfterRelease()

    let none = try extractIterToScatterlist(&iter, maxBytes: bufferSize, into: &table, maxEntries: 0)
    #expect(none.byteCount == 0 && none.entryCount == 0)
    #expect(table.nents == 0)
    none.release()

    let one = try extractIterToScatterlist(&iter, maxBytes: bufferSize - tail, into: &table, maxEntries: 1)
    var i = one.byteCount
    #expect(i <= bufferSize - tail)
    #expect(table.nents == 1)

    let body = try extractIterToScatterlist(
      &iter, maxBytes: bufferSize - tail - i, into: &table, maxEntries: pageCount - table.nents)
    i += body.byteCount
    #expect(i == bufferSize - tail)
    #expect(table.nents <= pageCount)

    let rest = try extractIterToScatterlist(&iter, maxBytes: tail, into: &table, maxEntries: pageCount - table.nents)
    i += rest.byteCount
    #expect(i == bufferSize)
    #expect(table.nents <= pageCount)
    #expect(iter.isEmpty)

    let slots = try table.slots(count: table.nents)
    let last = try #require(slots.last)
    try last.array.markEnd(at: last.index)
    #expect(slots.allSatisfy { $0.entry.length > 0 && $0.entry.offset + $0.entry.length <= kunitPageSize })

    var scratch = [UInt8](repeating: 0, count: bufferSize)
    var span = scratch.mutableSpan
    var raw = span.mutableBytes
    #expect(try table.copy(into: &raw) == bufferSize)
    #expect(scratch == (0..<bufferSize).map(kunitPattern))

    one.release()
    body.release()
    rest.release()
    #expect(heldAfterRelease() == held)
  }

  /// `iov_kunit_iter_to_sg_kvec`: one kvec over the whole buffer.
  @Test func iterToSGKVec() throws {
    let regions = VirtualAllocator()
    let buffer = try regions.allocate(byteCount: kunitBufferSize)
    fill(buffer, kunitPattern)
    var iter = try IovIter(try KVecArray([KVec(buffer)]), direction: .destination)
    try iterToSGCheck(&iter) { regions.extractionRetentionCount }
  }

  /// The kernel test's buffer over a page pool: 256 pages, the first quarter
  /// swapped with the third, so that the buffer is not contiguous.
  func swappedPages() throws -> (PagePool, [Folio]) {
    let count = kunitBufferSize / kunitPageSize
    let pool = try PagePool(pageCount: count, maxOrder: 0)
    var pages = try (0..<count).map { _ in try pool.allocatePage() }
    for i in 0..<(count / 4) { pages.swapAt(i, i + count / 2) }
    for (n, page) in pages.enumerated() {
      page.withUnsafeMutableBytes { raw in
        for i in 0..<kunitPageSize { raw[i] = kunitPattern(n * kunitPageSize + i) }
      }
    }
    return (pool, pages)
  }

  /// `iov_kunit_iter_to_sg_bvec`: a page merges into the entry before when
  /// it is the very next page in memory.
  @Test func iterToSGBvec() throws {
    let (pool, pages) = try swappedPages()
    var fragments: [PageFragment] = []
    var canMerge: Int? = nil
    for page in pages {
      if page.frame == canMerge {
        fragments[fragments.count - 1].length += kunitPageSize
      } else {
        fragments.append(PageFragment(folio: page))
      }
      canMerge = page.frame + 1
    }
    var iter = try IovIter(try BioVecArray(fragments), direction: .destination)
    try iterToSGCheck(&iter) { pool.outstandingReferences }
    for page in pages { try page.put() }
    #expect(pool.audit().isEmpty)
  }

  /// `iov_kunit_iter_to_sg_folioq`: a folio queue of the buffer's pages.
  @Test func iterToSGFolioQueue() throws {
    let (pool, pages) = try swappedPages()
    let queue = try FolioQueue(pages)
    var iter = try IovIter(queue, direction: .destination, offset: 0, count: kunitBufferSize)
    try iterToSGCheck(&iter) { pool.outstandingReferences }
    for page in pages { try page.put() }
    #expect(pool.audit().isEmpty)
  }

  /// `iov_kunit_iter_to_sg_ubuf`: an anonymous private mapping, whose pages
  /// a user extraction pins.
  @Test func iterToSGUserBuffer() throws {
    let memory = TestMemory(size: kunitBufferSize)
    for i in 0..<kunitBufferSize { memory.base.storeBytes(of: kunitPattern(i), toByteOffset: i, as: UInt8.self) }
    let buffer = try UserBuffer(
      importing: UnsafeMutableRawBufferPointer(start: memory.base, count: kunitBufferSize))
    var iter = try IovIter(buffer, direction: .destination)
    #expect(iter.extractionWillPin)
    try iterToSGCheck(&iter) { UserPinRegistry.shared.totalPinCount }
  }
}
