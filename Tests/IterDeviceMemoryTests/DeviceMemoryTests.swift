//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterDeviceMemory
import IterTestSupport
import Testing

/// Runs `body` and returns the error it threw, or `nil`.
func thrown<E: Error>(_ body: () throws(E) -> Void) -> E? {
  do throws(E) {
    try body()
    return nil
  } catch {
    return error
  }
}

@Suite("DeviceMemory apertures")
struct DeviceMemoryTests {
  let pageSize = IterPage.size

  @Test func anApertureIsWholeSharedPagesAtItsBusAddress() throws {
    let bar = try DeviceMemory(byteCount: 5000, busAddress: 0xF000_0000)
    #expect(bar.byteCount == 2 * pageSize)
    #expect(bar.address % UInt(pageSize) == 0)
    #expect(bar.busAddress == 0xF000_0000)
    #expect(bar.busAddress(atOffset: 0) == 0xF000_0000)
    #expect(bar.busAddress(atOffset: 4097) == 0xF000_1001)
    #expect(bar.busAddress(atOffset: 2 * pageSize) == nil)
    #expect(bar.busAddress(atOffset: -1) == nil)
    // Zero-filled, and writable through the CPU mapping.
    bar.withUnsafeMutableBytes { raw in
      #expect(raw.allSatisfy { $0 == 0 })
      raw[100] = 7
    }
    #expect(bar.withUnsafeMutableBytes { $0[100] } == 7)
    #expect("\(bar)".contains("@bus 0xf0000000"))
  }

  @Test func badAperturesAreTypedErrors() {
    let top = UInt64.max & ~UInt64(pageSize - 1)
    let cases: [(String, () throws(IterError) -> Void, (IterError) -> Bool)] = [
      (
        "negative", { () throws(IterError) in _ = try DeviceMemory(byteCount: -1, busAddress: 0) },
        { if case .negativeCount(argument: "byteCount", value: -1) = $0 { true } else { false } }
      ),
      (
        "zero", { () throws(IterError) in _ = try DeviceMemory(byteCount: 0, busAddress: 0) },
        { if case .invalidArgument(argument: "byteCount", _, _) = $0 { true } else { false } }
      ),
      (
        "too large", { () throws(IterError) in _ = try DeviceMemory(byteCount: .max, busAddress: 0) },
        { if case .lengthOverflow = $0 { true } else { false } }
      ),
      (
        "unaligned bus", { () throws(IterError) in _ = try DeviceMemory(byteCount: 10, busAddress: 0x1001) },
        { if case .invalidArgument(argument: "busAddress", _, _) = $0 { true } else { false } }
      ),
      (
        "wrapping bus", { () throws(IterError) in _ = try DeviceMemory(byteCount: 2 * 4096, busAddress: top) },
        { if case .invalidArgument(argument: "busAddress", _, _) = $0 { true } else { false } }
      ),
      (
        "negative file offset",
        { () throws(IterError) in
          _ = try DeviceMemory(mapping: 0, offset: -4096, byteCount: 4096, busAddress: 0)
        }, { if case .negativeCount(argument: "offset", _) = $0 { true } else { false } }
      ),
      (
        "unaligned file offset",
        { () throws(IterError) in
          _ = try DeviceMemory(mapping: 0, offset: 100, byteCount: 4096, busAddress: 0)
        }, { if case .invalidArgument(argument: "offset", _, _) = $0 { true } else { false } }
      ),
      (
        "bad descriptor",
        { () throws(IterError) in
          _ = try DeviceMemory(mapping: -1, offset: 0, byteCount: 4096, busAddress: 0)
        }, { if case .systemCall(name: "mmap", errno: EBADF) = $0 { true } else { false } }
      ),
    ]
    for (name, make, expected) in cases {
      let error = thrown(make)
      #expect(error.map(expected) == true, "\(name): got \(String(describing: error))")
    }
    // The last page of the bus address space is fine.
    #expect(thrown { () throws(IterError) in _ = try DeviceMemory(byteCount: 1, busAddress: top) } == nil)
  }

  /// Two apertures over one shared file see each other's writes: the mapping
  /// is shared, as a BAR is the same memory to everyone who maps it.
  @Test func aFileMappedTwiceIsOneMemory() throws {
    let name = "/iter-devmem-test-\(getpid())"
    let fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0o600)
    try #require(fd >= 0)
    _ = shm_unlink(name)
    defer { _ = close(fd) }
    try #require(ftruncate(fd, off_t(4 * pageSize)) == 0)
    let a = try DeviceMemory(mapping: fd, offset: 0, byteCount: 4 * pageSize, busAddress: 0x1_0000_0000)
    let b = try DeviceMemory(mapping: fd, offset: pageSize, byteCount: 2 * pageSize, busAddress: 0x2_0000_0000)
    #expect(a.address != b.address)
    var into = try IovIter(
      try DeviceRangeArray([DeviceRange(a, offset: pageSize + 10, count: 5)]), direction: .destination)
    #expect(try into.write([1, 2, 3, 4, 5]) == 5)
    var out = try IovIter(try DeviceRangeArray([DeviceRange(b, offset: 10, count: 5)]), direction: .source)
    #expect(try out.read(upTo: 5) == [1, 2, 3, 4, 5])
  }
}

