//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

extension IovIter {
  /// Hands each contiguous chunk of the next `maxCount` bytes to `body` and
  /// moves the cursor past the bytes `body` handled.
  ///
  /// `body` gets the chunk and the number of bytes handled before it in this
  /// walk, and returns how many of the chunk's bytes it handled. Returning
  /// fewer than the chunk's size stops the walk (the kernel's step functions
  /// return the remainder instead; a non-zero remainder stops them the same
  /// way). A return value outside `0...chunk.count` is clamped to it.
  /// Chunks without memory (discard) are consumed without calling `body`.
  ///
  /// This is the primitive every copy is built on. On a source cursor, treat
  /// the chunk as read-only.
  ///
  /// ```swift
  /// var sum = 0
  /// let n = iter.iterateAndAdvance(maxCount: 100) { chunk, _ in
  ///   sum += chunk.reduce(0) { $0 + Int($1) }
  ///   return chunk.count
  /// }
  /// ```
  ///
  /// - Parameters:
  ///   - maxCount: At most this many bytes, clamped to `0...count`.
  ///   - body: Handles one chunk.
  /// - Returns: The number of bytes handled.
  /// - Throws: Whatever `body` throws; the cursor then stands after the chunks
  ///   handled before. A source whose segments end or shrink under the cursor
  ///   (which the protocol forbids) stops the walk there: the result is then
  ///   less than asked although ``count`` is not 0; the typed-error operations
  ///   report that as ``IterError/sourceChanged(segmentIndex:remaining:reason:)``.
  /// - Complexity: O(*s*) calls for *s* segments, plus `body`'s cost.
  ///
  /// The corresponding kernel function is `iterate_and_advance`.
  @inlinable
  @discardableResult
  public mutating func iterateAndAdvance<E: Error>(
    maxCount: Int,
    _ body: (_ chunk: UnsafeMutableRawBufferPointer, _ progress: Int) throws(E) -> Int
  ) throws(E) -> Int {
    try unsafe _walk(Swift.max(0, maxCount)) { (base, n, progress) throws(E) -> Int in
      guard let base = unsafe base else { return n }
      return try unsafe body(UnsafeMutableRawBufferPointer(start: base, count: n), progress)
    }
  }

  /// Visits the chunks of the remaining bytes as spans, without moving the cursor.
  ///
  /// `body` returns `false` to stop. Chunks without memory are skipped.
  ///
  /// - Parameters:
  ///   - maxCount: At most this many bytes; the default is all of ``count``.
  ///   - body: Gets one chunk; returns whether to go on.
  /// - Complexity: O(*s*) calls.
  @inlinable
  public func forEachChunk<E: Error>(
    maxCount: Int = .max, _ body: (RawSpan) throws(E) -> Bool
  ) throws(E) {
    var copy = self
    _ = try unsafe copy._walk(Swift.max(0, maxCount)) { (base, n, _) throws(E) -> Int in
      guard let base = unsafe base else { return n }
      let span = unsafe RawSpan(_unsafeStart: base, byteCount: n)
      return try body(span) ? n : 0
    }
  }
}

// MARK: - Chunks as spans

extension IovIter {
  /// Moves past the next contiguous chunk (as ``advance(by:)`` would) and
  /// returns where it is, stepping over chunks without memory when
  /// `skipMemoryless` is set.
  @inlinable
  internal mutating func _nextChunk(_ maxCount: Int, skipMemoryless: Bool) throws(IterError) -> IterSegment {
    guard maxCount > 0 else { return unsafe IterSegment(base: nil, count: 0) }
    let saved = (_index, _offset, _count, _consumed)
    while true {
      // Find the whole next chunk, then cut it at maxCount; a chunk without
      // memory that is skipped is skipped whole, not maxCount bytes at a time.
      var chunk = unsafe IterSegment(base: nil, count: 0)
      var probe = self
      var taken = false
      _ = unsafe probe._walk(_count) { (base, n, _) throws(Never) -> Int in
        if taken { return 0 }
        taken = true
        chunk = unsafe IterSegment(base: base, count: n)
        return n
      }
      if chunk.count == 0 || !skipMemoryless || chunk.hasMemory {
        chunk.count = Swift.min(chunk.count, maxCount)
        if _slowPath((chunk.count == 0 && _count > 0) || !_advance(chunk.count)) {
          let remaining = _count
          (_index, _offset, _count, _consumed) = saved
          throw _sourceChanged(at: probe._index, remaining: remaining)
        }
        return chunk
      }
      if _slowPath(!_advance(chunk.count)) {
        let remaining = _count
        (_index, _offset, _count, _consumed) = saved
        throw _sourceChanged(at: probe._index, remaining: remaining)
      }
    }
  }

  /// Returns the next contiguous chunk of at most `maxCount` bytes as a span
  /// and moves the cursor past it, as ``advance(by:)`` by its size would.
  ///
  /// An empty span means no bytes are left (or `maxCount` is 0). The span is
  /// valid until the cursor is next used, and only as long as the source's
  /// memory is.
  ///
  /// ```swift
  /// while true {
  ///   let chunk = try iter.nextChunk()
  ///   if chunk.isEmpty { break }
  ///   consume(chunk)
  /// }
  /// ```
  ///
  /// - Parameter maxCount: At most this many bytes; the default is no limit.
  /// - Throws: ``IterError/wrongDirection(operation:direction:)`` on a
  ///   destination cursor (use ``nextMutableChunk(maxCount:)``);
  ///   ``IterError/negativeCount(argument:value:)`` for a negative `maxCount`.
  /// - Complexity: O(1), plus the empty segments stepped over.
  ///
  /// The kernel equivalent is one step of `iterate_and_advance`.
  @inlinable
  @_lifetime(&self)
  public mutating func nextChunk(maxCount: Int = .max) throws(IterError) -> RawSpan {
    guard maxCount >= 0 else { throw .negativeCount(argument: "maxCount", value: maxCount) }
    try _requireDirection(.source, "next chunk")
    let chunk = try _nextChunk(maxCount, skipMemoryless: false)
    let span = unsafe RawSpan(_unsafeBytes: UnsafeRawBufferPointer(start: chunk.base, count: chunk.count))
    return unsafe _overrideLifetime(span, mutating: &self)
  }

  /// Returns the next contiguous chunk of at most `maxCount` bytes of a
  /// destination cursor, to be written in place, and moves the cursor past it,
  /// as ``advance(by:)`` by its size would. Chunks without memory (discard)
  /// are consumed and skipped. An empty span means no bytes are left (or
  /// `maxCount` is 0).
  ///
  /// The span is valid until the cursor is next used, and only as long as
  /// the source's memory is.
  ///
  /// - Parameter maxCount: At most this many bytes; the default is no limit.
  /// - Throws: ``IterError/wrongDirection(operation:direction:)`` on a source
  ///   cursor; ``IterError/negativeCount(argument:value:)`` for a negative `maxCount`.
  /// - Complexity: O(1), plus the segments stepped over.
  @inlinable
  @_lifetime(&self)
  public mutating func nextMutableChunk(maxCount: Int = .max) throws(IterError) -> MutableRawSpan {
    guard maxCount >= 0 else { throw .negativeCount(argument: "maxCount", value: maxCount) }
    try _requireDirection(.destination, "next mutable chunk")
    let chunk = try _nextChunk(maxCount, skipMemoryless: true)
    let span = unsafe MutableRawSpan(
      _unsafeBytes: UnsafeMutableRawBufferPointer(start: chunk.base, count: chunk.count))
    return unsafe _overrideLifetime(span, mutating: &self)
  }
}
