//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

// MARK: - The walk every copy is built on

extension IovIter {
  /// Walks up to `length` bytes chunk by chunk and moves the cursor past the
  /// bytes `step` accepted.
  ///
  /// `step(base, count, progress)` gets a chunk (`base` is `nil` in a segment
  /// that keeps no bytes) and returns how many of its bytes it handled; fewer
  /// than `count` stops the walk. This is `iterate_iovec` from the kernel's
  /// `include/linux/iov_iter.h`: empty segments are stepped over, and a walk
  /// that ends exactly at the end of a segment leaves the cursor at the start
  /// of the next one (which may itself be empty).
  ///
  /// If `step` throws, the cursor has moved past the bytes accepted before.
  ///
  /// The walk is bounded by the source's current `segmentCount` and stops at
  /// a segment shorter than the cursor's offset into it (a source that changed
  /// underneath, which the protocol forbids); it then returns fewer bytes than
  /// asked, and ``_walkChecked(_:_:)`` turns that into a typed error.
  @inlinable @inline(__always)
  internal mutating func _walk<E: Error>(
    _ length: Int,
    _ step: (UnsafeMutableRawPointer?, Int, Int) throws(E) -> Int
  ) throws(E) -> Int {
    var remaining = Swift.min(length, _count)
    guard remaining > 0 else { return 0 }
    var index = _index
    var skip = _offset
    var progress = 0
    var failure: E? = nil
    // The count was checked against the segments, so the walk ends before
    // this; the bound only stops a source whose segments changed underneath.
    let end = _source.segmentCount
    var going = true
    while going && index < end {
      going = unsafe _source._withRun(at: index, end: end) { (run, n) throws(Never) -> Bool in
        var k = 0
        repeat {
          let segment = unsafe run[k]
          let part = Swift.min(remaining, segment.count &- skip)
          if part > 0 {
            let chunk = unsafe segment.base.map { unsafe $0 + skip }
            var done: Int
            do throws(E) {
              done = try unsafe step(chunk, part, progress)
            } catch {
              failure = error
              done = 0
            }
            if done < 0 { done = 0 } else if done > part { done = part }
            progress &+= done
            skip &+= done
            remaining &-= done
            if skip < segment.count || failure != nil {
              index &+= k
              return false
            }
          } else if part < 0 {
            index &+= k
            return false  // shorter than the offset into it, or a negative length: changed underneath
          }
          k &+= 1
          skip = 0
        } while remaining > 0 && k < n
        index &+= k
        return remaining > 0
      }
    }
    _index = index
    _offset = skip
    _count &-= progress
    _consumed &+= progress
    if let failure { throw failure }
    return progress
  }

  /// Walks `length` bytes for a step that accepts every byte it is given,
  /// and throws ``IterError/sourceChanged(segmentIndex:remaining:reason:)``,
  /// with the cursor as it was, when the source's segments end or shrink
  /// before the cursor's count does. Bytes already handed to `step` stay
  /// handled (a copy has written them).
  @inlinable @inline(__always)
  internal mutating func _walkChecked(
    _ length: Int,
    _ step: (UnsafeMutableRawPointer?, Int, Int) throws(Never) -> Int
  ) throws(IterError) -> Int {
    let wanted = Swift.min(length, _count)
    let saved = (_index, _offset, _count, _consumed)
    let done = unsafe _walk(length, step)
    if _slowPath(done < wanted) {
      let stopped = _index
      (_index, _offset, _count, _consumed) = saved
      throw _sourceChanged(at: stopped, remaining: wanted &- done)
    }
    return done
  }

  /// The error for a source whose segments no longer hold the cursor's bytes.
  @usableFromInline
  internal func _sourceChanged(at index: Int, remaining: Int) -> IterError {
    let count = _source.segmentCount
    let reason: String
    if index >= count {
      reason = "its \(count) segments end first"
    } else {
      let length = _source.segment(at: index).count
      reason =
        length < 0
        ? "segment \(index) now has a negative length (\(length))"
        : "segment \(index) is now \(length) bytes, shorter than the offset into it"
    }
    return .sourceChanged(segmentIndex: index, remaining: remaining, reason: reason)
  }