@Suite("DeviceRangeArray")
struct DeviceRangeArrayTests {
  let pageSize = IterPage.size

  @Test func badRangesAreTypedErrorsAndChangeNothing() throws {
    let bar = try DeviceMemory(byteCount: 2 * pageSize, busAddress: 0)
    var ranges = try DeviceRangeArray([DeviceRange(bar, offset: 0, count: 10)])
    let bad: [(Int, Int, String)] = [
      (0, -1, "negative length"), (-1, 10, "negative offset"), (2 * pageSize, 1, "past the end"),
      (2 * pageSize + 1, 0, "past the end"), (pageSize, pageSize + 1, "past the end"),
      (1, .max, "past the end"), (.max, .max, "past the end"), (.min, 0, "negative offset"),
    ]
    for (offset, count, reason) in bad {
      let error = thrown { () throws(IterError) in try ranges.append(bar, offset: offset, count: count) }
      guard case .invalidSegment(index: 1, count: count, let why)? = error else {
        Issue.record("offset \(offset) count \(count): \(String(describing: error))")
        continue
      }
      #expect(why.contains(reason), "\(why)")
      #expect(ranges.count == 1 && ranges.byteCount == 10)
    }
    // Entries at the very end, empty or not, are fine.
    try ranges.append(bar, offset: 2 * pageSize, count: 0)
    try ranges.append(DeviceRange(bar, offset: pageSize, count: pageSize))
    #expect(ranges.count == 3 && ranges.byteCount == 10 + pageSize)
    #expect(ranges[2].offset == pageSize && ranges[2].busAddress == UInt64(pageSize))
    #expect(ranges.entries.map(\.count) == [10, 0, pageSize])
    // An initializer with a bad entry creates nothing.
    let error = thrown { () throws(IterError) in
      _ = try DeviceRangeArray([DeviceRange(bar), DeviceRange(bar, offset: 1, count: 2 * pageSize)])
    }
    #expect(error.map { if case .invalidSegment(index: 1, _, _) = $0 { true } else { false } } == true)
  }

  @Test func copiesGoThroughTheCPUMappingBothWays() throws {
    let bar = try DeviceMemory(byteCount: 4 * pageSize, busAddress: 0xE000_0000)
    let ranges = try DeviceRangeArray([
      DeviceRange(bar, offset: 3 * pageSize - 5, count: 100), DeviceRange(bar, offset: 0, count: 0),
      DeviceRange(bar, offset: 17, count: 3),
    ])
    #expect(ranges.memoryKind == .deviceMemory && ranges.memoryKind.name == "device")
    #expect(ranges.supportedDirections == .both)
    var w = try IovIter(ranges, direction: .destination)
    let bytes = (0..<103).map { UInt8($0 + 1) }
    #expect(try w.write(bytes) == 103)
    bar.withUnsafeMutableBytes { raw in
      #expect(Array(raw[(3 * pageSize - 5)..<(3 * pageSize + 95)]) == Array(bytes[0..<100]))
      #expect(Array(raw[17..<20]) == Array(bytes[100...]))
    }
    var r = try IovIter(ranges, direction: .source)
    #expect(try r.read(upTo: 200) == bytes)
  }

  @Test func extractionListsPagesAndHoldsNothing() throws {
    let bar = try DeviceMemory(byteCount: 4 * pageSize, busAddress: 0xE000_0000)
    let ranges = try DeviceRangeArray([
      DeviceRange(bar, offset: 100, count: 3 * pageSize - 200), DeviceRange(bar, offset: 0, count: 0),
      // Follows on in the aperture, still its own run.
      DeviceRange(bar, offset: 3 * pageSize - 100, count: 50),
    ])
    #expect(ranges.retention(for: []) == .none && ranges.retention(for: .retain) == .none)
    #expect(!ranges.extractionWillPin)
    var iter = try IovIter(ranges, direction: .source)
    let first = try iter.extractPages(maxBytes: .max, maxPages: 2)
    let base = bar.address
    #expect(first.pages.map(\.address) == [base, base + UInt(pageSize)])
    #expect(first.offset == 100 && first.count == 2 * pageSize - 100)
    #expect(first.retentionKind == .none)
    first.release()
    let second = try iter.extractPages(maxBytes: .max, maxPages: 8)
    #expect(second.pages.map(\.address) == [base + UInt(2 * pageSize)] && second.count == pageSize - 100)
    second.release()
    let third = try iter.extractPages(maxBytes: .max, maxPages: 8)
    #expect(third.offset == pageSize - 100 && third.count == 50)
    third.release()
    #expect(iter.count == 0)
  }

