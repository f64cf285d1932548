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

  /// Hands `body` the segments ahead of the cursor a run at a time, and
  /// moves the cursor past the bytes `body` says it took.
  ///
  /// This is the walk for code that reads the segments themselves, as the
  /// kernel's block layer reads a `bio_vec` array: a mapper that turns them
  /// into device chunks, a scheduler that counts them. `body` gets a run of
  /// consecutive segments (the kind's bulk run, or one segment for a kind
  /// without one), the offset into the run's first segment where the
  /// cursor's bytes start (0 for every run but the first), and how many
  /// bytes the cursor still holds from there. It reads the segments' base
  /// and count itself and returns how many of the cursor's bytes in the run
  /// it took. Taking every byte of the run goes on with the next run (while
  /// the cursor has bytes); taking fewer stops the walk.
  ///
  /// The cursor then moves exactly as ``advance(by:)`` would by the sum:
  /// ``count``, ``consumedCount`` and the position agree, and empty segments
  /// at the new position are stepped over. The segments are not checked for
  /// `body`: one may be empty, shorter than the offset into it, or have a
  /// negative length (a source that changed underneath). A return value is
  /// clamped to the bytes the run holds for the cursor, which end before
  /// such a segment; the cursor never moves past one.
  ///
  /// ```swift
  /// // Count the segments of the next 64 KiB.
  /// var segments = 0
  /// let moved = iter.iterateSegmentsAndAdvance { run, offset, limit in
  ///   var taken = 0
  ///   var skip = offset
  ///   for segment in run where taken < min(limit, 65_536) {
  ///     taken += min(segment.count - skip, min(limit, 65_536) - taken)
  ///     skip = 0
  ///     segments += 1
  ///   }
  ///   return taken
  /// }
  /// ```
  ///
  /// - Parameter body: Gets a run, the offset into its first segment and the
  ///   cursor's bytes left; returns the bytes it took from the run.
  /// - Returns: The bytes the cursor moved past.
  /// - Complexity: O(*s*) for the *s* segments of the runs handed over,
  ///   plus `body`'s cost; one call a run.
  ///
  /// The kernel's `bio_for_each_bvec` and `__bvec_iter_advance` walk and
  /// advance a `bvec_iter` over a `bio_vec` array in the same way.
  @inlinable @inline(__always)
  @discardableResult
  public mutating func iterateSegmentsAndAdvance(
    _ body: (_ segments: UnsafeBufferPointer<IterSegment>, _ offset: Int, _ limit: Int) -> Int
  ) -> Int {
    guard _count > 0 else { return 0 }
    var index = _index
    var offset = _offset
    var left = _count
    let end = _source.segmentCount
    var going = true
    while going && index < end {
      going = unsafe _source._withRun(at: index, end: end) { (first, n) throws(Never) -> Bool in
        var rest = 0
        if left > 0 {
          rest = unsafe body(UnsafeBufferPointer(start: first, count: n), offset, left)
          rest = Swift.min(Swift.max(rest, 0), left)
        }
        // Find where `rest` bytes from `offset` end, as `_advance` does: past
        // every segment they cover whole, and past empty ones.
        let wanted = rest
        var k = 0
        var skip = offset
        while k < n {
          let length = unsafe first[k].count
          let available = length &- skip
          if length < 0 || available < 0 || available > rest { break }
          rest &-= available
          skip = 0
          k &+= 1
        }
        if k < n && rest > 0, case let length = unsafe first[k].count, length >= 0 && skip &+ rest < length {
          // Inside segment k.
          skip &+= rest
          rest = 0
        }
        // What is left of `rest` is more than the run holds for the cursor: clamped away.
        left &-= wanted &- rest
        index &+= k
        offset = skip
        return k == n
      }
    }
    let moved = _count &- left
    _count = left
    _consumed &+= moved
    _index = index
    _offset = offset
    return moved
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
