//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

extension IovIter {
  /// Copies `bytes` into the cursor and feeds them to `checksum` in the same
  /// pass; see ``write(_:)-(UnsafeRawBufferPointer)``.
  ///
  /// The checksum covers exactly the bytes copied. Into a discard segment the
  /// bytes are still fed to the checksum, as the kernel does. ``CRC32C`` and
  /// ``InternetChecksum`` are fed the copied bytes in blocks of 8 KiB right
  /// behind the copy, while they are still in the cache, so the bytes come from
  /// memory once; ``InternetChecksum`` copies and sums chunks of 512 bytes and
  /// more in one loop. Other checksums are handed each chunk as it is copied,
  /// through their `_copyAndUpdate(to:from:count:)` (by default: copy, then
  /// ``IterChecksum/update(_:)-(UnsafeRawBufferPointer)``).
  ///
  /// - Returns: The number of bytes copied.
  /// - Throws: ``IterError/wrongDirection(operation:direction:)`` on a source cursor;
  ///   ``IterError/sourceChanged(segmentIndex:remaining:reason:)`` (cursor and
  ///   checksum unchanged).
  /// - Complexity: O(*m* + *s*).
  ///
  /// The corresponding kernel functions are `csum_and_copy_to_iter` and
  /// `skb_copy_and_crc32c_datagram_iter`.
  @inlinable
  @discardableResult
  public mutating func write<C: IterChecksum>(
    _ bytes: UnsafeRawBufferPointer, checksum: inout C
  ) throws(IterError) -> Int {
    try _requireDirection(.destination, "csum_and_copy_to_iter")
    guard let from = bytes.baseAddress else { return 0 }
    let saved = checksum
    var failed = true
    defer { if _slowPath(failed) { checksum = saved } }
    if C._feedsInBlocks {
      let done = try unsafe _copyWalkFeeding(
        bytes.count, UnsafeMutableRawPointer(mutating: from), intoSegments: true, &checksum)
      failed = false
      return done
    }
    let done = try unsafe _walkChecked(bytes.count) { (to, n, progress) throws(Never) -> Int in
      unsafe checksum._copyAndUpdate(to: to, from: from + progress, count: n)
      return n
    }
    failed = false
    return done
  }

  /// Copies bytes out of the cursor into `buffer` and feeds them to
  /// `checksum` in the same pass; see ``read(into:)-(UnsafeMutableRawBufferPointer)``.
  ///
  /// ``CRC32C`` and ``InternetChecksum`` are fed the copied bytes in blocks
  /// of 8 KiB right behind the copy, while they are still in the cache;
  /// ``InternetChecksum`` copies and sums chunks of 512 bytes and more in one
  /// loop.
  ///
  /// - Returns: The number of bytes copied.
  /// - Throws: ``IterError/wrongDirection(operation:direction:)`` on a destination cursor;
  ///   ``IterError/sourceChanged(segmentIndex:remaining:reason:)`` (cursor and
  ///   checksum unchanged).
  /// - Complexity: O(*m* + *s*).
  ///
  /// The corresponding kernel function is `csum_and_copy_from_iter`.
  @inlinable
  @discardableResult
  public mutating func read<C: IterChecksum>(
    into buffer: UnsafeMutableRawBufferPointer, checksum: inout C
  ) throws(IterError) -> Int {
    try _requireDirection(.source, "csum_and_copy_from_iter")
    guard let to = buffer.baseAddress else { return 0 }
    let saved = checksum
    var failed = true
    defer { if _slowPath(failed) { checksum = saved } }
    if C._feedsInBlocks {
      let done = try unsafe _copyWalkFeeding(buffer.count, to, intoSegments: false, &checksum)
      failed = false
      return done
    }
    let done = try unsafe _walkChecked(buffer.count) { (from, n, progress) throws(Never) -> Int in
      guard let from = unsafe from else { return 0 }
      unsafe checksum._copyAndUpdate(to: to + progress, from: from, count: n)
      return n
    }
    failed = false
    return done
  }
}

extension IovIter {
  /// The copy walk of ``read(into:)-(UnsafeMutableRawBufferPointer)`` and
  /// ``write(_:)-(UnsafeRawBufferPointer)``, a block of
  /// `C._blockBytes` at a time, each block's contiguous side fed to
  /// `checksum` right behind it while it is still in L1: the bytes come from
  /// memory once, the copy keeps its inline small copies, and the checksum
  /// runs over long runs whatever the segment size. Throws as
  /// ``_copyWalkChecked(_:_:intoSegments:)``, with the cursor as it was (the
  /// caller puts the checksum back).
  @inlinable @inline(__always)
  internal mutating func _copyWalkFeeding<C: IterChecksum>(
    _ length: Int, _ flat: UnsafeMutableRawPointer, intoSegments: Bool, _ checksum: inout C
  ) throws(IterError) -> Int {
    let wanted = Swift.min(length, _count)
    let saved = (_index, _offset, _count, _consumed)
    let block = C._blockBytes
    var done = 0
    while done < wanted {
      let m = Swift.min(block, wanted &- done)
      let got: Int
      // (A checksum without the one-loop path never looks at the segment.)
      if C._fusedChunkBytes < .max && _index < _source.segmentCount
        && _source.segment(at: _index).count &- _offset >= C._fusedChunkBytes
      {
        // Long chunks: each copied and fed in one pass.
        let at = unsafe flat + done
        got = unsafe _walk(m) { (chunk, n, progress) throws(Never) -> Int in
          if intoSegments {
            unsafe checksum._copyAndUpdate(to: chunk, from: at + progress, count: n)
          } else {
            guard let chunk = unsafe chunk else { return 0 }
            unsafe checksum._copyAndUpdate(to: at + progress, from: chunk, count: n)
          }
          return n
        }
      } else {
        got = unsafe _copyWalk(m, flat + done, intoSegments: intoSegments)
        unsafe checksum.update(UnsafeRawBufferPointer(start: flat + done, count: got))
      }
      done &+= got
      if _slowPath(got < m) {
        let stopped = _index
        (_index, _offset, _count, _consumed) = saved
        throw _sourceChanged(at: stopped, remaining: wanted &- done)
      }
    }
    return done
  }
}