  @Test func retainIsRefusedTypedAndMovesNothing() throws {
    let bar = try DeviceMemory(byteCount: pageSize, busAddress: 0)
    let ranges = try DeviceRangeArray([DeviceRange(bar, offset: 0, count: 0), DeviceRange(bar, offset: 8, count: 64)])
    var iter = try IovIter(ranges, direction: .destination)
    let state = iter.saveState()
    let error = thrown { () throws(IterError) in
      _ = try iter.extractPages(maxBytes: 10, maxPages: 1, options: .retain)
    }
    #expect(error == .extractionUnsupported(kind: .deviceMemory))
    #expect(iter.saveState() == state && iter.count == 64)
    // Nothing to extract is never refused.
    let none = try iter.extractPages(maxBytes: 0, maxPages: 1, options: .retain)
    #expect(none.count == 0)
    none.release()
    let direct = try ranges.extractPages(
      at: IterPosition(segmentIndex: 2, offset: 0), maxBytes: 10, maxPages: 1, options: .retain)
    #expect(direct.count == 0)
    direct.release()
    // Without retain the same call lists the page.
    let listed = try iter.extractPages(maxBytes: 10, maxPages: 1)
    #expect(listed.count == 10 && listed.pages == [IterPage(address: bar.address)] && listed.offset == 8)
    listed.release()
  }

  @Test func directExtractionWithBadArgumentsIsTyped() throws {
    let bar = try DeviceMemory(byteCount: pageSize, busAddress: 0)
    let ranges = try DeviceRangeArray([DeviceRange(bar, offset: 0, count: 64)])
    let cases: [(IterPosition, Int, Int, (IterError) -> Bool)] = [
      (
        IterPosition(segmentIndex: 0, offset: 0), -1, 1,
        { if case .negativeCount(argument: "maxBytes", _) = $0 { true } else { false } }
      ),
      (
        IterPosition(segmentIndex: 0, offset: 0), 10, 0,
        { if case .invalidArgument(argument: "maxPages", _, _) = $0 { true } else { false } }
      ),
      (
        IterPosition(segmentIndex: -1, offset: 0), 10, 1,
        { if case .invalidArgument(argument: "position.segmentIndex", _, _) = $0 { true } else { false } }
      ),
      (
        IterPosition(segmentIndex: 2, offset: 0), 10, 1,
        { if case .invalidArgument(argument: "position.segmentIndex", _, _) = $0 { true } else { false } }
      ),
      (
        IterPosition(segmentIndex: 0, offset: -5), 10, 1,
        { if case .invalidArgument(argument: "position.offset", _, _) = $0 { true } else { false } }
      ),
      (
        IterPosition(segmentIndex: 0, offset: 65), 10, 1,
        { if case .invalidArgument(argument: "position.offset", _, _) = $0 { true } else { false } }
      ),
      (
        IterPosition(segmentIndex: Int.max, offset: Int.max), .max, .max,
        { if case .invalidArgument = $0 { true } else { false } }
      ),
    ]
    for (position, maxBytes, maxPages, expected) in cases {
      for options in [IterExtractionOptions(), .retain] {
        let error = thrown { () throws(IterError) in
          _ = try ranges.extractPages(at: position, maxBytes: maxBytes, maxPages: maxPages, options: options)
        }
        #expect(error.map(expected) == true, "\(position) \(maxBytes) \(maxPages): \(String(describing: error))")
      }
    }
    // The end, and a run of at most maxBytes from inside the entry.
    let end = try ranges.extractPages(
      at: IterPosition(segmentIndex: 1, offset: 0), maxBytes: 10, maxPages: 1, options: [])
    #expect(end.count == 0)
    end.release()
    let tail = try ranges.extractPages(
      at: IterPosition(segmentIndex: 0, offset: 60), maxBytes: 10, maxPages: 1, options: [])
    #expect(tail.count == 4 && tail.offset == 60)
    tail.release()
  }

  @Test func theArrayKeepsItsAperturesMapped() throws {
    var iter: IovIter<DeviceRangeArray>
    do {
      let bar = try DeviceMemory(byteCount: pageSize, busAddress: 0)
      bar.withUnsafeMutableBytes { $0[5] = 42 }
      iter = try IovIter(try DeviceRangeArray([DeviceRange(bar, offset: 5, count: 1)]), direction: .source)
    }
    #expect(try iter.read(upTo: 1) == [42])
  }
}
