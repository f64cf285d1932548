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
    rest._advance(cut)
    return (head, rest._piece(_count &- cut))
  }

  /// Splits the remaining bytes into cursors of at most `maxPieceCount` bytes
  /// each, in order, over disjoint ranges (see ``split(at:)``).
  ///
  /// A cursor with no bytes left gives no pieces.
  ///
  /// - Throws: ``IterError/invalidArgument(argument:value:reason:)`` when
  ///   `maxPieceCount` is less than 1.
  /// - Complexity: O(*s* + *k*) for *s* segments and *k* pieces.
  @inlinable
  public func split(maxPieceCount: Int) throws(IterError) -> [IovIter] {
    guard maxPieceCount >= 1 else {
      throw .invalidArgument(
        argument: "maxPieceCount", value: maxPieceCount, reason: "must be at least 1")
    }
    var pieces: [IovIter] = []
    pieces.reserveCapacity(_count / maxPieceCount + (_count % maxPieceCount == 0 ? 0 : 1))
    var rest = self
    while rest._count > 0 {
      let n = Swift.min(maxPieceCount, rest._count)
      pieces.append(rest._piece(n))
      rest._advance(n)
    }
    return pieces
  }
}
