//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import Glibc
public import IterCore

/// The most `iovec` entries one call passes: Linux's `UIO_MAXIOV` (`IOV_MAX`).
@available(*, deprecated, renamed: "IterLimits.maxIOVectorCount")
public var ioVectorLimit: Int { IterLimits.maxIOVectorCount }

/// The scratch that discard segments of a destination read into: bytes
/// for them are read and dropped. One page, reused by every discard entry.
@usableFromInline
internal let _scratchByteCount = 4096

extension IovIter {
  /// Builds the `iovec` entries of the next call (see
  /// `_withVectorStorage(capacity:_:)` for where) and runs `body`
  /// with them and the bytes they describe: at most `IterLimits.maxIOVectorCount` entries
  /// and `IterLimits.maxReadWriteCount` bytes, empty segments skipped. With
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
    let limit = Swift.min(count, IterLimits.maxReadWriteCount)
    let capacity = Swift.min(IterLimits.maxIOVectorCount, Swift.max(1, segmentsRemaining))
    return try unsafe _withVectorStorage(capacity: capacity) {
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
    try unsafe withUnsafeTemporaryAllocation(of: iovec.self, capacity: IterLimits.maxIOVectorCount) {
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

// MARK: - Where the entries live

/// The most `iovec` entries that `withUnsafeTemporaryAllocation` keeps on the
/// stack whatever the platform: 1 KiB of them.
@usableFromInline
internal let _stackVectorCount = 64

/// Runs `body` with room for `capacity` `iovec` entries (at most
/// `IterLimits.maxIOVectorCount`): on the stack up to 64 entries, and beyond that in
/// this thread's vector storage.
///
/// On Linux, `withUnsafeTemporaryAllocation` puts anything over 1 KiB on the
/// heap (the runtime's `swift_stdlib_isStackAllocationSafe` always answers
/// no there), which would cost every call of more than 64 entries a
/// `malloc` and a `free` of 16 KiB. The thread's storage is allocated on its
/// first such call and freed when the thread exits. A nested call on the
/// same thread (a fault injector making I/O of its own) finds the storage in
/// use and takes a temporary allocation instead.
@inlinable
internal func _withVectorStorage<R>(
  capacity: Int, _ body: (UnsafeMutableBufferPointer<iovec>) throws(IterIOError) -> R
) throws(IterIOError) -> R {
  if capacity > _stackVectorCount, let storage = unsafe _acquireThreadVectors() {
    defer { unsafe _releaseThreadVectors(storage) }
    return try unsafe body(UnsafeMutableBufferPointer(start: storage, count: capacity))
  }
  return try unsafe withUnsafeTemporaryAllocation(of: iovec.self, capacity: capacity, body)
}

/// Bytes before the entries in a thread's vector storage: a word that is 1
/// while the storage is in use, padded to 16.
private let _threadVectorsHeader = 16

/// The key of each thread's vector storage, or `nil` if the process has no
/// key left (then every call takes a temporary allocation).
private let _threadVectorsKey: pthread_key_t? = {
  var key = pthread_key_t()
  let status = unsafe pthread_key_create(&key) { unsafe free($0) }
  return status == 0 ? key : nil
}()

/// This thread's vector storage, marked in use: `IterLimits.maxIOVectorCount` entries.
/// `nil` when it is already in use (a nested call), or cannot be had.
@usableFromInline
internal func _acquireThreadVectors() -> UnsafeMutablePointer<iovec>? {
  guard let key = _threadVectorsKey else { return nil }
  var storage = unsafe pthread_getspecific(key)
  if unsafe storage == nil {
    let bytes = unsafe _threadVectorsHeader + IterLimits.maxIOVectorCount * MemoryLayout<iovec>.stride
    guard let fresh = unsafe malloc(bytes) else { return nil }
    unsafe fresh.storeBytes(of: 0, as: Int.self)
    if unsafe pthread_setspecific(key, fresh) != 0 {
      unsafe free(fresh)
      return nil
    }
    unsafe storage = fresh
  }
  let inUse = unsafe storage!.assumingMemoryBound(to: Int.self)
  if unsafe inUse.pointee != 0 { return nil }
  unsafe inUse.pointee = 1
  return unsafe (storage! + _threadVectorsHeader).bindMemory(to: iovec.self, capacity: IterLimits.maxIOVectorCount)
}

/// Marks this thread's vector storage free again.
@usableFromInline
internal func _releaseThreadVectors(_ vectors: UnsafeMutablePointer<iovec>) {
  unsafe (UnsafeMutableRawPointer(vectors) - _threadVectorsHeader).storeBytes(of: 0, as: Int.self)
}
