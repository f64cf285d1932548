//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import Glibc
public import IterCore

/// The result of importing a user `iovec` table: a single buffer when the table
/// had one entry, an array otherwise, as the kernel's `import_iovec` decides.
///
/// The kernel turns a one-entry import into an `ITER_UBUF`, which is cheaper to
/// walk; the enum says which one you got, so a caller can switch once and keep
/// a cursor specialised for that kind:
///
/// ```swift
/// switch try UserImport(importing: vectors) {
/// case .buffer(let buffer): var iter = try IovIter(buffer, direction: .destination) …
/// case .vector(let array):  var iter = try IovIter(array, direction: .destination) …
/// }
/// ```
///
/// `UserImport` is also a source itself, for callers that do not care: it
/// forwards to the case it holds, at the cost of one well-predicted branch per
/// segment step. An empty table gives an empty ``vector(_:)`` with
/// ``count`` 0.
///
/// Why an enum rather than one type with an `isSingleBuffer` flag: the
/// single buffer has no array behind it (one segment, always) and the array has
/// its own rules (one `iovec` per extraction call); two concrete types keep each
/// fast path free of the other's checks, and the enum makes the kernel's
/// choice visible in the type instead of in a flag that callers may ignore.
///
/// The corresponding kernel function is `import_iovec`.
///
/// Sendable: a namespace of functions with no instances.
@safe
public enum UserImport: UserMemorySource {
  /// The table had one entry: a single buffer (`ITER_UBUF`).
  case buffer(UserBuffer)
  /// The table had zero or at least two entries: an array (`ITER_IOVEC`).
  case vector(UserIOVecArray)

  /// Imports a table of `iovec` descriptors with the kernel's `import_iovec`
  /// rules (see ``UserIOVecArray``); one entry becomes a ``buffer(_:)``.
  ///
  /// The table is read once and copied; it may come from a peer.
  ///
  /// - Throws: `IterError.tooManySegments(count:limit:)` or
  ///   `IterError.invalidSegment(index:count:reason:)`.
  /// - Complexity: O(*n*) for *n* entries.
  ///
  /// The corresponding kernel function is `import_iovec`.
  public init(importing vectors: UnsafeBufferPointer<iovec>) throws(IterError) {
    if vectors.count == 1 {
      // The one entry is loaded once, whole, as `__import_iovec_ubuf` copies it.
      let entry = unsafe vectors[0]
      self = try unsafe .buffer(
        UserBuffer(importing: entry.iov_base, count: entry.iov_len))
    } else {
      self = try unsafe .vector(UserIOVecArray(importing: vectors))
    }
  }

  /// Imports `buffers` with the kernel's `import_iovec` rules; one buffer
  /// becomes a ``buffer(_:)``.
  ///
  /// - Throws: `IterError.tooManySegments(count:limit:)` or
  ///   `IterError.invalidSegment(index:count:reason:)`.
  /// - Complexity: O(*n*).
  ///
  /// The corresponding kernel function is `import_iovec`.
  public init(importing buffers: [UnsafeMutableRawBufferPointer]) throws(IterError) {
    if unsafe buffers.count == 1 {
      self = try unsafe .buffer(UserBuffer(importing: buffers[0]))
    } else {
      self = try unsafe .vector(UserIOVecArray(importing: buffers))
    }
  }

  /// Imports the read-only `buffers` with the kernel's `import_iovec` rules;
  /// one buffer becomes a ``buffer(_:)``. The result can only be a source.
  ///
  /// - Throws: `IterError.tooManySegments(count:limit:)` or
  ///   `IterError.invalidSegment(index:count:reason:)`.
  /// - Complexity: O(*n*).
  ///
  /// The corresponding kernel function is `import_iovec` (with `ITER_SOURCE`).
  public init(importing buffers: [UnsafeRawBufferPointer]) throws(IterError) {
    if unsafe buffers.count == 1 {
      self = try unsafe .buffer(UserBuffer(importing: buffers[0]))
    } else {
      self = try unsafe .vector(UserIOVecArray(importing: buffers))
    }
  }

