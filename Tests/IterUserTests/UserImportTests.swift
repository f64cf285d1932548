//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterUser
import Testing

/// Snapshot of an iovec table, to show that an import never changes it.
private func snapshot(_ table: [iovec]) -> [(UInt, Int)] {
  table.map { (UInt(bitPattern: $0.iov_base), $0.iov_len) }
}

private func sameTable(_ a: [(UInt, Int)], _ b: [(UInt, Int)]) -> Bool {
  a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
}

/// Imports `table` through every iovec entry point and returns the errors.
private func importErrors(_ table: [iovec]) -> [IterError?] {
  func capture(_ body: () throws(IterError) -> Void) -> IterError? {
    do throws(IterError) {
      try body()
      return nil
    } catch { return error }
  }
  return table.withUnsafeBufferPointer { vectors in
    [
      capture { () throws(IterError) in _ = try UserImport(importing: vectors) },
      capture { () throws(IterError) in _ = try UserIOVecArray(importing: vectors) },
      capture { () throws(IterError) in
        _ = try IovIter(importing: vectors, direction: .destination) as IovIter<UserImport>
      },
      capture { () throws(IterError) in
        _ = try IovIter(importing: vectors, direction: .source) as IovIter<UserIOVecArray>
      },
    ]
  }
}

@Suite("User import rules")
struct UserImportTests {
  // MARK: - UIO_MAXIOV

  @Test func exactlyMaximumEntriesAreAccepted() throws {
    let memory = MappedPages(pages: 1)
    let table = (0..<1024).map { iovec(iov_base: memory.pointer($0), iov_len: 1) }
    let imported = try table.withUnsafeBufferPointer { try UserImport(importing: $0) }
    #expect(imported.segmentCount == 1024)
    #expect(imported.count == 1024)
    #expect(!imported.isSingleBuffer)
  }

  @Test func moreThanMaximumEntriesIsAnError() {
    let memory = MappedPages(pages: 1)
    let table = (0..<1025).map { iovec(iov_base: memory.pointer($0), iov_len: 1) }
    let before = snapshot(table)
    let expected = IterError.tooManySegments(count: 1025, limit: 1024)
    for error in importErrors(table) { #expect(error == expected) }
    #expect(sameTable(snapshot(table), before))
    let buffers = (0..<1025).map { memory.slice($0, 1) }
    #expect(throws: expected) { try UserImport(importing: buffers) }
    #expect(throws: expected) { try UserIOVecArray(importing: buffers) }
    #expect(throws: expected) {
      try UserImport(importing: buffers.map { UnsafeRawBufferPointer($0) })
    }
    #expect(throws: expected) { try UserImport(importing: buffers.map { IterSegment($0) }) }
    #expect(throws: expected) { try IovIter(importing: buffers, direction: .source) }
  }

  @Test func manyEmptyEntriesStillCountTowardTheLimit() {
    let table = [iovec](repeating: iovec(iov_base: nil, iov_len: 0), count: 4096)
    for error in importErrors(table) {
      #expect(error == .tooManySegments(count: 4096, limit: 1024))
    }
  }

  // MARK: - Negative lengths

