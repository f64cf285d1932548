//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterBridge
import IterCore
import Testing

@_silgen_name("capget") func _capget(_ header: UnsafeMutableRawPointer, _ data: UnsafeMutableRawPointer) -> Int32
@_silgen_name("capset") func _capset(_ header: UnsafeMutableRawPointer, _ data: UnsafeMutableRawPointer) -> Int32

/// Drops CAP_SYS_ADMIN (21) from this process's effective set.
func dropSysAdmin() -> Bool {
  var header: (UInt32, Int32) = (0x2008_0522, 0)  // _LINUX_CAPABILITY_VERSION_3
  var data = [UInt32](repeating: 0, count: 6)  // 2 × {effective, permitted, inheritable}
  return withUnsafeMutableBytes(of: &header) { h in
    data.withUnsafeMutableBytes { d in
      guard _capget(h.baseAddress!, d.baseAddress!) == 0 else { return false }
      d.storeBytes(of: d.load(as: UInt32.self) & ~(1 << 21), as: UInt32.self)
      return _capset(h.baseAddress!, d.baseAddress!) == 0
    }
  }
}

/// A touched, locked anonymous mapping.
final class Mapping {
  let base: UnsafeMutableRawPointer
  let count: Int
  let raw: UnsafeMutableRawPointer
  let rawCount: Int

  init(bytes: Int, alignment: Int = 4096, hugePages: Bool = false) throws {
    rawCount = bytes + alignment
    raw = mmap(nil, rawCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
    try #require(raw != MAP_FAILED)
    let aligned = (UInt(bitPattern: raw) + UInt(alignment - 1)) & ~UInt(alignment - 1)
    base = UnsafeMutableRawPointer(bitPattern: aligned)!
    count = bytes
    if hugePages { _ = madvise(base, count, 14) }  // MADV_HUGEPAGE
    for i in stride(from: 0, to: count, by: 4096) {
      base.storeBytes(of: UInt8(truncatingIfNeeded: i >> 12), toByteOffset: i, as: UInt8.self)
    }
    _ = mlock(base, count)
  }

  deinit {
    munlock(base, count)
    munmap(raw, rawCount)
  }

  /// Reads the pagemap entries of the mapping with one pread, independently of the translator.
  func pagemapFrames() -> [UInt64] {
    let pages = count / 4096
    var entries = [UInt64](repeating: 0, count: pages)
    let fd = open("/proc/self/pagemap", O_RDONLY)
    defer { close(fd) }
    let got = entries.withUnsafeMutableBytes {
      pread(fd, $0.baseAddress, $0.count, off_t(UInt(bitPattern: base) / 4096 * 8))
    }
    precondition(got == pages * 8, "pagemap read \(got)")
    return entries.map { $0 & (1 << 63) != 0 ? $0 & ((1 << 55) - 1) : 0 }
  }
}

@Suite("PagemapTranslator", .serialized)
struct PagemapTranslatorTests {
  static let unlimited = try! DMALimits(
    maxSegmentSize: UInt32.max, segmentBoundaryMask: UInt64.max, maxSegments: 65535, dmaAlignment: 0,
    maxHWSectors: UInt32.max, maxUserSectors: UInt32.max)

  /// Maps the whole mapping in one request and checks it against `frames`.
  func check(_ m: Mapping, frames: [UInt64]) throws -> (chunks: Int, runs: Int) {
    let translator = try PagemapTranslator()
    var mapper = BioVecMapper(limits: Self.unlimited, translator: translator)
    var request = BioVecRequest(for: Self.unlimited)
    var iter = try IovIter(UnsafeSegmentList([IterSegment(base: m.base, count: m.count)]), direction: .source)
    #expect(try mapper.mapNextRequest(from: &iter, into: &request))
    #expect(iter.count == 0)
    var page = 0
    for v in request.array {
      #expect(v.address % 4096 == 0 && v.length % 4096 == 0)
      for k in 0..<Int(v.length) / 4096 {
        #expect(frames[page] == v.address / 4096 + UInt64(k), "page \(page)")
        page += 1
      }
    }
    #expect(page == frames.count)
    var runs = 1
    for i in 1..<frames.count where frames[i] != frames[i - 1] + 1 { runs += 1 }
    #expect(request.count == runs)
    #expect(translator.readCount <= frames.count / 4096 + 2, "batched: \(translator.readCount) reads")
    return (request.count, runs)
  }

