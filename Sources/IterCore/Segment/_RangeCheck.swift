//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

extension IterError {
  /// Checks entry `index`, `count` bytes at `offset` in a `container` of
  /// `size` bytes, as the kinds whose entries are ranges of an owner check
  /// them when they are added; returns the new total after `total`.
  ///
  /// - Throws: ``invalidSegment(index:count:reason:)`` for a negative length
  ///   or offset, or a range past the container's end;
  ///   ``lengthOverflow(total:limit:)`` when the total would pass `Int.max`.
  package static func _checkedRange(
    index: Int, offset: Int, count: Int, size: Int, container: String, total: Int
  ) throws(IterError) -> Int {
    guard count >= 0 else {
      throw .invalidSegment(index: index, count: count, reason: "negative length")
    }
    guard offset >= 0 else {
      throw .invalidSegment(index: index, count: count, reason: "negative offset \(offset)")
    }
    guard offset <= size, count <= size - offset else {
      throw .invalidSegment(
        index: index, count: count,
        reason: "offset \(offset) + length \(count) runs past the end of a \(size)-byte \(container)")
    }
    let (sum, overflow) = total.addingReportingOverflow(count)
    guard !overflow else { throw .lengthOverflow(total: total, limit: Int.max) }
    return sum
  }
}

// MARK: - The segments a kind hands to a cursor or a chain

extension IterError {
  /// Checks segment `index` of a kind as every reader of segments does (a
  /// cursor's initialiser, `IovIter.extend(by:)`, a chain's append): its
  /// length must not be negative, and in a source (which reads the bytes) the
  /// `used` bytes taken from it must have memory behind them.
  ///
  /// - Parameters:
  ///   - segment: The segment as the kind returned it.
  ///   - index: Its index in the kind, for the error.
  ///   - used: The bytes of it that are taken (all of it, or what is left
  ///     after a start offset and before a count ends).
  ///   - direction: The reader's direction.
  /// - Throws: ``invalidSegment(index:count:reason:)`` naming the segment's
  ///   own length, with the reason "negative length" or "no memory to read in
  ///   a source iterator".
  @inlinable @inline(__always)
  package static func _checkSegment(
    _ segment: IterSegment, at index: Int, using used: Int, direction: IterDirection
  ) throws(IterError) {
    if segment.count < 0 {
      throw .invalidSegment(index: index, count: segment.count, reason: "negative length")
    }
    if !segment.hasMemory && used > 0 && direction == .source {
      throw .invalidSegment(index: index, count: segment.count, reason: "no memory to read in a source iterator")
    }
  }

  /// Checks segment `index` as ``_checkSegment(_:at:using:direction:)`` does
  /// and adds the `used` bytes to `total`.
  ///
  /// - Returns: `total + used`.
  /// - Throws: As ``_checkSegment(_:at:using:direction:)``, and
  ///   ``lengthOverflow(total:limit:)`` naming `total` when the sum would pass
  ///   `Int.max`.
  @inlinable @inline(__always)
  package static func _addingSegment(
    _ segment: IterSegment, at index: Int, using used: Int, direction: IterDirection, to total: Int
  ) throws(IterError) -> Int {
    try _checkSegment(segment, at: index, using: used, direction: direction)
    let (sum, overflow) = total.addingReportingOverflow(used)
    if overflow { throw .lengthOverflow(total: total, limit: Int.max) }
    return sum
  }
}
