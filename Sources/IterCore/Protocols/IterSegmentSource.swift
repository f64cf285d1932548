//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// A buffer kind: an ordered sequence of segments that a cursor walks.
///
/// This is the plugin protocol of swift-iov-iter. A conformer describes its
/// memory as segments numbered `0..<segmentCount`; ``IovIter`` then gives it
/// the kernel's whole operation set (copy in and out, advance and revert,
/// truncate, save and restore, counts, alignment, page extraction, gather
/// export, splitting) for free. Stepping both ways is indexing both ways.
///
/// Only two requirements have no default:
///
/// ```swift
/// struct TwoHalves: IterSegmentSource {
///   var first: UnsafeMutableRawBufferPointer
///   var second: UnsafeMutableRawBufferPointer
///   var segmentCount: Int { 2 }
///   func segment(at index: Int) -> IterSegment {
///     IterSegment(index == 0 ? first : second)
///   }
/// }
/// ```
///
/// The rest are customisation points with defaults: the memory kind, the
/// directions the kind supports, page extraction with its retention, and
/// bulk access to the segments for the cursor's hot loops
/// (``withContiguousSegments(from:_:)``).
///
/// ## Contract
///
/// - ``segment(at:)`` is called only with `0 ..< segmentCount`, often in hot
///   loops: make it O(1) and `@inlinable` where you can.
/// - Segment lengths are never negative. A segment with a `nil` base keeps no
///   bytes (a sink); it is only valid in a kind that is never a source.
/// - The segments a cursor has been built over must not change while the
///   cursor walks them. Appending segments at the end is allowed.
///
/// The corresponding kernel concept is the per-type step functions behind
/// `iterate_and_advance` (`iterate_iovec`, `iterate_bvec`, `iterate_kvec`, ...).
///
/// Concurrency: the protocol does not require `Sendable`; a kind decides, and a cursor over it is `Sendable` exactly
/// when the kind is.
public protocol IterSegmentSource {
  /// The number of segments, including empty ones.
  ///
  /// - Complexity: O(1).
  var segmentCount: Int { get }

  /// The segment at `index`, where `0 <= index < segmentCount`.
  ///
  /// - Complexity: O(1).
  func segment(at index: Int) -> IterSegment

  /// The kind of memory the segments live in. The default is
  /// ``IterMemoryKind/user``.
  var memoryKind: IterMemoryKind { get }

  /// The directions the kind supports. The default is both.
  var supportedDirections: IterDirections { get }

  /// What ``extractPages(at:maxBytes:maxPages:options:)`` holds on the
  /// pages it lists for `options`. The default is ``IterRetentionKind/none``.
  ///
  /// The corresponding kernel function is `iov_iter_extract_will_pin`
  /// (true exactly when this is ``IterRetentionKind/pin`` for no options).
  func retention(for options: IterExtractionOptions) -> IterRetentionKind

  /// What extraction at `position` holds for `options`. The default is
  /// ``retention(for:)``; a source that mixes kinds (``IterChain``) answers
  /// for the member at `position`.
  ///
  /// - Throws: ``IterError/invalidArgument(argument:value:reason:)`` for a
  ///   position the source does not have, where the answer depends on it.
  func retention(
    for options: IterExtractionOptions, at position: IterPosition
  ) throws(IterError) -> IterRetentionKind

  /// Lists the pages under the next run of bytes that starts at `position`
  /// and takes the kind's retention on them.
  ///
  /// The run is a page list, the kernel's contract: the pages in the order
  /// the bytes come, the first used from ``IterExtraction/offset``, every
  /// later one from its first byte, every one but the last used to its end,
  /// and each page the one that really holds those bytes. Whether the run
  /// also stays inside virtually contiguous memory is the kind's own rule
  /// (the kernel keeps `iovec`, `kvec` and `bio_vec` runs contiguous and lets
  /// a folio queue list several folios). The run has at least 1 byte when
  /// bytes remain, at most `maxBytes`, and at most `maxPages` pages.
  ///
  /// The cursor calls this with `position` on a byte that remains (it may sit
  /// at the end of a segment when empty or exhausted segments follow: skip
  /// them), `maxBytes` clamped to its count (at least 1), and `maxPages` at
  /// least 1; it checks the result with
  /// ``IterExtraction/contractViolation(of:at:maxBytes:maxPages:)`` and
  /// advances by ``IterExtraction/count``. The method is public API, so it can
  /// also be called directly with any values: check them with
  /// ``IterExtraction/validateArguments(of:at:maxBytes:maxPages:)`` and throw,
  /// never trap. The default lists one segment per call without retention
  /// (the kernel's `ITER_KVEC` rule), using
  /// ``IterExtraction/singleSegmentRun(of:at:maxBytes:maxPages:retain:)``.
  ///
  /// - Throws: ``IterError/extractionUnsupported(kind:)`` for a kind that has
  ///   no pages; the kind's own failure to retain (a pin over
  ///   `RLIMIT_MEMLOCK`, say); the argument errors of
  ///   ``IterExtraction/validateArguments(of:at:maxBytes:maxPages:)``.
  func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction

