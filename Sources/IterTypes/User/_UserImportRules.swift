//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore

/// The kernel's rules for importing descriptors of user memory
/// (`import_iovec`, `import_ubuf`), shared by every import entry point.
///
/// Each entry point reads its descriptors through `entry(i)`, which returns the
/// raw descriptor: a negative `IterSegment.count` stands for an `iov_len`
/// whose top bit is set (negative as `ssize_t`).
internal enum _UserImportRules {
  /// Checks a whole array the way `__import_iovec` does for `nr_segs != 1`
  /// and returns the capped segments and their total.
  ///
  /// Order of the checks, as in the kernel: the entry count
  /// (`nr_segs > UIO_MAXIOV` gives `-EINVAL`), then every length
  /// (`copy_iovec_from_user` gives `-EINVAL` for a negative one), then, entry
  /// by entry, the address (`access_ok` with the uncapped length gives
  /// `-EFAULT`) and the `MAX_RW_COUNT` cap.
  internal static func importVector(
    count n: Int, entry: (Int) -> IterSegment
  ) throws(IterError) -> (segments: ContiguousArray<IterSegment>, total: Int) {
    guard n <= UserIOVecArray.maximumCount else {
      throw .tooManySegments(count: n, limit: UserIOVecArray.maximumCount)
    }
    for i in 0..<n {
      let length = entry(i).count
      if length < 0 { throw negativeLength(index: i, length: length) }
    }
    var segments = ContiguousArray<IterSegment>()
    segments.reserveCapacity(n)
    var total = 0
    for i in 0..<n {
      let descriptor = entry(i)
      try checkAddress(descriptor, index: i)
      // MAX_RW_COUNT - total never goes below 0, so later entries become 0.
      let length = min(descriptor.count, iterMaxReadWriteCount - total)
      total += length
      segments.append(unsafe IterSegment(base: descriptor.base, count: length))
    }
    return (segments, total)
  }

  /// Checks one descriptor the way `__import_iovec_ubuf` and `import_ubuf` do:
  /// a negative length is `-EINVAL`; the length is capped at `MAX_RW_COUNT`
  /// *before* the address check.
  internal static func importSingle(_ descriptor: IterSegment) throws(IterError) -> IterSegment {
    if descriptor.count < 0 { throw negativeLength(index: 0, length: descriptor.count) }
    let capped = unsafe IterSegment(
      base: descriptor.base, count: min(descriptor.count, iterMaxReadWriteCount))
    try checkAddress(capped, index: 0)
    return capped
  }

  /// The part of `access_ok` that user space can check: a non-empty range
  /// needs a base, and must not wrap past the end of the address space.
  private static func checkAddress(_ descriptor: IterSegment, index: Int) throws(IterError) {
    guard descriptor.count > 0 else { return }
    guard descriptor.hasMemory else {
      throw .invalidSegment(
        index: index, count: descriptor.count, reason: "null base with a non-zero length")
    }
    let (_, wraps) = descriptor.address.addingReportingOverflow(UInt(descriptor.count))
    if wraps {
      throw .invalidSegment(
        index: index, count: descriptor.count,
        reason: "range from 0x\(String(descriptor.address, radix: 16)) wraps past the end "
          + "of the address space")
    }
  }

  private static func negativeLength(index: Int, length: Int) -> IterError {
    .invalidSegment(index: index, count: length, reason: "negative length (as ssize_t)")
  }
}