  @Test func realBufferAgreesWithPagemap() throws {
    let m = try Mapping(bytes: 64 << 20)
    let frames = m.pagemapFrames()
    guard frames.allSatisfy({ $0 != 0 }) else {
      print("skipped: /proc/self/pagemap shows no frames here (no CAP_SYS_ADMIN, or pages not present)")
      return
    }
    let (chunks, _) = try check(m, frames: frames)
    print("pagemap: 64 MiB, \(frames.count) pages, \(chunks) physically contiguous chunks")
  }

  @Test func hugePagesComeOutInFarFewerChunks() throws {
    let m = try Mapping(bytes: 64 << 20, alignment: 2 << 20, hugePages: true)
    let frames = m.pagemapFrames()
    guard frames.allSatisfy({ $0 != 0 }) else {
      print("skipped: /proc/self/pagemap shows no frames here")
      return
    }
    let (chunks, _) = try check(m, frames: frames)
    print("THP: \(frames.count) pages, \(chunks) contiguous chunks")
    #expect(chunks * 16 <= frames.count, "THP gave \(chunks) chunks for \(frames.count) pages")
  }

  @Test func withoutCapSysAdminFramesAreHiddenTyped() async {
    await #expect(processExitsWith: .success) {
      guard dropSysAdmin() else { exit(2) }
      let p = UnsafeMutableRawPointer.allocate(byteCount: 8192, alignment: 4096)
      p.storeBytes(of: 1, as: UInt8.self)
      do throws(DMAError) {
        let t = try PagemapTranslator()
        _ = try t.translate(UInt(bitPattern: p), length: 4096)
        exit(3)
      } catch .framesHidden(let address) {
        exit(address == UInt(bitPattern: p) ? 0 : 4)
      } catch {
        exit(5)
      }
    }
  }

  @Test func entriesAreDecodedThroughTheSeam() throws {
    // Page 0x100: present frame 7; 0x101: present frame 8; 0x102: hidden;
    // 0x103: swapped; 0x104: not present.
    let entries: [UInt: UInt64] = [
      0x100: 1 << 63 | 7, 0x101: 1 << 63 | 8, 0x102: 1 << 63, 0x103: 1 << 62 | 0x55, 0x104: 0,
    ]
    let t = PagemapTranslator(batchPages: 8) { buffer, offset in
      let first = UInt(offset / 8)
      for i in 0..<buffer.count / 8 {
        buffer.storeBytes(of: entries[first + UInt(i)] ?? 0, toByteOffset: i * 8, as: UInt64.self)
      }
      return buffer.count
    }
    let run = try t.translate(0x100_010, length: 3 * 4096)
    #expect(run == PhysicalRun(address: 7 * 4096 + 0x10, length: 2 * 4096 - 0x10))
    #expect(throws: DMAError.framesHidden(address: 0x102_000)) { try t.translate(0x102_000, length: 1) }
    #expect(throws: DMAError.pageSwapped(address: 0x103_000)) { try t.translate(0x103_000, length: 1) }
    #expect(throws: DMAError.pageNotPresent(address: 0x104_000)) { try t.translate(0x104_000, length: 1) }
    #expect(try t.entry(at: 0x102_000) == .frameHidden)
    // Cached until invalidated.
    let reads = t.readCount
    _ = try t.translate(0x100_000, length: 1)
    #expect(t.readCount == reads)
    t.invalidate(range: 0x100_000..<0x101_000)
    _ = try t.translate(0x100_000, length: 1)
    #expect(t.readCount == reads + 1)
    // A failing read is a typed error.
    let failing = PagemapTranslator { _, _ in
      errno = EIO
      return -1
    }
    #expect(throws: DMAError.systemCall(name: "pread(/proc/self/pagemap)", errno: EIO)) {
      try failing.translate(0x1000, length: 1)
    }
  }
}
