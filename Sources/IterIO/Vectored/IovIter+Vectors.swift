//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import Glibc
public import IterCore

/// The most `iovec` entries one call passes: Linux's `UIO_MAXIOV` (`IOV_MAX`).
public let ioVectorLimit = 1024

/// The scratch that discard segments of a destination read into: bytes
/// for them are read and dropped. One page, reused by every discard entry.
@usableFromInline
internal let _scratchByteCount = 4096

extension IovIter {
  /// Builds the `iovec` entries of the next call on the stack and runs `body`
  /// with them and the bytes they describe: at most ``ioVectorLimit`` entries
  /// and `iterMaxReadWriteCount` bytes, empty segments skipped. With
  /// `discardsToScratch`, runs of segments without memory become entries
  /// over one scratch page (repeated as often as needed), so one call reads
  /// and drops them; otherwise the entries stop before such a segment.
  ///
  /// Does not move the cursor.
  @inlinable
  internal func _withIOVectors<R>(
    call: IOSystemCall, discardsToScratch: Bool,
    _ body: (UnsafeMutableBufferPointer<iovec>, Int) throws(IterIOError) -> R
  ) throws(IterIOError) -> R {
    let limit = Swift.min(count, iterMaxReadWriteCount)
    let capacity = Swift.min(ioVectorLimit, Swift.max(1, segmentsRemaining))
    return try unsafe withUnsafeTemporaryAllocation(of: iovec.self, capacity: capacity) {
      (vectors) throws(IterIOError) -> R in
      let exported: IterGather
      do throws(IterError) {
        exported = try unsafe gather(into: vectors, maxBytes: limit)
      } catch {
        // Only a source whose segments changed under the cursor gets here.
        throw IterIOError(.iterator(error), call: call)
      }
      if !discardsToScratch || exported.isComplete || exported.byteCount == limit
        || exported.vectorCount == capacity
      {
        return try unsafe body(
          UnsafeMutableBufferPointer(rebasing: vectors[..<exported.vectorCount]),
          exported.byteCount)
      }
      return try unsafe _withScratchVectors(call: call, limit: limit, body)
    }
  }

  /// The slow path of ``_withIOVectors(discardsToScratch:_:)``: the bytes
  /// include segments without memory.
  @inlinable
  @inline(never)
  internal func _withScratchVectors<R>(
    call: IOSystemCall, limit: Int, _ body: (UnsafeMutableBufferPointer<iovec>, Int) throws(IterIOError) -> R
  ) throws(IterIOError) -> R {
    try unsafe withUnsafeTemporaryAllocation(of: iovec.self, capacity: ioVectorLimit) {
      (vectors) throws(IterIOError) -> R in
      try unsafe withUnsafeTemporaryAllocation(byteCount: _scratchByteCount, alignment: 64) {
        (scratch) throws(IterIOError) -> R in
        var probe = self
        var filled = 0
        var bytes = 0
        while filled < vectors.count && bytes < limit && !probe.isEmpty {
          let exported: IterGather
          do throws(IterError) {
            exported = try unsafe probe.gather(
              into: UnsafeMutableBufferPointer(rebasing: vectors[filled...]),
              maxBytes: limit &- bytes)
            filled &+= exported.vectorCount
            bytes &+= exported.byteCount
            try probe.advance(by: exported.byteCount)
          } catch {
            throw IterIOError(.iterator(error), call: call)  // a source that changed underneath
          }
          if exported.isComplete || bytes == limit || filled == vectors.count { break }
          var run = probe._memorylessRun(limit: limit &- bytes)
          if run == 0 { break }
          while run > 0 && filled < vectors.count {
            let length = Swift.min(run, scratch.count)
            unsafe vectors[filled] = iovec(iov_base: scratch.baseAddress, iov_len: length)
            filled &+= 1
            bytes &+= length
            run &-= length
            do throws(IterError) { try probe.advance(by: length) } catch {
              throw IterIOError(.iterator(error), call: call)
            }
          }
        }
        return try unsafe body(UnsafeMutableBufferPointer(rebasing: vectors[..<filled]), bytes)
      }
    }
  }

  /// The bytes, at most `limit`, of the run of segments without memory that
  /// starts at the cursor (empty segments pass).
  @inlinable
  internal func _memorylessRun(limit: Int) -> Int {
    let source = self.source
    let end = source.segmentCount
    var index = position.segmentIndex
    var skip = segmentOffset
    var run = 0
    while index < end && run < limit {
      let segment = source.segment(at: index)
      let length = segment.count &- skip
      if length > 0 {
        if segment.hasMemory { break }
        run &+= length
      }
      index &+= 1
      skip = 0
    }
    return Swift.min(run, limit, count)
  }
}
