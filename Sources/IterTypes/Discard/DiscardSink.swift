//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// A destination of `count` bytes that keeps none of them: the kernel's
/// `ITER_DISCARD` buffer kind.
///
/// The sink is one segment with no memory behind it (`IterSegment.base`
/// is `nil`). A `IovIter` over it accepts every copy into it and
/// moves past the bytes without storing them, which is how a reader skips
/// data it must consume but does not want (the kernel uses it for
/// `splice` to `/dev/null`, for skipping parts of a netfs read, ...).
///
/// ```swift
/// var sink = try IovIter(discarding: 4096)
/// let n = try sink.write(header)   // consumed, not stored
/// ```
///
/// The kernel's rules apply:
///
/// - it is a destination only: building a `IterDirection.source`
///   cursor over it throws `IterError.unsupportedDirection(_:kind:)`
///   (the kernel `BUG()`s on `iov_iter_discard(i, WRITE, ...)`), and copying
///   out of a destination cursor is a `IterError.wrongDirection(operation:direction:)`;
/// - advance, revert, truncate, reexpand, save and restore change only the
///   counts;
/// - its alignment and page count are 0, and a gather export describes
///   nothing, because there is no memory;
/// - page extraction throws `IterError.extractionUnsupported(kind:)`
///   (the kernel returns `-EFAULT`).
///
/// Lifetime: there is nothing to keep alive. The sink is a plain value.
///
/// The corresponding kernel function is `iov_iter_discard`.
///
/// Sendable: a byte count, a plain value.
public struct DiscardSink: IterSegmentSource, Hashable, Sendable {
  @usableFromInline
  internal let _count: Int

  /// A sink of `count` bytes.
  ///
  /// - Parameter count: How many bytes the sink consumes before it is full.
  /// - Throws: `IterError.negativeCount(argument:value:)` for a
  ///   negative count.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `iov_iter_discard`.
  @inlinable
  public init(count: Int) throws(IterError) {
    guard count >= 0 else { throw .negativeCount(argument: "count", value: count) }
    self._count = count
  }

  /// How many bytes the sink consumes.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var count: Int { _count }

  /// One segment, even when it is empty.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var segmentCount: Int { 1 }

  /// A segment of ``count`` bytes without memory.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func segment(at index: Int) -> IterSegment {
    unsafe IterSegment(base: nil, count: _count)
  }

  /// `IterMemoryKind.discard`.
  @inlinable
  public var memoryKind: IterMemoryKind { .discard }

  /// `IterDirections.destination` only.
  @inlinable
  public var supportedDirections: IterDirections { .destination }

  /// `IterRetentionKind.none`: there is nothing to hold.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func retention(for options: IterExtractionOptions) -> IterRetentionKind { .none }

  /// Always throws: a sink has no pages to list.
  ///
  /// The cursor returns an empty extraction without asking the sink when no
  /// bytes are wanted (`maxBytes` or its count is 0), as the kernel does
  /// before it looks at the type.
  ///
  /// - Throws: `IterError.extractionUnsupported(kind:)` with
  ///   `IterMemoryKind.discard`.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `iov_iter_extract_pages`, which
  /// returns `-EFAULT` for `ITER_DISCARD`.
  public func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction {
    throw .extractionUnsupported(kind: .discard)
  }
}

extension DiscardSink: CustomStringConvertible {
  /// `discard+count`.
  public var description: String { "discard+\(_count)" }
}

extension IovIter where Source == DiscardSink {
  /// A destination cursor that consumes `count` bytes and keeps none.
  ///
  /// - Parameter count: How many bytes to consume.
  /// - Throws: `IterError.negativeCount(argument:value:)` for a
  ///   negative count.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `iov_iter_discard(i, ITER_DEST, count)`.
  public init(discarding count: Int) throws(IterError) {
    try self.init(DiscardSink(count: count), direction: .destination)
  }
}