  /// Imports raw `(base, count)` descriptors with the kernel's `import_iovec`
  /// rules; one descriptor becomes a ``buffer(_:)``. A negative
  /// `IterSegment.count` is the `ssize_t`-negative length the kernel refuses.
  ///
  /// - Throws: `IterError.tooManySegments(count:limit:)` or
  ///   `IterError.invalidSegment(index:count:reason:)`.
  /// - Complexity: O(*n*).
  ///
  /// The corresponding kernel function is `import_iovec`.
  public init(importing segments: [IterSegment]) throws(IterError) {
    if segments.count == 1 {
      self = try unsafe .buffer(UserBuffer(importing: segments[0].base, count: segments[0].count))
    } else {
      self = try .vector(UserIOVecArray(importing: segments))
    }
  }

  /// The number of bytes after the `MAX_RW_COUNT` cap: what `import_iovec` returns.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var count: Int {
    switch self {
    case .buffer(let buffer): buffer.count
    case .vector(let array): array.count
    }
  }

  /// Whether the import became a single buffer (`ITER_UBUF`).
  ///
  /// - Complexity: O(1).
  @inlinable
  public var isSingleBuffer: Bool {
    if case .buffer = self { return true }
    return false
  }

  /// Whether the case held was imported read-only.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var isReadOnly: Bool {
    switch self {
    case .buffer(let buffer): buffer.isReadOnly
    case .vector(let array): array.isReadOnly
    }
  }

  /// The number of segments of the case held.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var segmentCount: Int {
    switch self {
    case .buffer(let buffer): buffer.segmentCount
    case .vector(let array): array.segmentCount
    }
  }

  /// The segment at `index` of the case held; an index outside
  /// `0 ..< segmentCount` gets an empty segment without memory.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func segment(at index: Int) -> IterSegment {
    switch self {
    case .buffer(let buffer): buffer.segment(at: index)
    case .vector(let array): array.segment(at: index)
    }
  }

  /// The vector's segments from `index` on (bulk access); `nil` for a single
  /// buffer, whose one segment the cursor asks for directly.
  ///
  /// - Complexity: O(1), plus `body`'s cost.
  @inlinable
  public func withContiguousSegments<R, E: Error>(
    from index: Int, _ body: (UnsafeBufferPointer<IterSegment>) throws(E) -> R
  ) throws(E) -> R? {
    switch self {
    case .buffer: nil
    case .vector(let array): try unsafe array.withContiguousSegments(from: index, body)
    }
  }
}

extension IovIter where Source == UserImport {
  /// Imports `vectors` with the kernel's `import_iovec` rules (one entry
  /// becomes a single buffer) and builds a cursor over the result.
  ///
  /// - Parameters:
  ///   - vectors: The descriptors, which may come from a peer.
  ///   - direction: Which way data moves.
  /// - Throws: The errors of ``UserImport/init(importing:)-(UnsafeBufferPointer<iovec>)``,
  ///   or `IterError.unsupportedDirection(_:kind:)`.
  /// - Complexity: O(*n*).
  ///
  /// The corresponding kernel function is `import_iovec`.
  public init(
    importing vectors: UnsafeBufferPointer<iovec>, direction: IterDirection
  ) throws(IterError) {
    try unsafe self.init(UserImport(importing: vectors), direction: direction)
  }

  /// Imports `buffers` with the kernel's `import_iovec` rules and builds a
  /// cursor over the result.
  ///
  /// - Throws: The errors of ``UserImport/init(importing:)-([UnsafeMutableRawBufferPointer])``.
  /// - Complexity: O(*n*).
  ///
  /// The corresponding kernel function is `import_iovec`.
  public init(
    importing buffers: [UnsafeMutableRawBufferPointer], direction: IterDirection
  ) throws(IterError) {
    try unsafe self.init(UserImport(importing: buffers), direction: direction)
  }
}

extension UserImport: Sendable {}
