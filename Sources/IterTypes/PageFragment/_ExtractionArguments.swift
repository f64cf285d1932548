//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore

/// Checks the arguments of a kind's `extractPages(at:maxBytes:maxPages:options:)`.
///
/// That method is public, so it can be called directly with values the
/// cursor never passes; they get the cursor's typed errors, in the cursor's
/// order, instead of a trap. A position is valid from the start of a segment
/// to its end, or at segment `segmentCount` with offset 0 (the end).
///
/// - Throws: `IterError.negativeCount(argument:value:)` for a negative
///   `maxBytes` or `position.offset`;
///   `IterError.invalidArgument(argument:value:reason:)` for `maxPages < 1`, a
///   segment index outside `0...segmentCount`, or an offset past the end of
///   its segment.
internal func _checkExtractionArguments<S: IterSegmentSource>(
  _ source: S, at position: IterPosition, maxBytes: Int, maxPages: Int
) throws(IterError) {
  guard maxBytes >= 0 else { throw .negativeCount(argument: "maxBytes", value: maxBytes) }
  guard maxPages >= 1 else {
    throw .invalidArgument(argument: "maxPages", value: maxPages, reason: "must be at least 1")
  }
  let count = source.segmentCount
  let index = position.segmentIndex
  guard index >= 0, index <= count else {
    throw .invalidArgument(
      argument: "position.segmentIndex", value: index,
      reason: "the source has \(count) segments")
  }
  guard position.offset >= 0 else {
    throw .negativeCount(argument: "position.offset", value: position.offset)
  }
  let length = index < count ? source.segment(at: index).count : 0
  guard position.offset <= length else {
    throw .invalidArgument(
      argument: "position.offset", value: position.offset,
      reason: "past the end of segment \(index), which holds \(length) bytes")
  }
}

/// A first guess at the pages a run lists, to reserve room for them without
/// asking for an absurd amount when `maxPages` or `maxBytes` is huge.
internal func _expectedPageCount(maxBytes: Int, maxPages: Int) -> Int {
  Swift.min(maxPages, maxBytes / IterPage.size + 2, 256)
}
