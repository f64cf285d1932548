//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import Glibc
public import IterCore

/// An array of buffers lent by the application: the kernel's `ITER_IOVEC`.
///
/// The array is a copy of the descriptors it was imported from, checked and
/// capped with the kernel's `import_iovec` rules, so later changes to the
/// caller's `iovec` array (by a peer, say) cannot change it:
///
/// - more than ``maximumCount`` (`UIO_MAXIOV`, 1024) entries is
///   `IterError.tooManySegments(count:limit:)`;
/// - a negative length (an `iov_len` whose top bit is set, negative as
///   `ssize_t`) is `IterError.invalidSegment(index:count:reason:)`;
/// - a null base with a non-zero length, or a range that wraps past the end of
///   the address space, is `IterError.invalidSegment(index:count:reason:)`
///   (the checkable part of the kernel's `access_ok`, which gives `-EFAULT`);
/// - the total is silently capped at `IterLimits.maxReadWriteCount` (`MAX_RW_COUNT`)
///   by shortening the entry that crosses it; later entries become empty.
///
/// Unlike ``UserImport/init(importing:)-(UnsafeBufferPointer<iovec>)``, these
/// initializers keep a one-entry array as an array (a legal `ITER_IOVEC` with
/// `nr_segs == 1`) instead of turning it into a ``UserBuffer``.
///
/// The memory is lent, not owned: it must stay mapped while a cursor or a pin
/// uses it. Extraction pins (``extractPages(at:maxBytes:maxPages:options:)``).
///
/// The corresponding kernel type is `ITER_IOVEC` (`iov_iter_init`).
///
/// Sendable: a value array of addresses and lengths, checked when it was imported; the bytes are the caller's, as
/// with `ITER_IOVEC`.
@safe
public struct UserIOVecArray: UserMemorySource {
  /// The most entries an import accepts: the kernel's `UIO_MAXIOV`, 1024.
  public static let maximumCount = IterLimits.maxIOVectorCount

  @usableFromInline
  internal var _segments: ContiguousArray<IterSegment>

  @usableFromInline
  internal var _count: Int

  @usableFromInline
  internal var _isReadOnly: Bool

  internal init(
    _validated segments: ContiguousArray<IterSegment>, count: Int, isReadOnly: Bool
  ) {
    self._segments = segments
    self._count = count
    self._isReadOnly = isReadOnly
  }

  /// Imports a table of `iovec` descriptors with the kernel's `import_iovec`
  /// rules (see ``UserIOVecArray``), keeping one entry as an array.
  ///
  /// The table is read once and copied; it may come from a peer.
  ///
  /// - Parameter vectors: The descriptors; `iov_len` is read as `ssize_t`.
  /// - Throws: `IterError.tooManySegments(count:limit:)` or
  ///   `IterError.invalidSegment(index:count:reason:)`; nothing is built.
  /// - Complexity: O(*n*) for *n* entries.
  ///
  /// The corresponding kernel function is `import_iovec` followed by `iov_iter_init`.
  public init(importing vectors: UnsafeBufferPointer<iovec>) throws(IterError) {
    let (segments, total) = try _UserImportRules.importVector(
      unsafe _UserImportRules.snapshot(of: vectors))
    self.init(_validated: segments, count: total, isReadOnly: false)
  }

  /// Imports `buffers` with the kernel's `import_iovec` rules, keeping one
  /// entry as an array.
  ///
  /// - Throws: `IterError.tooManySegments(count:limit:)` or
  ///   `IterError.invalidSegment(index:count:reason:)`.
  /// - Complexity: O(*n*).
  ///
  /// The corresponding kernel function is `import_iovec`.
  public init(importing buffers: [UnsafeMutableRawBufferPointer]) throws(IterError) {
    let (segments, total) = try _UserImportRules.importVector(
      unsafe _UserImportRules.snapshot(count: buffers.count) { i in unsafe IterSegment(buffers[i]) }
    )
    self.init(_validated: segments, count: total, isReadOnly: false)
  }