  /// Calls `body` with a contiguous run of the segments from `index` on, or
  /// returns `nil` when the kind keeps no such run.
  ///
  /// This is bulk access: a kind whose segments already lie in memory as
  /// ``IterSegment`` values (an array of them) hands the cursor a buffer, and
  /// the cursor's hot loops (copies, advance, gather export, building) walk
  /// it without a call and a bounds check per segment. The default returns
  /// `nil` without calling `body`, and the cursor then calls
  /// ``segment(at:)`` for each segment, as before.
  ///
  /// The contract, where `run` is the buffer handed to `body`:
  ///
  /// - `run[k]` is exactly `segment(at: index + k)` for every `k` in
  ///   `0 ..< run.count`; the run holds at least one segment and ends at or
  ///   before ``segmentCount``. It may end earlier (a kind that keeps its
  ///   segments in several arrays hands one array's worth); the cursor then
  ///   asks again from the index after it.
  /// - The buffer is valid only during the call.
  ///
  /// The cursor calls this with `0 <= index < segmentCount`. It reads no
  /// element outside `run` nor past ``segmentCount``, and falls back to
  /// ``segment(at:)`` for `index` when the run is empty, so a kind that breaks
  /// the contract cannot make it read out of bounds or stall. It checks the
  /// segments of a run as it checks those of ``segment(at:)`` (a negative
  /// length is an ``IterError``, not a trap), but it trusts their values: a
  /// run that disagrees with ``segment(at:)`` makes the cursor walk the run's
  /// segments. `checkIterConformance` (in `IterConformance`) reports any
  /// disagreement.
  ///
  /// ```swift
  /// func withContiguousSegments<R, E: Error>(
  ///   from index: Int, _ body: (UnsafeBufferPointer<IterSegment>) throws(E) -> R
  /// ) throws(E) -> R? {
  ///   try segments.withUnsafeBufferPointer { (all) throws(E) -> R in
  ///     try body(UnsafeBufferPointer(rebasing: all[index...]))
  ///   }
  /// }
  /// ```
  ///
  /// - Parameters:
  ///   - index: The index of the run's first segment.
  ///   - body: Walks the run; its result is returned.
  /// - Returns: What `body` returned, or `nil` when the kind has no bulk access.
  /// - Complexity: O(1), plus `body`'s cost.
  ///
  /// The kernel's `iterate_iovec` walks the `iovec` array itself in the same way.
  func withContiguousSegments<R, E: Error>(
    from index: Int, _ body: (UnsafeBufferPointer<IterSegment>) throws(E) -> R
  ) throws(E) -> R?
}

extension IterSegmentSource {
  /// ``IterMemoryKind/user``.
  @inlinable
  public var memoryKind: IterMemoryKind { .user }

  /// Both directions.
  @inlinable
  public var supportedDirections: IterDirections { .both }

  /// ``IterRetentionKind/none``.
  @inlinable
  public func retention(for options: IterExtractionOptions) -> IterRetentionKind { .none }

  /// ``retention(for:)``, wherever the position.
  @inlinable
  public func retention(
    for options: IterExtractionOptions, at position: IterPosition
  ) throws(IterError) -> IterRetentionKind {
    retention(for: options)
  }

  /// One segment per call, holding nothing (the kernel's `ITER_KVEC` rule).
  public func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction {
    try IterExtraction.singleSegmentRun(
      of: self, at: position, maxBytes: maxBytes, maxPages: maxPages
    ) { _, _ throws(IterError) in IterRetention() }
  }

  /// `nil`: no bulk access, so the cursor asks ``segment(at:)`` for each segment.
  @inlinable
  public func withContiguousSegments<R, E: Error>(
    from index: Int, _ body: (UnsafeBufferPointer<IterSegment>) throws(E) -> R
  ) throws(E) -> R? {
    nil
  }

  /// Whether extraction with no options pins the pages it lists.
  ///
  /// The corresponding kernel function is `iov_iter_extract_will_pin`.
  public var extractionWillPin: Bool { retention(for: []) == .pin }
}
