//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore

/// The kernel's rules for importing descriptors of user memory
/// (`import_iovec`, `import_ubuf`), shared by every import entry point.
///
/// Descriptors are read exactly once, into the import's own array, before
/// anything is checked, as the kernel's `copy_iovec_from_user` copies the
/// table before `__import_iovec` looks at it: a table that changes while it is
/// imported (a peer writing into shared memory, another thread) gives the
/// result of one snapshot of it, or that snapshot's error, never a mix. A
/// negative `IterSegment.count` stands for an `iov_len` whose top bit is set
/// (negative as `ssize_t`).
internal enum _UserImportRules {
  /// Copies `n` descriptors into a new array, calling `entry(i)` once for
  /// each `i` in order: the only read of the caller's table. Checks the entry
  /// count first (`nr_segs > UIO_MAXIOV` gives `-EINVAL`), so an oversized
  /// table is never read.
  internal static func snapshot(
    count n: Int, entry: (Int) -> IterSegment
  ) throws(IterError) -> ContiguousArray<IterSegment> {
    guard n <= UserIOVecArray.maximumCount else {
      throw .tooManySegments(count: n, limit: UserIOVecArray.maximumCount)
    }
    var copy = ContiguousArray<IterSegment>()
    copy.reserveCapacity(n)
    for i in 0..<n { copy.append(entry(i)) }
    return copy
  }

  /// The snapshot of an `iovec` table: each entry is loaded once, whole.
  internal static func snapshot(
    of vectors: UnsafeBufferPointer<iovec>
  ) throws(IterError) -> ContiguousArray<IterSegment> {
    try snapshot(count: vectors.count) { i in
      let entry = unsafe vectors[i]
      return unsafe IterSegment(base: entry.iov_base, count: entry.iov_len)
    }
  }

  /// Checks a snapshot the way `__import_iovec` does for `nr_segs != 1` and
  /// returns the capped segments and their total.
  ///
  /// Order of the checks, as in the kernel: the entry count
  /// (`nr_segs > UIO_MAXIOV` gives `-EINVAL`), then every length
  /// (`copy_iovec_from_user` gives `-EINVAL` for a negative one), then, entry
  /// by entry, the address (`access_ok` with the uncapped length gives
  /// `-EFAULT`) and the `MAX_RW_COUNT` cap. Only `descriptors` is read.
  internal static func importVector(
    _ descriptors: consuming ContiguousArray<IterSegment>
  ) throws(IterError) -> (segments: ContiguousArray<IterSegment>, total: Int) {
    var segments = descriptors
    guard segments.count <= UserIOVecArray.maximumCount else {
      throw .tooManySegments(count: segments.count, limit: UserIOVecArray.maximumCount)
    }
    for i in segments.indices where segments[i].count < 0 {
      throw negativeLength(index: i, length: segments[i].count)
    }
    var total = 0
    for i in segments.indices {
      try checkAddress(segments[i], index: i)
      // MAX_RW_COUNT - total never goes below 0, so later entries become 0.
      let length = min(segments[i].count, IterLimits.maxReadWriteCount - total)
      total += length
      segments[i].count = length
    }
    return (segments, total)
  }

  /// Checks one descriptor the way `__import_iovec_ubuf` and `import_ubuf` do:
  /// a negative length is `-EINVAL`; the length is capped at `MAX_RW_COUNT`
  /// *before* the address check.
  internal static func importSingle(_ descriptor: IterSegment) throws(IterError) -> IterSegment {
    if descriptor.count < 0 { throw negativeLength(index: 0, length: descriptor.count) }
    let capped = unsafe IterSegment(
      base: descriptor.base, count: min(descriptor.count, IterLimits.maxReadWriteCount))
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
