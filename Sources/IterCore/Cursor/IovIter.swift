//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

internal import Synchronization

/// A stateful cursor over a buffer made of many segments: the kernel's
/// `struct iov_iter`, in Swift.
///
/// A cursor walks the segments of any ``IterSegmentSource`` in one
/// ``IterDirection``. A ``IterDirection/source`` cursor is read from (data is
/// copied *out* of its segments); a ``IterDirection/destination`` cursor is
/// written into. Every operation moves the cursor forward by exactly the bytes
/// it handled, and ``revert(by:)`` moves it back.
///
/// ```
///   segments:  [ 0 ..... 4095 ][ ][ 0 .. 511 ][ 0 ....... 8191 ]
///                     ^ position (segment 0, offset 3000)
///              |consumed|<------------- count ----------->|<- truncated ->|
///                       |<------------ reexpandLimit -------------------->|
/// ```
///
/// - ``count`` is what remains to be handled (the kernel's `count`); ``truncate(to:)``
///   lowers it and ``reexpand(to:)`` restores it, never past the end of the
///   range the cursor was built over.
/// - ``consumedCount`` is how far the cursor has moved from its start; a
///   revert past it is an error, not a crash.
/// - ``position`` is the current segment and the offset into it (the kernel's
///   current `iovec` and `iov_offset`); ``segmentsRemaining`` is `nr_segs`.
///
/// The cursor is a value: copying it is the kernel's `dup_iter`, and the copy
/// moves independently over the same memory.
///
/// Misuse (copying the wrong way, reverting too far, restoring a state saved
/// from another cursor, a negative count) throws an ``IterError`` and leaves
/// the cursor unchanged. The two closure-based walkers,
/// ``iterateAndAdvance(maxCount:_:)`` and ``forEachChunk(maxCount:_:)``, throw
/// their body's error type instead, so they clamp a negative `maxCount` to 0.
///
/// The corresponding kernel structure is `struct iov_iter`.
///
/// Sendable exactly when `Source` is: it holds its source and a few integers, so each task moves its own copy (split
/// pieces of a `Sendable` kind over disjoint bytes can go to different tasks).
public struct IovIter<Source: IterSegmentSource> {
  @usableFromInline internal var _source: Source
  @usableFromInline internal var _direction: IterDirection
  /// Index of the current segment (the kernel's `__iov` pointer).
  @usableFromInline internal var _index: Int
  /// Offset into the current segment (`iov_offset`).
  @usableFromInline internal var _offset: Int
  /// Bytes left to handle (`count`).
  @usableFromInline internal var _count: Int
  /// Bytes moved over since the start of the range.
  @usableFromInline internal var _consumed: Int
  /// Bytes in the whole range, from its start to its end: the bound of
  /// `_consumed + _count`.
  @usableFromInline internal var _extent: Int
  /// Shared by a cursor and its copies; saved states carry it.
  @usableFromInline internal var _identity: UInt64

  /// Creates a cursor over `source`.
  ///
  /// The cursor starts at the first segment. Every segment is checked once:
  /// no length may be negative, the lengths must not overflow `Int`, and a
  /// source cursor may not contain a segment without memory.
  ///
  /// - Parameters:
  ///   - source: The segments to walk.
  ///   - direction: ``IterDirection/source`` to copy out of the segments,
  ///     ``IterDirection/destination`` to copy into them.
  ///   - count: How many bytes the cursor covers, from the start; `nil` for all
  ///     of them. Unlike the kernel, which trusts `count`, a count larger than
  ///     the segments' total is an error.
  /// - Throws: ``IterError/unsupportedDirection(_:kind:)``,
  ///   ``IterError/invalidSegment(index:count:reason:)``,
  ///   ``IterError/lengthOverflow(total:limit:)``,
  ///   ``IterError/negativeCount(argument:value:)`` or
  ///   ``IterError/countExceedsSource(count:available:)``.
  /// - Complexity: O(*n*) for *n* segments.
  ///
  /// The corresponding kernel functions are `iov_iter_init`, `iov_iter_kvec`,
  /// `iov_iter_bvec` and `iov_iter_ubuf`.
  @inlinable
  public init(_ source: Source, direction: IterDirection, count: Int? = nil) throws(IterError) {
    try self.init(source, direction: direction, offset: 0, count: count)
  }