  /// Imports the read-only `buffers` with the kernel's `import_iovec` rules;
  /// the result can only be a `IterDirection.source`.
  ///
  /// - Throws: `IterError.tooManySegments(count:limit:)` or
  ///   `IterError.invalidSegment(index:count:reason:)`.
  /// - Complexity: O(*n*).
  ///
  /// The corresponding kernel function is `import_iovec` (with `ITER_SOURCE`).
  public init(importing buffers: [UnsafeRawBufferPointer]) throws(IterError) {
    let (segments, total) = try _UserImportRules.importVector(
      unsafe _UserImportRules.snapshot(count: buffers.count) { i in
        unsafe IterSegment(readOnly: buffers[i])
      })
    self.init(_validated: segments, count: total, isReadOnly: true)
  }

  /// Imports raw `(base, count)` descriptors with the kernel's `import_iovec`
  /// rules, keeping one entry as an array. A negative `IterSegment.count` is
  /// the `ssize_t`-negative length the kernel refuses.
  ///
  /// - Throws: `IterError.tooManySegments(count:limit:)` or
  ///   `IterError.invalidSegment(index:count:reason:)`.
  /// - Complexity: O(*n*).
  ///
  /// The corresponding kernel function is `import_iovec`.
  public init(importing segments: [IterSegment]) throws(IterError) {
    let (checked, total) = try _UserImportRules.importVector(
      _UserImportRules.snapshot(count: segments.count) { i in segments[i] })
    self.init(_validated: checked, count: total, isReadOnly: false)
  }

  /// The checked and capped segments, including empty ones.
  ///
  /// - Complexity: O(1).
  public var segments: ContiguousArray<IterSegment> { _segments }

  /// The total number of bytes after the `MAX_RW_COUNT` cap (what
  /// `import_iovec` returns).
  ///
  /// - Complexity: O(1).
  @inlinable
  public var count: Int { _count }

  /// Whether the array was imported read-only (it can then only be a source).
  ///
  /// - Complexity: O(1).
  @inlinable
  public var isReadOnly: Bool { _isReadOnly }

  /// The number of entries, including empty ones (the kernel's `nr_segs`).
  ///
  /// - Complexity: O(1).
  @inlinable
  public var segmentCount: Int { _segments.count }

  /// The entry at `index`, where `0 <= index < segmentCount`.
  ///
  /// An index outside that range (which a cursor never passes) gets an empty
  /// segment without memory rather than a trap.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func segment(at index: Int) -> IterSegment {
    UInt(bitPattern: index) < UInt(_segments.count)
      ? _segments[index] : unsafe IterSegment(base: nil, count: 0)
  }

  /// The segments from `index` on, straight from the array: bulk access for
  /// the cursor's hot loops.
  ///
  /// - Complexity: O(1), plus `body`'s cost.
  @inlinable
  public func withContiguousSegments<R, E: Error>(
    from index: Int, _ body: (UnsafeBufferPointer<IterSegment>) throws(E) -> R
  ) throws(E) -> R? {
    try unsafe _segments.withContiguousSegments(from: index, body)
  }
}

extension IovIter where Source == UserIOVecArray {
  /// Imports `vectors` as an iovec array (one entry stays an array) and builds
  /// a cursor over it.
  ///
  /// - Throws: The errors of
  ///   ``UserIOVecArray/init(importing:)-(UnsafeBufferPointer<iovec>)``.
  /// - Complexity: O(*n*).
  ///
  /// The corresponding kernel functions are `import_iovec` and `iov_iter_init`.
  public init(
    importing vectors: UnsafeBufferPointer<iovec>, direction: IterDirection
  ) throws(IterError) {
    try unsafe self.init(UserIOVecArray(importing: vectors), direction: direction)
  }
}

extension UserIOVecArray: Sendable {}