  /// `iov_iter_advance` for an array-backed iterator: empty and exhausted
  /// segments at the new position are stepped over while bytes remain.
  ///
  /// - Returns: `false`, with the cursor unchanged, when the source's
  ///   segments end before the bytes do or a segment has a negative length
  ///   (the source changed underneath).
  @inlinable
  @discardableResult
  internal mutating func _advance(_ length: Int) -> Bool {
    guard _count > 0 else { return true }
    let n = Swift.min(length, _count)
    var size = n &+ _offset
    var index = _index
    let end = _source.segmentCount
    var going = true
    while going && index < end {
      going = unsafe _source._withRun(at: index, end: end) { (run, count) throws(Never) -> Bool in
        var k = 0
        var left = size
        // `left` is never negative, so one unsigned compare stops at the
        // segment that holds the new position and at a negative length
        // (which looks huge); the second case is told apart after the loop.
        // Four segments a turn while four remain; the loop after it finishes
        // (and starts again at the segment a turn stopped on).
        while k &+ 4 <= count {
          let a = unsafe run[k].count
          if UInt(bitPattern: a) > UInt(bitPattern: left) { break }
          let b = unsafe run[k &+ 1].count
          if UInt(bitPattern: b) > UInt(bitPattern: left &- a) {
            left &-= a
            k &+= 1
            break
          }
          let c = unsafe run[k &+ 2].count
          if UInt(bitPattern: c) > UInt(bitPattern: left &- a &- b) {
            left &-= a &+ b
            k &+= 2
            break
          }
          let d = unsafe run[k &+ 3].count
          if UInt(bitPattern: d) > UInt(bitPattern: left &- a &- b &- c) {
            left &-= a &+ b &+ c
            k &+= 3
            break
          }
          left &-= a &+ b &+ c &+ d
          k &+= 4
        }
        while k < count {
          let segmentLength = unsafe run[k].count
          if UInt(bitPattern: segmentLength) > UInt(bitPattern: left) { break }
          left &-= segmentLength
          k &+= 1
        }
        size = left
        guard k < count else {
          index &+= count
          return true
        }
        if _slowPath(unsafe run[k].count < 0) {
          index = -1
        } else {
          index &+= k
        }
        return false
      }
    }
    if _slowPath(index < 0) { return false }
    if _slowPath(index >= end && size > 0) { return false }
    _count &-= n
    _consumed &+= n
    _index = index
    _offset = size
    return true
  }
}

// MARK: - Advance, revert, truncate, reexpand

extension IovIter {
  /// Moves the cursor forward by `n` bytes without copying.
  ///
  /// `n` is clamped to ``count``. As in the kernel, a cursor with bytes left
  /// steps over empty segments at its new position, so after advancing over
  /// everything ``segmentsRemaining`` is 0; a cursor with no bytes left does
  /// not move at all.
  ///
  /// - Parameter n: The number of bytes to skip.
  /// - Throws: ``IterError/negativeCount(argument:value:)`` if `n` is negative;
  ///   ``IterError/sourceChanged(segmentIndex:remaining:reason:)`` if the
  ///   source's segments no longer hold the bytes (unchanged then).
  /// - Complexity: O(*s*), where *s* is the number of segments crossed.
  ///
  /// The corresponding kernel function is `iov_iter_advance`.
  @inlinable
  public mutating func advance(by n: Int) throws(IterError) {
    guard n >= 0 else { throw .negativeCount(argument: "n", value: n) }
    guard _advance(n) else { throw _sourceChanged(at: _source.segmentCount, remaining: Swift.min(n, _count)) }
  }

