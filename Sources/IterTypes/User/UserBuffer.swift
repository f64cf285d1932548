//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// One buffer of memory lent by the application: the kernel's `ITER_UBUF`.
///
/// A user buffer is a single segment, always (`nr_segs == 1`, even when it is
/// empty). It does not own its memory: the application lends it for as long as
/// a cursor, or a pin taken by extraction, uses it.
///
/// Build one with an import initializer, which applies the kernel's
/// `import_ubuf` rules: a negative length or a null base with a non-zero length
/// is an error, and a length over `MAX_RW_COUNT` (`IterLimits.maxReadWriteCount`) is
/// silently capped.
///
/// ```swift
/// let buffer = try UserBuffer(importing: payload)   // UnsafeMutableRawBufferPointer
/// var iter = try IovIter(buffer, direction: .destination)
/// ```
///
/// Extraction pins the pages it lists with `mlock(2)`
/// (``extractPages(at:maxBytes:maxPages:options:)``); see ``UserPinRegistry``.
///
/// A buffer imported from an `UnsafeRawBufferPointer` is read-only: its
/// ``supportedDirections`` is `IterDirections.source` only, so a cursor that
/// would write into it cannot be built.
///
/// The corresponding kernel type is `ITER_UBUF` (`iov_iter_ubuf`).
///
/// Sendable: an address, a length and a flag; the bytes are the caller's, as with `ITER_UBUF`.
@safe
public struct UserBuffer: UserMemorySource {
  @usableFromInline
  internal var _segment: IterSegment

  @usableFromInline
  internal var _isReadOnly: Bool

  @inlinable
  internal init(_validated segment: IterSegment, isReadOnly: Bool) {
    self._segment = segment
    self._isReadOnly = isReadOnly
  }

  /// Imports `count` bytes at `base` with the kernel's `import_ubuf` rules.
  ///
  /// - Parameters:
  ///   - base: The first byte; `nil` only when `count` is 0.
  ///   - count: The number of bytes. More than `IterLimits.maxReadWriteCount` is
  ///     silently capped to it, as the kernel does.
  /// - Throws: `IterError.invalidSegment(index:count:reason:)` (index 0) for a
  ///   negative `count`, a `nil` base with a non-zero `count`, or a range that
  ///   wraps past the end of the address space (the parts of the kernel's
  ///   `access_ok` that user space can check).
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `import_ubuf`.
  public init(importing base: UnsafeMutableRawPointer?, count: Int) throws(IterError) {
    let segment = try _UserImportRules.importSingle(unsafe IterSegment(base: base, count: count))
    self.init(_validated: segment, isReadOnly: false)
  }

  /// Imports `buffer` with the kernel's `import_ubuf` rules; see
  /// ``init(importing:count:)``.
  ///
  /// - Throws: `IterError.invalidSegment(index:count:reason:)` for a range
  ///   that wraps past the end of the address space.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `import_ubuf`.
  public init(importing buffer: UnsafeMutableRawBufferPointer) throws(IterError) {
    try unsafe self.init(importing: buffer.baseAddress, count: buffer.count)
  }

  /// Imports the read-only `buffer` with the kernel's `import_ubuf` rules; the
  /// result can only be a `IterDirection.source`.
  ///
  /// - Throws: `IterError.invalidSegment(index:count:reason:)` for a range
  ///   that wraps past the end of the address space.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `import_ubuf` (with `ITER_SOURCE`).
  public init(importing buffer: UnsafeRawBufferPointer) throws(IterError) {
    let segment = try _UserImportRules.importSingle(unsafe IterSegment(readOnly: buffer))
    self.init(_validated: segment, isReadOnly: true)
  }

  /// The first byte, or `nil` for an empty buffer imported without one.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var base: UnsafeMutableRawPointer? { unsafe _segment.base }

  /// The number of bytes, after the `MAX_RW_COUNT` cap (the kernel's `count`).
  ///
  /// - Complexity: O(1).
  @inlinable
  public var count: Int { _segment.count }

  /// Whether the buffer was imported read-only (it can then only be a source).
  ///
  /// - Complexity: O(1).
  @inlinable
  public var isReadOnly: Bool { _isReadOnly }

  /// Always 1: a user buffer is one segment, even when it is empty.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var segmentCount: Int { 1 }

  /// The buffer as a segment, at index 0.
  ///
  /// Any other index (which a cursor never passes) gets an empty segment
  /// without memory rather than a trap.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func segment(at index: Int) -> IterSegment {
    index == 0 ? _segment : unsafe IterSegment(base: nil, count: 0)
  }
}

extension IovIter where Source == UserBuffer {
  /// Imports `buffer` as a single user buffer and builds a cursor over it.
  ///
  /// - Parameters:
  ///   - buffer: The memory; more than `IterLimits.maxReadWriteCount` bytes are capped.
  ///   - direction: Which way data moves.
  /// - Throws: The errors of ``UserBuffer/init(importing:)-(UnsafeMutableRawBufferPointer)``.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `import_ubuf`.
  public init(
    importing buffer: UnsafeMutableRawBufferPointer, direction: IterDirection
  ) throws(IterError) {
    try unsafe self.init(UserBuffer(importing: buffer), direction: direction)
  }

  /// Imports the read-only `buffer` and builds a `IterDirection.source` cursor over it.
  ///
  /// - Throws: The errors of ``UserBuffer/init(importing:)-(UnsafeRawBufferPointer)``.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `import_ubuf` (with `ITER_SOURCE`).
  public init(importing buffer: UnsafeRawBufferPointer) throws(IterError) {
    try unsafe self.init(UserBuffer(importing: buffer), direction: .source)
  }
}

extension UserBuffer: Sendable {}
