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
