//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

extension IovIter {
  /// The bytes left in the current segment, capped at ``count``.
  ///
  /// As in the kernel, this is ``count`` itself when at most one segment
  /// remains, and it is 0 when the cursor stands on an empty segment (which a
  /// copy that ended exactly at a segment boundary can leave it on).
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `iov_iter_single_seg_count`.
  @inlinable
  public var singleSegmentCount: Int {
    if segmentsRemaining > 1 {
      // A source that shrank under the cursor could make this negative.
      return Swift.max(0, Swift.min(_count, _source.segment(at: _index).count &- _offset))
    }
    return _count
  }

  /// The bitwise OR of the start address and length of every non-empty
  /// segment piece the remaining bytes cover.
  ///
  /// `alignment & (n - 1) == 0` means every piece starts at, and is a
  /// multiple of, an `n`-byte boundary. Segments without memory contribute
  /// nothing, so a discard cursor reports 0. A cursor with no bytes left
  /// reports 0 (the kernel does so only for `ITER_UBUF`).
  ///
  /// - Throws: ``IterError/sourceChanged(segmentIndex:remaining:reason:)``
  ///   when the source's segments no longer hold the cursor's count.
  /// - Complexity: O(*s*) for the segments the remaining bytes cover.
  ///
  /// The corresponding kernel function is `iov_iter_alignment`.
  @inlinable
  public var alignment: UInt {
    get throws(IterError) {
      var size = _count
      guard size > 0 else { return 0 }
      var result: UInt = 0
      var index = _index
      var skip = _offset
      let end = _source.segmentCount
      while size > 0 {
        guard index < end else { throw _sourceChanged(at: index, remaining: size) }
        let segment = _source.segment(at: index)
        var length = segment.count &- skip
        if _slowPath(length < 0) { throw _sourceChanged(at: index, remaining: size) }
        if length > 0 {
          if length > size { length = size }
          if segment.hasMemory {
            result |= segment.address &+ UInt(skip)
            result |= UInt(length)
          }
          size &-= length
        }
        index &+= 1
        skip = 0
      }
      return result
    }
  }

  /// The bitwise OR, over each pair of neighbouring non-empty segments the
  /// remaining bytes cover, of the end of the first and the start of the
  /// second: the check behind a device's virtual boundary (NVMe PRP) rule.
  ///
  /// Zero for a single segment. The kernel computes this for `ITER_IOVEC` only
  /// (0 for `ITER_UBUF`, a warning and `~0` for anything else) and counts
  /// whole segment lengths even when the cursor is part-way into the first;
  /// this works for every kind with memory and counts only remaining bytes.
  /// Segments without memory are passed over: the memory segments on either
  /// side of one are compared as if they were neighbours.
  ///
  /// - Throws: ``IterError/sourceChanged(segmentIndex:remaining:reason:)``
  ///   when the source's segments no longer hold the cursor's count.
  /// - Complexity: O(*s*).
  ///
  /// The corresponding kernel function is `iov_iter_gap_alignment`.
  @inlinable
  public var gapAlignment: UInt {
    get throws(IterError) {
      var size = _count
      guard size > 0 else { return 0 }
      var result: UInt = 0
      var previousEnd: UInt? = nil
      var index = _index
      var skip = _offset
      let end = _source.segmentCount
      while true {
        guard index < end else { throw _sourceChanged(at: index, remaining: size) }
        let segment = _source.segment(at: index)
        let length = segment.count &- skip
        if _slowPath(length < 0) { throw _sourceChanged(at: index, remaining: size) }
        if length > 0, segment.hasMemory {
          let start = segment.address &+ UInt(skip)
          if let previousEnd { result |= start | previousEnd }
          previousEnd = segment.address &+ UInt(segment.count)
          if size <= length { break }
          size &-= length
        } else if length > 0 {
          if size <= length { break }
          size &-= length
        }
        index &+= 1
        skip = 0
      }
      return result
    }
  }

  /// The number of pages the remaining bytes touch, at most `limit`.
  ///
  /// Each non-empty piece counts the pages from its first byte's page to its
  /// last byte's; pieces in the same page count twice, as in the kernel.
  /// Segments without memory count none. The count stops at `limit` as soon as
  /// it passes it.
  ///
  /// - Parameter limit: The cap; the default is no cap.
  /// - Returns: A number in `0...limit`.
  /// - Throws: ``IterError/negativeCount(argument:value:)`` for a negative `limit`;
  ///   ``IterError/sourceChanged(segmentIndex:remaining:reason:)`` when the
  ///   source's segments no longer hold the cursor's count.
  /// - Complexity: O(*s*) for the segments covered before the cap is passed.
  ///
  /// The corresponding kernel function is `iov_iter_npages`.
  @inlinable
  public func pageCount(limit: Int = .max) throws(IterError) -> Int {
    guard limit >= 0 else { throw .negativeCount(argument: "limit", value: limit) }
    var size = _count
    guard size > 0 else { return 0 }
    let pageSize = IterPage.size
    var pages = 0
    var index = _index
    var skip = _offset
    let end = _source.segmentCount
    while size > 0 {
      guard index < end else { throw _sourceChanged(at: index, remaining: size) }
      let segment = _source.segment(at: index)
      let length = Swift.min(segment.count &- skip, size)
      if _slowPath(length < 0) { throw _sourceChanged(at: index, remaining: size) }
      if length > 0 {
        size &-= length
        if segment.hasMemory {
          let offset = Int((segment.address &+ UInt(skip)) & UInt(pageSize &- 1))
          pages &+= _pagesSpanned(offset: offset, length: length, pageSize: pageSize)
          if pages > limit { return limit }
        }
      }
      index &+= 1
      skip = 0
    }
    return pages
  }
}

/// The pages that `length` bytes starting `offset` bytes into a page touch,
/// without overflowing for any length up to `Int.max`.
@inlinable
internal func _pagesSpanned(offset: Int, length: Int, pageSize: Int) -> Int {
  let whole = length / pageSize
  let rest = length % pageSize
  return whole + (offset + rest + pageSize - 1) / pageSize
}