  /// Moves the cursor back by `n` bytes, undoing earlier progress.
  ///
  /// ``count`` grows by `n`. Reverting lands strictly inside a segment
  /// (at its end only when `n` is 0), stepping back over empty segments.
  ///
  /// - Parameter n: The number of bytes to take back; 0 does nothing.
  /// - Throws: ``IterError/negativeCount(argument:value:)`` if `n` is negative,
  ///   ``IterError/revertPastStart(requested:consumed:)`` if `n` is larger than
  ///   ``consumedCount`` (the kernel `BUG()`s or walks off the array);
  ///   ``IterError/sourceChanged(segmentIndex:remaining:reason:)`` if the
  ///   source's segments no longer hold the consumed bytes. The cursor is
  ///   unchanged when it throws.
  /// - Complexity: O(*s*), where *s* is the number of segments crossed.
  ///
  /// The corresponding kernel function is `iov_iter_revert`.
  @inlinable
  public mutating func revert(by n: Int) throws(IterError) {
    guard n >= 0 else { throw .negativeCount(argument: "n", value: n) }
    guard n <= _consumed else { throw .revertPastStart(requested: n, consumed: _consumed) }
    guard n > 0 else { return }
    if n <= _offset {
      _offset &-= n
      _count &+= n
      _consumed &-= n
      return
    }
    var unroll = n &- _offset
    var index = Swift.min(_index, _source.segmentCount)
    // Bulk: a kind whose run from segment 0 reaches the position is walked
    // backwards without a call a segment. Anything unusual (a negative
    // length, too few bytes) goes to the loop below, which names it.
    if index > 0 {
      let target = index
      let bulk = unsafe _source.withContiguousSegments(from: 0) { (run) throws(Never) -> (Int, Int)? in
        guard run.count >= target, let base = run.baseAddress else { return nil }
        var i = target
        var left = unroll
        // `left` is positive: one unsigned compare finds the landing segment,
        // or a negative length (which looks huge), told apart below. Four
        // segments a turn while four remain, as in advance.
        while i >= 4 {
          let a = unsafe base[i &- 1].count
          if UInt(bitPattern: a) >= UInt(bitPattern: left) { break }
          let b = unsafe base[i &- 2].count
          if UInt(bitPattern: b) >= UInt(bitPattern: left &- a) {
            left &-= a
            i &-= 1
            break
          }
          let c = unsafe base[i &- 3].count
          if UInt(bitPattern: c) >= UInt(bitPattern: left &- a &- b) {
            left &-= a &+ b
            i &-= 2
            break
          }
          let d = unsafe base[i &- 4].count
          if UInt(bitPattern: d) >= UInt(bitPattern: left &- a &- b &- c) {
            left &-= a &+ b &+ c
            i &-= 3
            break
          }
          left &-= a &+ b &+ c &+ d
          i &-= 4
        }
        while i > 0 {
          i &-= 1
          let segmentLength = unsafe base[i].count
          if UInt(bitPattern: segmentLength) >= UInt(bitPattern: left) {
            return segmentLength < 0 ? nil : (i, segmentLength &- left)
          }
          left &-= segmentLength
        }
        return nil
      }
      if let bulk, let (landing, offset) = bulk {
        _index = landing
        _offset = offset
        _count &+= n
        _consumed &-= n
        return
      }
    }
    while true {
      // The consumed count says the bytes are there; a source that changed
      // underneath may say otherwise, and then nothing moves.
      guard index > 0 else {
        throw .sourceChanged(
          segmentIndex: 0, remaining: unroll,
          reason: "the segments before the position hold fewer bytes than were consumed")
      }
      index &-= 1
      let segmentLength = _source.segment(at: index).count
      guard segmentLength >= 0 else { throw _sourceChanged(at: index, remaining: unroll) }
      if unroll <= segmentLength {
        _index = index
        _offset = segmentLength &- unroll
        _count &+= n
        _consumed &-= n
        return
      }
      unroll &-= segmentLength
    }
  }

  /// Lowers ``count`` to at most `n`; never raises it.
  ///
  /// The bytes cut off stay in the range: ``reexpand(to:)`` can bring them back.
  ///
  /// - Throws: ``IterError/negativeCount(argument:value:)`` if `n` is negative.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `iov_iter_truncate`.
  @inlinable
  public mutating func truncate(to n: Int) throws(IterError) {
    guard n >= 0 else { throw .negativeCount(argument: "n", value: n) }
    if _count > n { _count = n }
  }

  /// Sets ``count`` to `n`, at most the bytes left in the range the cursor was
  /// built over (``reexpandLimit``): undoes a ``truncate(to:)``.
  ///
  /// - Throws: ``IterError/negativeCount(argument:value:)`` if `n` is negative;
  ///   ``IterError/reexpandPastLimit(requested:limit:)`` if `n` exceeds
  ///   ``reexpandLimit`` (the kernel trusts the caller). Unchanged when it throws.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `iov_iter_reexpand`.
  @inlinable
  public mutating func reexpand(to n: Int) throws(IterError) {
    guard n >= 0 else { throw .negativeCount(argument: "n", value: n) }
    let limit = _extent &- _consumed
    guard n <= limit else { throw .reexpandPastLimit(requested: n, limit: limit) }
    _count = n
  }
}

// MARK: - Save and restore

/// A snapshot of a cursor's position and count, for ``IovIter/restore(_:)``.
///
/// The corresponding kernel structure is `struct iov_iter_state`
/// (`iov_offset`, `count`, `nr_segs`).
///
/// Sendable: it holds only integers and an identity number.
public struct IterState: Hashable, Sendable {
  /// The offset into the current segment (`iov_offset`).
  public let segmentOffset: Int
  /// The bytes left (`count`).
  public let count: Int
  @usableFromInline internal let _index: Int
  @usableFromInline internal let _consumed: Int
  @usableFromInline internal let _identity: UInt64

  @inlinable
  internal init(segmentOffset: Int, count: Int, index: Int, consumed: Int, identity: UInt64) {
    self.segmentOffset = segmentOffset
    self.count = count
    self._index = index
    self._consumed = consumed
    self._identity = identity
  }

