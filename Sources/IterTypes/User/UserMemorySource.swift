//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// A source of memory lent by the application: what ``UserBuffer``,
/// ``UserIOVecArray`` and ``UserImport`` have in common.
///
/// Conforming gives a source the user kind's rules: its memory kind is
/// `IterMemoryKind.user`; it can be written into unless it was imported
/// read-only; and extraction pins the pages under each run with `mlock(2)`
/// through ``UserPinRegistry/shared``, one segment (one `iovec`) per call, as
/// the kernel pins user-backed iterators.
///
/// Concurrency: it adds no `Sendable` requirement to `IterSegmentSource`; both built-in conformers are `Sendable`.
public protocol UserMemorySource: IterSegmentSource {
  /// Whether the memory was imported read-only; the source can then only be read.
  var isReadOnly: Bool { get }
}

extension UserMemorySource {
  /// `IterMemoryKind.user`.
  @inlinable
  public var memoryKind: IterMemoryKind { .user }

  /// Both directions, or `IterDirections.source` alone when ``isReadOnly``.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var supportedDirections: IterDirections { isReadOnly ? .source : .both }

  /// `IterRetentionKind.pin` for every option set: the kernel always pins
  /// user-backed pages on extraction, so `extractionWillPin` is `true`.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `iov_iter_extract_will_pin`
  /// (`user_backed_iter`).
  @inlinable
  public func retention(for options: IterExtractionOptions) -> IterRetentionKind { .pin }

  /// Lists the pages under the next run, which never leaves its segment (one
  /// `iovec` per call; empty segments are skipped), and pins them with
  /// `mlock(2)` through ``UserPinRegistry/shared``.
  ///
  /// The run is cut at `maxBytes` and `maxPages`; only its first page starts
  /// at an offset. Release the returned retention once to unpin.
  ///
  /// A cursor calls this with a position inside the source, `maxBytes` of at
  /// least 1 and `maxPages` of at least 1. Called directly, the arguments are
  /// checked: a position at the end (segment `segmentCount`, offset 0) or a
  /// `maxBytes` of 0 gives an empty extraction that pins nothing; anything
  /// outside the source throws.
  ///
  /// - Throws: Nothing is pinned when it throws.
  ///   - `IterError.negativeCount(argument:value:)` for a negative `maxBytes`;
  ///   - `IterError.invalidArgument(argument:value:reason:)` for `maxPages`
  ///     below 1, or a `position` outside the source (argument
  ///     `"position.segmentIndex"` or `"position.offset"`);
  ///   - the errors of ``UserPinRegistry/pin(address:count:)``:
  ///     `IterError.badAddress(address:count:reason:)` when the memory is not
  ///     mapped or has no access,
  ///     `IterError.resourceLimit(resource:requested:limit:errno:)` when
  ///     `RLIMIT_MEMLOCK` refuses the pin, `IterError.systemCall(name:errno:)`
  ///     for other `mlock(2)` failures.
  /// - Complexity: O(*p*) for *p* pages plus the empty segments skipped, and
  ///   the cost of ``UserPinRegistry/pin(address:count:)``.
  ///
  /// The corresponding kernel function is `iov_iter_extract_user_pages`
  /// (`pin_user_pages_fast`).
  public func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction {
    // singleSegmentRun checks the arguments (IterExtraction.validateArguments).
    return try IterExtraction.singleSegmentRun(
      of: self, at: position, maxBytes: maxBytes, maxPages: maxPages
    ) { (start, count) throws(IterError) -> IterRetention in
      try UserPinRegistry.shared.pin(address: start, count: count)
    }
  }
}
