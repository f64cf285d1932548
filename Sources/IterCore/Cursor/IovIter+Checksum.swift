//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

extension IovIter {
  /// Copies `bytes` into the cursor and feeds them to `checksum` in the same
  /// pass; see ``write(_:)-(UnsafeRawBufferPointer)``.
  ///
  /// The checksum covers exactly the bytes copied. Into a discard segment the
  /// bytes are still fed to the checksum, as the kernel does. For ``CRC32C``
  /// and ``InternetChecksum`` each chunk is copied and checksummed in one pass
  /// over its bytes; other checksums get the chunk after it is copied.
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
    let done = try unsafe _walkChecked(bytes.count) { (to, n, progress) throws(Never) -> Int in
      if let to = unsafe to {
        unsafe checksum._copyAndUpdate(to: to, from: from + progress, count: n)
      } else {
        unsafe checksum.update(UnsafeRawBufferPointer(start: from + progress, count: n))
      }
      return n
    }
    failed = false
    return done
  }

  /// Copies bytes out of the cursor into `buffer` and feeds them to
  /// `checksum` in the same pass; see ``read(into:)-(UnsafeMutableRawBufferPointer)``.
  ///
  /// For ``CRC32C`` and ``InternetChecksum`` each chunk is copied and
  /// checksummed in one pass over its bytes.
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
    let done = try unsafe _walkChecked(buffer.count) { (from, n, progress) throws(Never) -> Int in
      guard let from = unsafe from else { return 0 }
      unsafe checksum._copyAndUpdate(to: to + progress, from: from, count: n)
      return n
    }
    failed = false
    return done
  }
}
