//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterUser
import Synchronization
import Testing

/// A peer that rewrites one `iov_len` of a table from its own thread, as fast
/// as it can, alternating between `good` and -1 (an `iov_len` with its top
/// bit set), until stopped.
private final class Rewriter: @unchecked Sendable {
  let entry: UnsafeMutablePointer<iovec>
  let good: Int
  let stop = Atomic<Bool>(false)
  let writes = Atomic<Int>(0)
  private var thread = pthread_t()

  init(entry: UnsafeMutablePointer<iovec>, good: Int) {
    self.entry = entry
    self.good = good
  }

  func start() {
    let context = Unmanaged.passRetained(self).toOpaque()
    let result = pthread_create(
      &thread, nil,
      { raw in
        let rewriter = Unmanaged<Rewriter>.fromOpaque(raw!).takeRetainedValue()
        while !rewriter.stop.load(ordering: .relaxed) {
          rewriter.entry.pointee.iov_len = rewriter.good
          // A sequentially consistent operation between the stores keeps the
          // compiler from dropping the first as dead.
          rewriter.writes.add(1, ordering: .sequentiallyConsistent)
          rewriter.entry.pointee.iov_len = -1
          rewriter.writes.add(1, ordering: .sequentiallyConsistent)
        }
        return nil
      }, context)
    precondition(result == 0, "pthread_create failed: \(result)")
  }

  func finish() {
    stop.store(true, ordering: .relaxed)
    pthread_join(thread, nil)
  }
}

/// The import reads the caller's table once, into its own array (the kernel's
/// `copy_iovec_from_user`), and checks and uses only that copy.
@Suite("User import reads the table once")
struct ImportSnapshotTests {
  /// Another thread flips entry 1's length between 8 and -1 while the table is
  /// imported again and again. Every import must be the result of one
  /// snapshot: either the -1 error, or a success whose every length is one
  /// that was written whole (8), never a negative length that slipped past
  /// the check.
  @Test func tableChangedDuringTheImportGivesOneSnapshot() throws {
    let memory = MappedPages(pages: 1)
    let table = UnsafeMutableBufferPointer<iovec>.allocate(capacity: 3)
    defer { table.deallocate() }
    table[0] = iovec(iov_base: memory.pointer(0), iov_len: 8)
    table[1] = iovec(iov_base: memory.pointer(8), iov_len: 8)
    table[2] = iovec(iov_base: memory.pointer(16), iov_len: 8)
    let rewriter = Rewriter(entry: table.baseAddress! + 1, good: 8)
    rewriter.start()
    let refusal = IterError.invalidSegment(
      index: 1, count: -1, reason: "negative length (as ssize_t)")
    for round in 0..<20_000 {
      do throws(IterError) {
        let lengths: [Int]
        let total: Int
        if round % 2 == 0 {
          let array = try UserIOVecArray(importing: UnsafeBufferPointer(table))
          lengths = array.segments.map(\.count)
          total = array.count
        } else {
          let imported = try UserImport(importing: UnsafeBufferPointer(table))
          lengths = (0..<imported.segmentCount).map { imported.segment(at: $0).count }
          total = imported.count
        }
        if lengths != [8, 8, 8] || total != 24 {
          Issue.record("round \(round): imported lengths \(lengths), total \(total)")
          break
        }
      } catch {
        if error != refusal {
          Issue.record("round \(round): \(error)")
          break
        }
      }
    }
    rewriter.finish()
    #expect(rewriter.writes.load(ordering: .relaxed) > 0, "the peer never wrote")
  }

  /// Deterministically: the imported segments live in the import's own
  /// storage, and rewriting every byte of the caller's table afterwards
  /// changes nothing, for every entry point and both of `UserImport`'s cases.
  @Test(arguments: [1, 2, 5])
  func importedTableDoesNotAliasTheCallers(entries: Int) throws {
    let memory = MappedPages(pages: 1)
    let table = UnsafeMutableBufferPointer<iovec>.allocate(capacity: entries)
    defer { table.deallocate() }
    for i in 0..<entries { table[i] = iovec(iov_base: memory.pointer(16 * i), iov_len: 16) }
    let expected = (0..<entries).map { IterSegment(base: memory.pointer(16 * $0), count: 16) }
    let array = try UserIOVecArray(importing: UnsafeBufferPointer(table))
    let imported = try UserImport(importing: UnsafeBufferPointer(table))
    let tableBytes = UnsafeMutableRawBufferPointer(table)
    array.segments.withUnsafeBytes { storage in
      #expect(storage.baseAddress != UnsafeRawPointer(tableBytes.baseAddress))
    }
    memset(tableBytes.baseAddress!, 0xff, tableBytes.count)  // every length now -1
    #expect(Array(array.segments) == expected)
    #expect((0..<imported.segmentCount).map { imported.segment(at: $0) } == expected)
    #expect(imported.isSingleBuffer == (entries == 1))
    #expect(array.count == 16 * entries && imported.count == 16 * entries)
  }

  // MARK: - Other entry points at the edges

  @Test(arguments: [Int.min, -1, 0, 1, Int.max])
  func segmentOutsideTheSourceIsEmpty(index: Int) throws {
    let memory = MappedPages(pages: 1)
    let buffer = try UserBuffer(importing: memory.slice(0, 10))
    let array = try UserIOVecArray(importing: [memory.slice(0, 10), memory.slice(20, 5)])
    let single = try UserImport(importing: [memory.slice(0, 10)])
    let empty = IterSegment(base: nil, count: 0)
    #expect(buffer.segment(at: index) == (index == 0 ? IterSegment(memory.slice(0, 10)) : empty))
    #expect(single.segment(at: index) == buffer.segment(at: index))
    let inside = index == 0 || index == 1
    #expect(array.segment(at: index) == (inside ? array.segments[index] : empty))
  }

  @Test(arguments: [Int.min, -1, 0, 1, Int.max])
  func singleDescriptorCountsAtTheEdges(count: Int) throws {
    let memory = MappedPages(pages: 1)
    let base = memory.pointer(0)
    let expected: Result<Int, IterError> =
      count < 0
      ? .failure(.invalidSegment(index: 0, count: count, reason: "negative length (as ssize_t)"))
      : .success(min(count, IterLimits.maxReadWriteCount))
    #expect(
      outcome { () throws(IterError) in try UserBuffer(importing: base, count: count).count }
        == expected)
    #expect(
      outcome { () throws(IterError) in
        try UserImport(importing: [IterSegment(base: base, count: count)]).count
      } == expected)
    let table = [iovec(iov_base: base, iov_len: count)]
    #expect(
      outcome { () throws(IterError) in
        try table.withUnsafeBufferPointer { (v) throws(IterError) in
          try UserImport(importing: v).count
        }
      } == expected)
  }
}
