//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

extension IovIter {
  /// A cursor over the next `n` bytes only, that starts afresh: it cannot be
  /// reverted before its start nor reexpanded past its end, and states saved
  /// from this cursor do not restore into it.
  @inlinable
  internal func _piece(_ n: Int) -> IovIter {
    var piece = self
    piece._count = n
    piece._consumed = 0
    piece._extent = n
    piece._identity = _nextIterIdentity()
    return piece
  }

  /// Splits the remaining bytes at `n` into two cursors over disjoint ranges.
  ///
  /// The head covers the next `min(n, count)` bytes, the tail the rest. Each
  /// is confined to its range: neither can revert or reexpand into the
  /// other's bytes, so the two can be handed to different tasks. This cursor
  /// does not move.
  ///
  /// - Throws: ``IterError/negativeCount(argument:value:)`` for a negative `n`.
  /// - Complexity: O(*s*) for the segments the head covers.
  ///
  /// The kernel does this as `dup_iter` + `iov_iter_truncate` + `iov_iter_advance`.
  @inlinable
  public func split(at n: Int) throws(IterError) -> (head: IovIter, tail: IovIter) {
    guard n >= 0 else { throw .negativeCount(argument: "n", value: n) }
    let cut = Swift.min(n, _count)
    let head = _piece(cut)
    var rest = self
    guard rest._advance(cut) else { throw _sourceChanged(at: _source.segmentCount, remaining: cut) }
    return (head, rest._piece(_count &- cut))
  }

  /// The most pieces ``split(maxPieceCount:)`` makes in one array: 2^20.
  /// More would be an allocation sized by an untrusted count (a discard
  /// cursor of `Int.max` bytes cut into 1-byte pieces); walk those lazily with
  /// ``pieces(maxPieceCount:)``.
  public static var maxSplitPieceCount: Int { 1 << 20 }

  /// Splits the remaining bytes into cursors of at most `maxPieceCount` bytes
  /// each, in order, over disjoint ranges (see ``split(at:)``).
  ///
  /// A cursor with no bytes left gives no pieces. The array holds at most
  /// ``maxSplitPieceCount`` pieces; for more, use ``pieces(maxPieceCount:)``,
  /// which makes them one at a time.
  ///
  /// - Throws: ``IterError/invalidArgument(argument:value:reason:)`` when
  ///   `maxPieceCount` is less than 1, or when it would make more than
  ///   ``maxSplitPieceCount`` pieces;
  ///   ``IterError/sourceChanged(segmentIndex:remaining:reason:)`` when the
  ///   source's segments no longer hold the cursor's count.
  /// - Complexity: O(*s* + *k*) for *s* segments and *k* pieces.
  @inlinable
  public func split(maxPieceCount: Int) throws(IterError) -> [IovIter] {
    let sequence = try pieces(maxPieceCount: maxPieceCount)
    let pieceCount = sequence.pieceCount
    guard pieceCount <= Self.maxSplitPieceCount else {
      throw .invalidArgument(
        argument: "maxPieceCount", value: maxPieceCount,
        reason: "would cut \(_count) bytes into \(pieceCount) pieces, more than "
          + "\(Self.maxSplitPieceCount); use pieces(maxPieceCount:)")
    }
    var result: [IovIter] = []
    result.reserveCapacity(pieceCount)
    var iterator = sequence.makeIterator()
    while let piece = try iterator.nextPiece() { result.append(piece) }
    return result
  }

  /// The remaining bytes as cursors of at most `maxPieceCount` bytes each, in
  /// order, over disjoint ranges, made one at a time (see ``split(at:)``).
  ///
  /// Nothing is allocated up front, so any count of pieces can be walked.
  ///
  /// - Throws: ``IterError/invalidArgument(argument:value:reason:)`` when
  ///   `maxPieceCount` is less than 1.
  /// - Complexity: O(1); each piece costs O(*s*) for the segments it covers.
  @inlinable
  public func pieces(maxPieceCount: Int) throws(IterError) -> IterPieces<Source> {
    guard maxPieceCount >= 1 else {
      throw .invalidArgument(
        argument: "maxPieceCount", value: maxPieceCount, reason: "must be at least 1")
    }
    return IterPieces(rest: self, maxPieceCount: maxPieceCount)
  }
}

/// The pieces of a cursor, made one at a time: see
/// ``IovIter/pieces(maxPieceCount:)``.
///
/// Sendable exactly when `Source` is: it holds a cursor and a piece size.
public struct IterPieces<Source: IterSegmentSource>: Sequence {
  @usableFromInline internal let _start: Iterator

  @inlinable
  internal init(rest: IovIter<Source>, maxPieceCount: Int) {
    self._start = Iterator(rest: rest, maxPieceCount: maxPieceCount)
  }

  /// How many pieces there are.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var pieceCount: Int {
    let (count, size) = (_start._rest._count, _start._maxPieceCount)
    return count / size + (count % size == 0 ? 0 : 1)
  }

  /// An iterator over the pieces.
  @inlinable
  public func makeIterator() -> Iterator { _start }

  /// Makes the pieces of ``IterPieces`` in order.
  ///
  /// Sendable exactly when `Source` is: it holds a cursor and a piece size.
  public struct Iterator: IteratorProtocol {
    @usableFromInline internal var _rest: IovIter<Source>
    @usableFromInline internal let _maxPieceCount: Int

    @inlinable
    internal init(rest: IovIter<Source>, maxPieceCount: Int) {
      self._rest = rest
      self._maxPieceCount = maxPieceCount
    }

    /// The next piece, or `nil` after the last.
    ///
    /// - Throws: ``IterError/sourceChanged(segmentIndex:remaining:reason:)``
    ///   when the source's segments no longer hold the cursor's count.
    @inlinable
    public mutating func nextPiece() throws(IterError) -> IovIter<Source>? {
      guard _rest._count > 0 else { return nil }
      let n = Swift.min(_maxPieceCount, _rest._count)
      let piece = _rest._piece(n)
      guard _rest._advance(n) else {
        throw _rest._sourceChanged(at: _rest._source.segmentCount, remaining: n)
      }
      return piece
    }

    /// The next piece, or `nil` after the last (or when the source changed
    /// under the cursor; ``nextPiece()`` says so).
    @inlinable
    public mutating func next() -> IovIter<Source>? {
      (try? nextPiece()) ?? nil
    }
  }
}

extension IterPieces: Sendable where Source: Sendable {}
extension IterPieces.Iterator: Sendable where Source: Sendable {}
