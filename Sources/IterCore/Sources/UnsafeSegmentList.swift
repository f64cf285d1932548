//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// A plain array of `(pointer, length)` segments over memory the caller owns.
///
/// The simplest ``IterSegmentSource``: what you give is what the cursor walks.
/// It neither owns nor checks the memory, hence the `Unsafe` prefix: the
/// memory must stay valid, and must not be written by anyone else, while a
/// cursor uses the list.
///
/// ```swift
/// let list = UnsafeSegmentList([IterSegment(header), IterSegment(payload)])
/// var iter = try IovIter(list, direction: .source)
/// ```
///
/// The buffer kinds in `IterTypes` add the kernel's import rules
/// (`UIO_MAXIOV`, `MAX_RW_COUNT`) on top of this shape; this list applies none.
///
/// The corresponding C structure is an array of `struct kvec`.
///
/// Sendable: it is a value list of addresses and lengths, like an iovec array; who writes the memory they name is the
/// caller's business, as with any pointer.
public struct UnsafeSegmentList: IterSegmentSource {
  @usableFromInline
  internal var _segments: ContiguousArray<IterSegment>

  /// The kind of memory the segments live in.
  public var memoryKind: IterMemoryKind

  /// Creates a list of up to `capacity` segments that `initializer` writes in
  /// place, with no array built first (the way
  /// `Array(unsafeUninitializedCapacity:initializingWith:)` does it).
  ///
  /// `initializer` gets a buffer of `capacity` uninitialized segments and the
  /// count of those it has initialized, starting at 0; it must set the count
  /// to the number of leading segments it wrote. Segments need no cleanup, so
  /// a throw after writing some loses nothing.
  ///
  /// ```swift
  /// let list = UnsafeSegmentList(unsafeUninitializedCapacity: n) { buffer, count in
  ///   for i in 0..<n { buffer[i] = IterSegment(base: base + i * size, count: size) }
  ///   count = n
  /// }
  /// ```
  ///
  /// - Parameters:
  ///   - capacity: The most segments; a negative capacity is taken as 0.
  ///   - memoryKind: The kind to report; the default is ``IterMemoryKind/user``.
  ///   - initializer: Writes the segments and sets the count.
  /// - Complexity: O(`capacity`) for the allocation, plus `initializer`'s cost.
  @inlinable
  public init(
    unsafeUninitializedCapacity capacity: Int, memoryKind: IterMemoryKind = .user,
    initializingWith initializer: (inout UnsafeMutableBufferPointer<IterSegment>, inout Int) throws -> Void
  ) rethrows {
    self._segments = try unsafe ContiguousArray(
      unsafeUninitializedCapacity: Swift.max(0, capacity), initializingWith: initializer)
    self.memoryKind = memoryKind
  }

  /// Creates a list over `segments`.
  ///
  /// - Parameters:
  ///   - segments: The segments, in order. Empty ones are kept and skipped.
  ///   - memoryKind: The kind to report; the default is ``IterMemoryKind/user``.
  /// - Complexity: O(*n*) to copy the segments.
  public init<S: Sequence<IterSegment>>(_ segments: S, memoryKind: IterMemoryKind = .user) {
    self._segments = ContiguousArray(segments)
    self.memoryKind = memoryKind
  }

  /// Creates a list whose segments are `buffers`.
  ///
  /// - Complexity: O(*n*).
  public init(buffers: [UnsafeMutableRawBufferPointer], memoryKind: IterMemoryKind = .user) {
    unsafe self.init(buffers.map { unsafe IterSegment($0) }, memoryKind: memoryKind)
  }

  /// The segments.
  public var segments: ContiguousArray<IterSegment> { _segments }

  /// The number of segments.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var segmentCount: Int { _segments.count }

  /// The segment at `index`.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func segment(at index: Int) -> IterSegment { _segments[index] }

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

  /// Appends a segment. The list is a value: cursors built before the call keep
  /// the segments they were built over.
  ///
  /// - Complexity: Amortised O(1).
  public mutating func append(_ segment: IterSegment) { _segments.append(segment) }
}

extension UnsafeSegmentList: Sendable {}