  /// The index of the segment the cursor was at.
  public var segmentIndex: Int { _index }
  /// How far the cursor had moved from its start.
  public var consumedCount: Int { _consumed }
}

extension IovIter {
  /// Saves the cursor's position and count.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `iov_iter_save_state`.
  @inlinable
  public func saveState() -> IterState {
    IterState(
      segmentOffset: _offset, count: _count, index: _index, consumed: _consumed,
      identity: _identity)
  }

  /// Returns the cursor to a saved position and count.
  ///
  /// The state must come from this cursor or from a copy of it (a copy is
  /// the kernel's `dup_iter`, so the two walk the same segments). Unlike the
  /// kernel, which restores only `ITER_UBUF`, `ITER_IOVEC`, `ITER_KVEC` and
  /// `ITER_BVEC`, every kind can be restored.
  ///
  /// - Throws: ``IterError/foreignState`` for a state saved from another
  ///   cursor (including the pieces made by ``split(at:)``), or one that does
  ///   not fit this cursor's range. Unchanged when it throws.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `iov_iter_restore`.
  @inlinable
  public mutating func restore(_ state: IterState) throws(IterError) {
    guard state._identity == _identity,
      state._index >= 0, state._index <= _source.segmentCount,
      state.segmentOffset >= 0, state._consumed >= 0, state.count >= 0,
      state._consumed <= _extent, state.count <= _extent &- state._consumed
    else { throw .foreignState }
    _index = state._index
    _offset = state.segmentOffset
    _count = state.count
    _consumed = state._consumed
  }
}

// MARK: - Growing with the source

extension IovIter {
  /// Takes `n` more bytes into the cursor's range and count, after segments
  /// were appended to a source whose storage the cursor shares (a folio queue
  /// that is extended while a cursor walks it, say).
  ///
  /// The new bytes must exist: the segments from the current position must
  /// hold at least ``reexpandLimit`` + `n` bytes, and none may be malformed.
  ///
  /// - Throws: ``IterError/negativeCount(argument:value:)`` for a negative
  ///   `n`; ``IterError/countExceedsSource(count:available:)`` when the source
  ///   does not hold the bytes; ``IterError/invalidSegment(index:count:reason:)``
  ///   for a malformed appended segment. Unchanged when it throws.
  /// - Complexity: O(*s*) for the segments from the position to the end.
  ///
  /// The kernel's netfs code does this by adding to `iter->count` when it
  /// appends a folio to the queue the iterator walks.
  public mutating func extend(by n: Int) throws(IterError) {
    guard n >= 0 else { throw .negativeCount(argument: "n", value: n) }
    let wanted = (_extent &- _consumed).addingReportingOverflow(n)
    guard !wanted.overflow else { throw .lengthOverflow(total: _extent, limit: Int.max) }
    var available = -_offset
    var index = _index
    let end = _source.segmentCount
    while index < end && available < wanted.partialValue {
      let segment = _source.segment(at: index)
      try IterError._checkSegment(segment, at: index, using: segment.count, direction: _direction)
      available &+= segment.count
      index &+= 1
    }
    guard available >= wanted.partialValue else {
      throw .countExceedsSource(count: wanted.partialValue, available: Swift.max(0, available))
    }
    _extent &+= n
    _count &+= n
  }
}

extension IovIter {
  /// The one rule for appending to a source that grows under this cursor (a
  /// chain, a folio queue): the cursor's range must reach the source's end,
  /// `bytesToEnd` bytes from its position, or the new bytes would not follow
  /// it; `append` then grows the source and returns the bytes it added, and
  /// the cursor takes them in with ``extend(by:)``. If it cannot, `undo`
  /// takes the new bytes out of the source again, so neither changes.
  ///
  /// - Parameters:
  ///   - bytesToEnd: The source's bytes from the cursor's position to its end.
  ///   - shortRange: The error when the range ends before the source does.
  ///   - append: Grows the source; returns the bytes added.
  ///   - undo: Removes what `append` added.
  /// - Throws: `shortRange()`; what `append` throws (it must leave the source
  ///   unchanged then); as ``extend(by:)``.
  package mutating func _growSource(
    bytesToEnd: Int, shortRange: () -> IterError, append: () throws(IterError) -> Int, undo: () -> Void
  ) throws(IterError) {
    guard reexpandLimit == bytesToEnd else { throw shortRange() }
    let added = try append()
    do {
      try extend(by: added)
    } catch {
      undo()
      throw error
    }
  }
}
