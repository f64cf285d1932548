//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterTestSupport
import IterUser
import Testing

/// The three user kinds over the same bytes: pages 1 and 2 of `m`, as one
/// buffer, as an array of three entries (one empty), and as an import.
private func kinds(_ m: MappedPages) throws -> [any UserMemorySource] {
  let table = [m.slice(pageSize, pageSize), m.slice(0, 0), m.slice(2 * pageSize, pageSize)]
  return [
    try UserBuffer(importing: m.slice(pageSize, 2 * pageSize)),
    try UserIOVecArray(importing: table),
    try UserImport(importing: table),
  ]
}

/// The outcome of a direct call, with any pin released at once.
private func extract(
  _ source: some UserMemorySource, at position: IterPosition, maxBytes: Int, maxPages: Int
) -> Result<Int, IterError> {
  outcome { () throws(IterError) in
    let extraction = try source.extractPages(
      at: position, maxBytes: maxBytes, maxPages: maxPages, options: [])
    let count = extraction.count
    extraction.release()
    return count
  }
}

/// `extractPages(at:maxBytes:maxPages:options:)` is public protocol API: a
/// caller may pass what a cursor never does. Each such call gets a typed error
/// or an empty result, pins nothing, and never traps.
@Suite("Direct extraction calls", .serialized, .pinsExclusively)
struct ExtractionArgumentTests {
  static let edges = [Int.min, -1, 0, 1, Int.max]

  /// Calls each kind directly and compares with `expected(kind)`; nothing may
  /// stay pinned.
  func check(
    at position: IterPosition, maxBytes: Int = .max, maxPages: Int = .max,
    expected: (any UserMemorySource) -> Result<Int, IterError>
  ) throws {
    let m = MappedPages(pages: 4)
    for source in try kinds(m) {
      #expect(
        extract(source, at: position, maxBytes: maxBytes, maxPages: maxPages) == expected(source),
        "\(type(of: source))")
    }
    #expect(UserPinRegistry.shared.totalPinCount == 0)
  }

  /// Both pages of the buffer; one entry of the array.
  static func firstRun(_ source: any UserMemorySource) -> Int {
    source.segmentCount == 1 ? 2 * pageSize : pageSize
  }

  @Test(arguments: edges)
  func maxBytesAtTheEdges(maxBytes: Int) throws {
    try check(at: IterPosition(segmentIndex: 0, offset: 0), maxBytes: maxBytes, maxPages: 4) {
      switch maxBytes {
      case ..<0: .failure(.negativeCount(argument: "maxBytes", value: maxBytes))
      case 0, 1: .success(maxBytes)
      default: .success(Self.firstRun($0))
      }
    }
  }

  @Test(arguments: edges)
  func maxPagesAtTheEdges(maxPages: Int) throws {
    try check(at: IterPosition(segmentIndex: 0, offset: 0), maxPages: maxPages) {
      maxPages < 1
        ? .failure(
          .invalidArgument(argument: "maxPages", value: maxPages, reason: "must be at least 1"))
        : .success(maxPages == 1 ? pageSize : Self.firstRun($0))
    }
  }

  @Test(arguments: edges)
  func segmentIndexAtTheEdges(segmentIndex: Int) throws {
    try check(at: IterPosition(segmentIndex: segmentIndex, offset: 0)) { source in
      switch segmentIndex {
      case 0: .success(Self.firstRun(source))
      case 1: .success(source.segmentCount == 1 ? 0 : pageSize)  // the end; the empty entry skipped
      default:
        .failure(
          .invalidArgument(
            argument: "position.segmentIndex", value: segmentIndex,
            reason: "outside 0...\(source.segmentCount), the segments of the source"))
      }
    }
  }

  @Test(arguments: [Int.min, -1, 0, pageSize, pageSize + 1, Int.max])
  func offsetAtTheEdges(offset: Int) throws {
    try check(at: IterPosition(segmentIndex: 0, offset: offset)) { source in
      let length = source.segment(at: 0).count
      guard offset >= 0 && offset <= length else {
        return .failure(
          .invalidArgument(
            argument: "position.offset", value: offset,
            reason: "outside 0...\(length), the bytes of segment 0"))
      }
      // From the offset to the end of the entry, or all of the next non-empty one.
      return .success(offset < length ? length - offset : pageSize)
    }
  }

  /// The end of each source: segment `segmentCount`, offset 0 is empty; any
  /// other offset there is outside.
  @Test(arguments: [0, 1])
  func positionAtTheEnd(offset: Int) throws {
    let m = MappedPages(pages: 4)
    for source in try kinds(m) {
      let end = source.segmentCount
      #expect(
        extract(
          source, at: IterPosition(segmentIndex: end, offset: offset), maxBytes: 1, maxPages: 1)
          == (offset == 0
            ? .success(0)
            : .failure(
              .invalidArgument(
                argument: "position.offset", value: 1,
                reason: "outside 0...0, the bytes of segment \(end)"))))
    }
  }

  /// A buffer lent from memory that is not mapped imports fine (the import
  /// checks only what `access_ok` can), and extraction then fails with the
  /// address, fast, whatever its size.
  @Test(arguments: [1, pageSize, IterLimits.maxReadWriteCount])
  func extractionFromUnmappedMemoryIsABadAddress(count: Int) throws {
    let bogus = UnsafeMutableRawPointer(bitPattern: UInt(1) << 46)
    var iter = try IovIter(
      importing: UnsafeMutableRawBufferPointer(start: bogus, count: count), direction: .source)
    let state = iter.saveState()
    #expect(
      throws: IterError.badAddress(address: UInt(1) << 46, count: count, reason: "not mapped")
    ) {
      _ = try iter.extractPages(maxBytes: .max, maxPages: .max)
    }
    #expect(iter.saveState() == state)
    #expect(UserPinRegistry.shared.totalPinCount == 0)
  }
}