  @Test(arguments: [-1, Int.min, Int(bitPattern: UInt(1) << 63 | 4096)])
  func lengthWithTopBitSetIsAnError(length: Int) {
    let memory = MappedPages(pages: 1)
    let table = [
      iovec(iov_base: memory.pointer(0), iov_len: 10),
      iovec(iov_base: memory.pointer(10), iov_len: length),
      iovec(iov_base: memory.pointer(20), iov_len: 10),
    ]
    let before = snapshot(table)
    for error in importErrors(table) {
      #expect(
        error == .invalidSegment(index: 1, count: length, reason: "negative length (as ssize_t)"))
    }
    #expect(sameTable(snapshot(table), before))
  }

  @Test func negativeLengthOfOneEntryIsAnErrorToo() {
    let memory = MappedPages(pages: 1)
    let table = [iovec(iov_base: memory.pointer(0), iov_len: -5)]
    for error in importErrors(table) {
      #expect(error == .invalidSegment(index: 0, count: -5, reason: "negative length (as ssize_t)"))
    }
    #expect(
      throws: IterError.invalidSegment(index: 0, count: -5, reason: "negative length (as ssize_t)")
    ) {
      try UserBuffer(importing: memory.pointer(0), count: -5)
    }
  }

  @Test func negativeIntLengthInSegmentsIsAnError() {
    let memory = MappedPages(pages: 1)
    let segments = [
      IterSegment(base: memory.pointer(0), count: 3),
      IterSegment(base: memory.pointer(3), count: -3),
    ]
    let expected = IterError.invalidSegment(
      index: 1, count: -3, reason: "negative length (as ssize_t)")
    #expect(throws: expected) { try UserImport(importing: segments) }
    #expect(throws: expected) { try UserIOVecArray(importing: segments) }
  }

  /// The kernel reads every length (copy_iovec_from_user) before it checks any
  /// address (access_ok), so a later negative length wins over an earlier null base.
  @Test func negativeLengthIsReportedBeforeAnEarlierBadAddress() {
    let memory = MappedPages(pages: 1)
    let table = [
      iovec(iov_base: nil, iov_len: 5),
      iovec(iov_base: memory.pointer(0), iov_len: 5),
      iovec(iov_base: memory.pointer(5), iov_len: -1),
    ]
    for error in importErrors(table) {
      #expect(error == .invalidSegment(index: 2, count: -1, reason: "negative length (as ssize_t)"))
    }
  }

  // MARK: - Addresses

  @Test func nullBaseWithLengthIsAnError() {
    let memory = MappedPages(pages: 1)
    let table = [iovec(iov_base: memory.pointer(0), iov_len: 8), iovec(iov_base: nil, iov_len: 7)]
    let before = snapshot(table)
    for error in importErrors(table) {
      #expect(
        error == .invalidSegment(index: 1, count: 7, reason: "null base with a non-zero length"))
    }
    #expect(sameTable(snapshot(table), before))
    #expect(
      throws: IterError.invalidSegment(
        index: 0, count: 7, reason: "null base with a non-zero length")
    ) {
      try UserBuffer(importing: nil, count: 7)
    }
    #expect(
      throws: IterError.invalidSegment(
        index: 0, count: 7, reason: "null base with a non-zero length")
    ) {
      try UserImport(importing: [IterSegment(base: nil, count: 7)])
    }
  }

  @Test func nullBaseWithZeroLengthIsAccepted() throws {
    let memory = MappedPages(pages: 1)
    let table = [iovec(iov_base: nil, iov_len: 0), iovec(iov_base: memory.pointer(0), iov_len: 4)]
    let imported = try table.withUnsafeBufferPointer { try UserIOVecArray(importing: $0) }
    #expect(imported.count == 4)
    #expect(
      imported.segments == [
        IterSegment(base: nil, count: 0), IterSegment(base: memory.pointer(0), count: 4),
      ])
    let empty = try UserBuffer(importing: nil, count: 0)
    #expect(empty.count == 0 && empty.segmentCount == 1 && empty.base == nil)
    var iter = try IovIter(empty, direction: .source)
    #expect(iter.count == 0)
    #expect(try iter.read(upTo: 10) == [])
  }

  @Test func rangeThatWrapsTheAddressSpaceIsAnError() {
    let top = UnsafeMutableRawPointer(bitPattern: UInt.max - 0xfff)!  // never dereferenced
    // The first entry ends on the last byte of the address space; the second passes it.
    let table = [iovec(iov_base: top, iov_len: 0xfff), iovec(iov_base: top, iov_len: 0x1001)]
    for error in importErrors(table) {
      guard case .invalidSegment(index: 1, count: 0x1001, let reason)? = error else {
        Issue.record(
          "expected invalidSegment(index: 1, count: 0x1001), got \(String(describing: error))")
        continue
      }
      #expect(reason.contains("wraps"))
    }
  }

  /// `import_ubuf` caps the length before `access_ok`; `__import_iovec` checks
  /// `access_ok` with the uncapped length. The same descriptor is fine alone
  /// and an error in an array.
  @Test func singleBufferCapsBeforeTheAddressCheckButArraysDoNot() throws {
    // Never dereferenced.
    let high = UnsafeMutableRawPointer(bitPattern: UInt(0xffff_ffff_0000_0000))!
    let entry = iovec(iov_base: high, iov_len: Int.max)
    let single = try [entry].withUnsafeBufferPointer { try UserImport(importing: $0) }
    guard case .buffer(let buffer) = single else {
      Issue.record("one entry should become a single buffer")
      return
    }
    #expect(buffer.count == IterLimits.maxReadWriteCount)
    #expect(buffer.base == high)
    // Capped or not, a range from the last page of the address space wraps.
    let top = UnsafeMutableRawPointer(bitPattern: UInt.max - 0xfff)!
    #expect(throws: IterError.self) { try UserBuffer(importing: top, count: Int.max) }
    do {
      _ = try UserBuffer(importing: top, count: Int.max)
    } catch {
      guard case .invalidSegment(index: 0, count: IterLimits.maxReadWriteCount, let reason) = error else {
        Issue.record("expected invalidSegment(index: 0, count: MAX_RW_COUNT), got \(error)")
        return
      }
      #expect(reason.contains("wraps"))
    }
    let pair = [entry, iovec(iov_base: high, iov_len: 0)]
    for error in importErrors(pair) {
      guard case .invalidSegment(index: 0, count: Int.max, _)? = error else {
        Issue.record("expected invalidSegment(index: 0), got \(String(describing: error))")
        continue
      }
    }
  }

  // MARK: - MAX_RW_COUNT

  @Test func maxReadWriteCountIsTheKernelValue() {
    #expect(IterLimits.maxReadWriteCount == 0x7fff_f000)
  }

  /// Lengths that sum past `MAX_RW_COUNT` over reserved address space with no
  /// memory behind it (PROT_NONE, MAP_NORESERVE): the import computes the cap
  /// and never touches the memory.
  @Test func totalIsCappedByShorteningTheCrossingEntry() throws {
    let space = MappedPages(pages: 0xC000_0000 / pageSize, reserveOnly: true)  // 3 GiB, no memory
    let table = [
      iovec(iov_base: space.pointer(0), iov_len: 0x7fff_0000),
      iovec(iov_base: nil, iov_len: 0),
      iovec(iov_base: space.pointer(0x7fff_0000), iov_len: 0x20000),
      iovec(iov_base: space.pointer(0x8001_0000), iov_len: 5),
      iovec(iov_base: space.pointer(0x8002_0000), iov_len: 0x1000_0000),
    ]
    let before = snapshot(table)
    let array = try table.withUnsafeBufferPointer { try UserIOVecArray(importing: $0) }
    #expect(array.count == IterLimits.maxReadWriteCount)
    #expect(array.segments.map(\.count) == [0x7fff_0000, 0, 0xf000, 0, 0])
    #expect(array.segments.map(\.address) == table.map { UInt(bitPattern: $0.iov_base) })
    #expect(sameTable(snapshot(table), before), "the caller's table must not be changed")
    let imported = try table.withUnsafeBufferPointer { try UserImport(importing: $0) }
    #expect(imported.count == IterLimits.maxReadWriteCount)
    // A cursor over it moves without touching memory.
    var iter = try IovIter(array, direction: .destination)
    #expect(iter.count == IterLimits.maxReadWriteCount)
    try iter.advance(by: 0x7fff_0000 + 0x100)
    #expect(iter.position == IterPosition(segmentIndex: 2, offset: 0x100))
    try iter.advance(by: .max)
    #expect(iter.count == 0)
    #expect(try IovIter(array, direction: .source).pageCount() == IterLimits.maxReadWriteCount / pageSize)
  }

  @Test func totalExactlyAtTheCapIsKept() throws {
    let space = MappedPages(pages: 0x8000_0000 / pageSize, reserveOnly: true)
    let segments = [
      IterSegment(base: space.pointer(0), count: 0x4000_0000),
      IterSegment(base: space.pointer(0x4000_0000), count: IterLimits.maxReadWriteCount - 0x4000_0000),
      IterSegment(base: space.pointer(0x7fff_f000), count: 1),
    ]
    let array = try UserIOVecArray(importing: segments)
    #expect(array.segments.map(\.count) == [0x4000_0000, IterLimits.maxReadWriteCount - 0x4000_0000, 0])
    #expect(array.count == IterLimits.maxReadWriteCount)
  }

  @Test func singleBufferIsCappedToo() throws {
    let space = MappedPages(pages: 0x8000_0000 / pageSize + 1, reserveOnly: true)
    let buffer = try UserBuffer(importing: space.pointer(0), count: space.byteCount)
    #expect(buffer.count == IterLimits.maxReadWriteCount)
    let viaTable = try [iovec(iov_base: space.pointer(0), iov_len: space.byteCount)]
      .withUnsafeBufferPointer { try UserImport(importing: $0) }
    #expect(viaTable.isSingleBuffer && viaTable.count == IterLimits.maxReadWriteCount)
    let viaBuffer = try UserBuffer(importing: space.buffer)
    #expect(viaBuffer.count == IterLimits.maxReadWriteCount)
  }

  /// Huge lengths that would overflow a plain sum: the cap keeps the total at
  /// MAX_RW_COUNT and every later entry at 0, with no overflow.
  @Test func hugeLengthsDoNotOverflow() throws {
    let space = MappedPages(pages: 1, reserveOnly: true)
    let low = UnsafeMutableRawPointer(bitPattern: UInt(0x1000))!  // never dereferenced
    let table = [
      iovec(iov_base: low, iov_len: Int.max / 2),
      iovec(iov_base: space.pointer(0), iov_len: Int.max / 2),
      iovec(iov_base: space.pointer(0), iov_len: 1),
    ]
    let array = try table.withUnsafeBufferPointer { try UserIOVecArray(importing: $0) }
    #expect(array.segments.map(\.count) == [IterLimits.maxReadWriteCount, 0, 0])
  }

  // MARK: - Which kind an import becomes

  @Test func oneEntryBecomesASingleBuffer() throws {
    let memory = MappedPages(pages: 1)
    let table = [iovec(iov_base: memory.pointer(100), iov_len: 300)]
    let imported = try table.withUnsafeBufferPointer { try UserImport(importing: $0) }
    guard case .buffer(let buffer) = imported else {
      Issue.record("expected .buffer, got \(imported)")
      return
    }
    #expect(imported.isSingleBuffer)
    #expect(buffer.base == memory.pointer(100) && buffer.count == 300)
    #expect(buffer.segmentCount == 1)
    #expect(imported.segmentCount == 1 && imported.count == 300)
    #expect(try UserImport(importing: [memory.slice(0, 1)]).isSingleBuffer)
    #expect(try UserImport(importing: [UnsafeRawBufferPointer(memory.slice(0, 1))]).isSingleBuffer)
    #expect(
      try UserImport(importing: [IterSegment(base: memory.pointer(0), count: 0)]).isSingleBuffer)
  }

  @Test func oneEntryWithZeroLengthIsAnEmptySingleBuffer() throws {
    let memory = MappedPages(pages: 1)
    let imported = try [iovec(iov_base: memory.pointer(0), iov_len: 0)]
      .withUnsafeBufferPointer { try UserImport(importing: $0) }
    #expect(imported.isSingleBuffer && imported.count == 0 && imported.segmentCount == 1)
  }

  @Test func zeroEntriesGiveAnEmptyArray() throws {
    let imported = try [iovec]().withUnsafeBufferPointer { try UserImport(importing: $0) }
    guard case .vector(let array) = imported else {
      Issue.record("expected .vector, got \(imported)")
      return
    }
    #expect(array.segmentCount == 0 && array.count == 0)
    let iter = try IovIter(imported, direction: .destination)
    #expect(iter.count == 0 && iter.segmentsRemaining == 0)
  }

  @Test func twoEntriesStayAnArray() throws {
    let memory = MappedPages(pages: 1)
    let imported = try UserImport(importing: [memory.slice(0, 3), memory.slice(10, 4)])
    guard case .vector(let array) = imported else {
      Issue.record("expected .vector, got \(imported)")
      return
    }
    #expect(array.segmentCount == 2 && array.count == 7)
    #expect(!imported.isSingleBuffer)
  }

  @Test func iovecArrayKeepsOneEntryAsAnArray() throws {
    let memory = MappedPages(pages: 1)
    let array = try [iovec(iov_base: memory.pointer(0), iov_len: 9)]
      .withUnsafeBufferPointer { try UserIOVecArray(importing: $0) }
    #expect(array.segmentCount == 1 && array.count == 9)
  }

  // MARK: - Kinds, directions, convenience

  @Test func everyKindIsUserMemoryThatPins() throws {
    let memory = MappedPages(pages: 1)
    let buffer = try UserBuffer(importing: memory.slice(0, 10))
    let array = try UserIOVecArray(importing: [memory.slice(0, 10), memory.slice(20, 10)])
    let imported = try UserImport(importing: [memory.slice(0, 10)])
    let all: [IterExtractionOptions] = [[], [.retain], [.allowP2PDMA], [.retain, .allowP2PDMA]]
    for options in all {
      #expect(buffer.retention(for: options) == .pin)
      #expect(array.retention(for: options) == .pin)
      #expect(imported.retention(for: options) == .pin)
    }
    #expect(buffer.memoryKind == .user && array.memoryKind == .user && imported.memoryKind == .user)
    #expect(buffer.extractionWillPin && array.extractionWillPin && imported.extractionWillPin)
    #expect(try IovIter(buffer, direction: .source).extractionWillPin)
    #expect(try IovIter(array, direction: .destination).extractionWillPin)
  }

  @Test func readOnlyImportsCanOnlyBeSources() throws {
    let memory = MappedPages(pages: 1)
    let readOnly = UnsafeRawBufferPointer(memory.slice(0, 64))
    let buffer = try UserBuffer(importing: readOnly)
    let array = try UserIOVecArray(importing: [readOnly, readOnly])
    let single = try UserImport(importing: [readOnly])
    #expect(buffer.isReadOnly && array.isReadOnly)
    #expect(buffer.supportedDirections == .source && array.supportedDirections == .source)
    #expect(single.supportedDirections == .source)
    let expected = IterError.unsupportedDirection(.destination, kind: .user)
    #expect(throws: expected) { try IovIter(buffer, direction: .destination) }
    #expect(throws: expected) { try IovIter(array, direction: .destination) }
    #expect(throws: expected) { try IovIter(single, direction: .destination) }
    let iter = try IovIter(importing: readOnly)
    #expect(iter.direction == .source && iter.count == 64)
    let writable = try UserBuffer(importing: memory.slice(0, 64))
    #expect(!writable.isReadOnly && writable.supportedDirections == .both)
  }

  @Test func convenienceCursorsCopyThroughTheImportedMemory() throws {
    let memory = MappedPages(pages: 2)
    let table = [
      iovec(iov_base: memory.pointer(pageSize - 3), iov_len: 6),
      iovec(iov_base: nil, iov_len: 0),
      iovec(iov_base: memory.pointer(100), iov_len: 4),
    ]
    var destination = try table.withUnsafeBufferPointer {
      try IovIter<UserImport>(importing: $0, direction: .destination)
    }
    #expect(try destination.write(Array(1...10)) == 10)
    #expect(memory.slice(pageSize - 3, 6).elementsEqual([1, 2, 3, 4, 5, 6]))
    #expect(memory.slice(100, 4).elementsEqual([7, 8, 9, 10]))
    var source = try table.withUnsafeBufferPointer {
      try IovIter<UserIOVecArray>(importing: $0, direction: .source)
    }
    #expect(try source.read(upTo: 100) == Array(1...10))
    var single = try IovIter(importing: memory.slice(100, 4), direction: .source)
    #expect(try single.read(upTo: 100) == [7, 8, 9, 10])
    var fromBuffers = try IovIter(
      importing: [memory.slice(100, 2), memory.slice(pageSize, 1)], direction: .source)
    #expect(try fromBuffers.read(upTo: 100) == [7, 8, 4])
  }

  /// The import copies the table: a peer changing it afterwards changes nothing.
  @Test func importIsACopyOfTheTable() throws {
    let memory = MappedPages(pages: 1)
    var table = [
      iovec(iov_base: memory.pointer(0), iov_len: 8),
      iovec(iov_base: memory.pointer(8), iov_len: 8),
    ]
    let array = try table.withUnsafeBufferPointer { try UserIOVecArray(importing: $0) }
    table[1].iov_len = 4000
    table[0].iov_base = nil
    #expect(
      array.segments == [
        IterSegment(base: memory.pointer(0), count: 8),
        IterSegment(base: memory.pointer(8), count: 8),
      ])
  }
}
