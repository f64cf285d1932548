//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import Glibc

/// What ``IovIter/gather(into:maxBytes:)-(UnsafeMutableBufferPointer<iovec>,_)`` exported.
///
/// Sendable: it holds only counts and a flag.
public struct IterGather: Hashable, Sendable {
  /// The number of `iovec` entries written.
  public var vectorCount: Int
  /// The number of bytes those entries describe.
  public var byteCount: Int
  /// Whether the entries describe every byte the cursor has left. A partial
  /// export is normal (the storage filled up, or a segment without memory
  /// came next); never assume completeness from a short array.
  public var isComplete: Bool

  /// Creates a summary.
  @inlinable
  public init(vectorCount: Int, byteCount: Int, isComplete: Bool) {
    self.vectorCount = vectorCount
    self.byteCount = byteCount
    self.isComplete = isComplete
  }
}

extension IovIter {
  /// Describes the next run of the cursor's bytes as `iovec` entries, for
  /// `readv(2)`, `writev(2)` and `sendmsg(2)`, without moving the cursor.
  ///
  /// Entries follow the segments' order and are never reordered; empty
  /// segments are skipped; the last entry is cut at `maxBytes` or at
  /// ``count``. The export stops early when `vectors` is full or when the next
  /// segment has no memory (a discard segment cannot be described by an
  /// `iovec`). After the system call, ``advance(by:)`` by the bytes it moved.
  ///
  /// The entries borrow the segments' memory: they must not outlive it.
  ///
  /// - Parameters:
  ///   - vectors: Storage for at most `vectors.count` entries, from the front.
  ///   - maxBytes: At most this many bytes; the default is no limit.
  /// - Returns: How many entries and bytes were written, and whether that is all.
  /// - Throws: ``IterError/negativeCount(argument:value:)`` for a negative `maxBytes`;
  ///   ``IterError/sourceChanged(segmentIndex:remaining:reason:)`` when the
  ///   source's segments no longer hold the cursor's count.
  /// - Complexity: O(*s*) for the segments visited.
  ///
  /// The corresponding C structure is `struct iovec`; Rust `bytes` calls this
  /// `chunks_vectored`.
  @inlinable
  public func gather(
    into vectors: UnsafeMutableBufferPointer<iovec>, maxBytes: Int = .max
  ) throws(IterError) -> IterGather {
    guard maxBytes >= 0 else { throw .negativeCount(argument: "maxBytes", value: maxBytes) }
    let wanted = Swift.min(maxBytes, _count)
    var size = wanted
    var written = 0
    var index = _index
    var skip = _offset
    let capacity = vectors.count
    let end = _source.segmentCount
    while size > 0 && written < capacity {
      guard index < end else { throw _sourceChanged(at: index, remaining: size) }
      let going = try unsafe _source._withRun(at: index, end: end) { (run, n) throws(IterError) -> Bool in
        var k = 0
        while k < n && size > 0 && written < capacity {
          if skip == 0 {
            // Whole segments that are not the last: one entry each. One
            // unsigned compare (1 <= count < size) leaves empty, negative
            // and last segments to the step below.
            let stop = Swift.min(n, k &+ (capacity &- written))
            while k < stop {
              let segment = unsafe run[k]
              let length = segment.count
              guard UInt(bitPattern: length &- 1) < UInt(bitPattern: size &- 1), let base = unsafe segment.base
              else { break }
              unsafe vectors[written] = iovec(iov_base: base, iov_len: length)
              written &+= 1
              size &-= length
              k &+= 1
            }
            if k == stop { continue }
          }
          // The first segment's rest, the last one, an empty one, one
          // without memory, or one that changed under the cursor.
          let segment = unsafe run[k]
          let length = Swift.min(segment.count &- skip, size)
          if _slowPath(length < 0) { throw _sourceChanged(at: index &+ k, remaining: size) }
          if length > 0 {
            guard let base = unsafe segment.base else { return false }
            unsafe vectors[written] = iovec(iov_base: base + skip, iov_len: length)
            written &+= 1
            size &-= length
          }
          k &+= 1
          skip = 0
        }
        index &+= k
        return true
      }
      if !going { break }
    }
    let bytes = wanted &- size
    return IterGather(vectorCount: written, byteCount: bytes, isComplete: bytes == _count)
  }

  /// Describes the next run of the cursor's bytes as `iovec` entries in `vectors`;
  /// see ``gather(into:maxBytes:)-(UnsafeMutableBufferPointer<iovec>,_)``.
  @inlinable
  public func gather(
    into vectors: inout MutableSpan<iovec>, maxBytes: Int = .max
  ) throws(IterError) -> IterGather {
    try unsafe vectors.withUnsafeMutableBufferPointer { (buffer) throws(IterError) -> IterGather in
      try unsafe gather(into: buffer, maxBytes: maxBytes)
    }
  }
}