  /// Creates a cursor over `source` that starts `offset` bytes in.
  ///
  /// The bytes before `offset` are outside the cursor's range: it cannot
  /// revert into them, and ``consumedCount`` starts at 0. ``position`` and
  /// ``segmentOffset`` are relative to the source's segments, so a cursor over
  /// a folio started 100 bytes in reports a segment offset of 100, as the
  /// kernel's `iov_offset` does. Every segment is checked as in
  /// ``init(_:direction:count:)``.
  ///
  /// - Parameters:
  ///   - source: The segments to walk.
  ///   - direction: ``IterDirection/source`` or ``IterDirection/destination``.
  ///   - offset: The bytes to step over before the range starts.
  ///   - count: How many bytes the cursor covers from `offset`; `nil` for all.
  /// - Throws: As ``init(_:direction:count:)``, and
  ///   ``IterError/negativeCount(argument:value:)`` for a negative `offset`,
  ///   ``IterError/countExceedsSource(count:available:)`` when `offset` (plus
  ///   `count`) is more than the segments hold.
  /// - Complexity: O(*n*) for *n* segments.
  ///
  /// The corresponding kernel function is `iov_iter_folio_queue` (its
  /// `offset` argument); the other initialisers start at 0.
  @inlinable
  public init(
    _ source: Source, direction: IterDirection, offset: Int, count: Int? = nil
  ) throws(IterError) {
    guard source.supportedDirections.supports(direction) else {
      throw .unsupportedDirection(direction, kind: source.memoryKind)
    }
    if let count, count < 0 { throw .negativeCount(argument: "count", value: count) }
    // Validation and the total in one pass over the kind's runs: a branch-free
    // sum and a flag per run, and only a flagged run is gone over again, to
    // throw the first error in segment order.
    var total = 0
    let n = source.segmentCount
    var i = 0
    let needsMemory = direction == .source
    while i < n {
      total = try unsafe source._withRun(at: i, end: n) { (run, count) throws(IterError) -> Int in
        let (sum, suspect) = unsafe Self._scanRun(run, count: count, total: total, needsMemory: needsMemory)
        if _slowPath(suspect) {
          try unsafe Self._checkSegments(run, count: count, firstIndex: i, total: total, needsMemory: needsMemory)
        }
        i &+= count
        return sum
      }
    }
    guard offset >= 0 else { throw .negativeCount(argument: "offset", value: offset) }
    guard offset <= total else { throw .countExceedsSource(count: offset, available: total) }
    let covered = count ?? (total &- offset)
    guard covered <= total &- offset else {
      throw .countExceedsSource(count: covered, available: total &- offset)
    }
    self._source = source
    self._direction = direction
    self._index = 0
    self._offset = 0
    self._count = covered
    self._consumed = 0
    self._extent = covered
    self._identity = _nextIterIdentity()
    if offset > 0 {
      // Step to the start like iov_iter_advance, stopping inside a segment
      // (or on the one after the last byte when the offset ends one).
      var size = offset
      var index = 0
      while index < n {
        let length = source.segment(at: index).count
        if size < length || (covered == 0 && size == length) { break }
        size &-= length
        index &+= 1
      }
      self._index = index
      self._offset = size
    }
  }

  /// The source the cursor walks.
  @inlinable
  public var source: Source { _source }

  /// Which way data moves.
  ///
  /// The corresponding kernel function is `iov_iter_rw`.
  @inlinable
  public var direction: IterDirection { _direction }

  /// The kind of memory the segments live in.
  @inlinable
  public var memoryKind: IterMemoryKind { _source.memoryKind }

  /// The bytes left to handle.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `iov_iter_count`.
  @inlinable
  public var count: Int { _count }

  /// Whether no bytes are left.
  @inlinable
  public var isEmpty: Bool { _count == 0 }

  /// How many bytes the cursor has moved over since its start; the most that
  /// ``revert(by:)`` can take back.
  @inlinable
  public var consumedCount: Int { _consumed }

  /// The most that ``reexpand(to:)`` accepts: the bytes from the position to
  /// the end of the range the cursor was built over.
  @inlinable
  public var reexpandLimit: Int { _extent - _consumed }

  /// The current segment and the offset into it.
  @inlinable
  public var position: IterPosition { IterPosition(segmentIndex: _index, offset: _offset) }

