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
  ///   handled before.
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