  /// The offset into the current segment (the kernel's `iov_offset`).
  @inlinable
  public var segmentOffset: Int { _offset }

  /// The number of segments from the current one to the end of the source
  /// (the kernel's `nr_segs`). After a cursor has been advanced over all its
  /// bytes this is 0, as in the kernel.
  @inlinable
  public var segmentsRemaining: Int { _source.segmentCount - _index }
}

extension IovIter: Sendable where Source: Sendable {}

extension IovIter {
  /// The total of a run's lengths added to `total`, and whether the run may
  /// break a rule (then ``_checkSegments(_:count:firstIndex:total:needsMemory:)``
  /// goes over it again to find which segment, or to clear a false alarm).
  ///
  /// Branch-free, and two lanes at a time where a segment is laid out as
  /// `(address, length)` in 16 bytes: each segment is one load, one add and
  /// one or. Suspect are a negative length (the or of the lengths turns
  /// negative), a segment at no address (`address - 1` turns negative: also
  /// an empty one, and an address above `Int.max`, both false alarms) where
  /// memory is needed, and a total that might pass `Int.max` (the lengths'
  /// bit width plus the count's reaches 63 bits, or the sum turns negative).
  @inlinable
  internal static func _scanRun(
    _ run: UnsafePointer<IterSegment>, count: Int, total: Int, needsMemory: Bool
  ) -> (sum: Int, suspect: Bool) {
    var lengths = 0
    var ors = 0
    var addresses = 0
    if MemoryLayout<IterSegment>.stride == 16 && MemoryLayout<IterSegment>.offset(of: \.count) == 8 {
      var sums = SIMD2<Int>(repeating: 0)
      var bits = SIMD2<Int>(repeating: 0)
      let one = SIMD2<Int>(1, 0)
      let raw = unsafe UnsafeRawPointer(run)
      var k = 0
      while k < count {
        let pair = unsafe raw.loadUnaligned(fromByteOffset: k &* 16, as: SIMD2<Int>.self)
        sums &+= pair
        bits |= pair &- one
        k &+= 1
      }
      lengths = sums[1]
      ors = bits[1]
      addresses = bits[0]
    } else {
      var k = 0
      while k < count {
        let segment = unsafe run[k]
        lengths &+= segment.count
        ors |= segment.count
        addresses |= Int(bitPattern: unsafe segment.base) &- 1
        k &+= 1
      }
    }
    let sum = total &+ lengths
    // Below 2^w each, fewer than 2^c of them: the run's sum is below
    // 2^(w + c), which fits when w + c <= 62; and two values below 2^63 add
    // without wrapping, so a total past Int.max shows as a negative sum.
    let widths = (Int.bitWidth &- ors.leadingZeroBitCount) &+ (Int.bitWidth &- count.leadingZeroBitCount)
    let suspect = (ors | sum | (needsMemory ? addresses : 0)) < 0 || widths > 62
    return (sum, suspect)
  }

  /// Throws the first error, in segment order, that `count` segments from
  /// `first` (segment `firstIndex` on, after `total` bytes) give a cursor
  /// being built: a negative length, no memory in a source cursor, or a total
  /// past `Int.max`.
  @usableFromInline
  internal static func _checkSegments(
    _ first: UnsafePointer<IterSegment>, count: Int, firstIndex: Int, total: Int, needsMemory: Bool
  ) throws(IterError) {
    // The rules are IterError._addingSegment's, the ones extend and chain
    // append apply; this only finds which segment breaks them.
    var total = total
    let direction: IterDirection = needsMemory ? .source : .destination
    for k in 0..<count {
      let segment = unsafe first[k]
      total = try IterError._addingSegment(
        segment, at: firstIndex + k, using: segment.count, direction: direction, to: total)
    }
  }
}

extension IovIter: CustomStringConvertible {
  /// A summary of the cursor's state.
  public var description: String {
    "IovIter(\(_direction), \(memoryKind), count: \(_count), segment: \(_index)+\(_offset), "
      + "consumed: \(_consumed), segments left: \(segmentsRemaining))"
  }
}

private let _iterIdentityCounter = Atomic<UInt64>(0)

/// A new identity for a cursor and the states saved from it.
@usableFromInline
internal func _nextIterIdentity() -> UInt64 {
  _iterIdentityCounter.add(1, ordering: .relaxed).newValue
}
