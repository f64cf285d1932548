//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// The number of slots in each segment of a ``FolioQueue``.
@available(*, deprecated, renamed: "FolioQueue.slotCount")
public var folioQueueSlotCount: Int { FolioQueue.slotCount }

/// A queue of folios in segments of 31 slots, linked both ways, that can grow
/// at its tail while a cursor walks it: the kernel's `ITER_FOLIOQ`.
///
/// Each slot holds a whole ``Folio`` (its order is the folio's) and three mark
/// bits. Folios are appended at the tail; when the tail segment is full, the
/// next append starts a new segment linked after it. Segments are reached with
/// ``queueSegment(at:)`` and walked with ``Segment/next`` and
/// ``Segment/previous``.
///
/// ```
///   segment 0                       segment 1
///   [f0][f1]...[f30] <-next/prev-> [f31][f32] ...
///   cursor segment i = queue slot (firstSlotIndex + i)
/// ```
///
/// As an `IterSegmentSource` every slot is one segment of the folio's whole
/// size, numbered across queue segments, so `IovIter` advances and reverts
/// across queue segments by plain indexing. Build a cursor that starts inside
/// the queue with `IovIter.init(_:direction:firstSlot:offset:count:)` (the
/// kernel's `iov_iter_folio_queue`): its `segmentOffset` is the offset in the
/// current folio, as the kernel's `iov_offset` is.
///
/// **Shared storage.** A `FolioQueue` value is a reference to one queue:
/// copies, and the cursors built over it, share its slots. A folio appended
/// after a cursor was built is visible to the cursor; take its bytes into the
/// cursor's count with `IovIter.extend(by:)` (or use
/// ``append(_:extending:)``), as the kernel's netfs adds to `iter->count`.
/// Because of that sharing the queue is not `Sendable`: use it and its cursors
/// from one task at a time.
///
/// **Lifetime.** The queue does not take references on its folios (netfs
/// holds them): the caller keeps them allocated while any cursor uses the
/// queue. Extraction lists pages without references unless asked for them
/// with `IterExtractionOptions.retain`.
///
/// The corresponding kernel structure is `struct folio_queue`.
///
/// Not Sendable: copies and cursors share one queue that grows in place at its tail; use it and its cursors from one
/// task at a time.
public struct FolioQueue: IterSegmentSource {
  /// The number of slots in each segment of the queue: 31.
  ///
  /// The corresponding kernel constant is `PAGEVEC_SIZE` (`folioq_nr_slots`).
  public static let slotCount = 31

  @usableFromInline
  internal let _storage: _FolioQueueStorage

  /// The queue slot that is cursor segment 0.
  @usableFromInline
  internal let _firstSlot: Int

  internal init(storage: _FolioQueueStorage, firstSlot: Int) {
    self._storage = storage
    self._firstSlot = firstSlot
  }

  /// An empty queue of one empty segment.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `folioq_init`.
  public init() {
    self.init(storage: _FolioQueueStorage(), firstSlot: 0)
  }

  /// A queue of `folios`, in order.
  ///
  /// - Throws: As ``append(_:)``; no queue is made then.
  /// - Complexity: O(*n*) for *n* folios.
  public init(_ folios: some Sequence<Folio>) throws(IterError) {
    self.init()
    for folio in folios { try append(folio) }
  }

  // MARK: - Appending

  /// Appends `folio` at the tail, starting a new segment when the tail is
  /// full, and returns its slot. The slot's marks are left clear.
  ///
  /// - Throws: `IterError.invalidSegment(index:count:reason:)` (with the
  ///   slot's global index) when the folio is not allocated; the queue is
  ///   unchanged then.
  /// - Complexity: Amortised O(1).
  ///
  /// The corresponding kernel function is `folioq_append`.
  @discardableResult
  public func append(_ folio: Folio) throws(IterError) -> Slot {
    do throws(PagePoolError) {
      try folio.pool._check(folio)
    } catch {
      throw .invalidSegment(
        index: _storage._slots.count, count: folio.byteCount, reason: "\(error)")
    }
    return Slot(index: _storage.append(folio))
  }

  /// Appends `folio` and sets mark 1 on its slot.
  ///
  /// - Throws: As ``append(_:)``.
  /// - Complexity: Amortised O(1).
  ///
  /// The corresponding kernel function is `folioq_append_mark`.
  @discardableResult
  public func appendMarked(_ folio: Folio) throws(IterError) -> Slot {
    let slot = try append(folio)
    _storage._marks[3 * slot.segment] |= 1 << UInt32(slot.slot)
    return slot
  }

  /// Appends `folio` and takes its bytes into `cursor`'s count, which must
  /// walk this queue: the netfs pattern of adding to `iter->count` as the
  /// buffer grows.
  ///
  /// - Throws: `IterError.foreignState` when `cursor` walks another queue;
  ///   `IterError.invalidArgument(argument:value:reason:)` when the cursor's
  ///   range ends before the queue's tail (the new bytes would not follow it);
  ///   otherwise as ``append(_:)`` and `IovIter.extend(by:)`. Neither the
  ///   queue nor the cursor changes when it throws.
  /// - Complexity: Amortised O(1), plus the slots from the cursor's position
  ///   to the tail.
  @discardableResult
  public func append(
    _ folio: Folio, extending cursor: inout IovIter<FolioQueue>
  ) throws(IterError)
    -> Slot
  {
    guard cursor.source._storage === _storage else { throw .foreignState }
    // A cursor whose range stops short of the tail would take in bytes before
    // the new folio; the shared rule refuses that rather than grow the wrong range.
    let toTail = cursor.source._bytes(fromSegment: cursor.position)
    let limit = cursor.reexpandLimit
    var slot = Slot(index: 0)
    try cursor._growSource(
      bytesToEnd: toTail,
      shortRange: {
        .invalidArgument(
          argument: "cursor", value: limit, reason: "its range ends \(toTail - limit) bytes before the queue's tail")
      },
      append: { () throws(IterError) in
        slot = try append(folio)
        return folio.byteCount
      },
      undo: { _storage._removeLast() })
    return slot
  }

  /// Bytes from `position` to the tail of the queue, as this view sees them.
  internal func _bytes(fromSegment position: IterPosition) -> Int {
    var total = -position.offset
    var i = position.segmentIndex
    while i < segmentCount {
      total += segment(at: i).count
      i += 1
    }
    return Swift.max(0, total)
  }

  // MARK: - Whole-queue properties

  /// The number of folios in the queue, across all segments.
  ///
  /// - Complexity: O(1).
  public var folioCount: Int { _storage._slots.count }

  /// The sum of the folios' sizes.
  ///
  /// - Complexity: O(*n*) for *n* folios.
  public var byteCount: Int { _storage._slots.reduce(0) { $0 + $1.count } }

  /// The number of queue segments (at least 1).
  ///
  /// - Complexity: O(1).
  public var queueSegmentCount: Int { _storage.queueSegmentCount }

  /// The queue segment at `index`, or `nil` outside `0..<queueSegmentCount`.
  ///
  /// - Complexity: O(1).
  public func queueSegment(at index: Int) -> Segment? {
    guard index >= 0, index < queueSegmentCount else { return nil }
    return Segment(storage: _storage, index: index)
  }

  /// The first queue segment (the kernel's head).
  ///
  /// - Complexity: O(1).
  public var firstQueueSegment: Segment { Segment(storage: _storage, index: 0) }

  /// The last queue segment (the kernel's tail), where appends go.
  ///
  /// - Complexity: O(1).
  public var lastQueueSegment: Segment { Segment(storage: _storage, index: queueSegmentCount - 1) }

  /// The folio in `slot`.
  ///
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` for a
  ///   slot that names no slot (argument `slot.segment` for a negative
  ///   segment or one so large that ``Slot/index`` overflows, `slot.slot` for
  ///   a slot number outside `0..<31`) or one that holds no folio (argument
  ///   `slot`, with its index).
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `folioq_folio`.
  public func folio(at slot: Slot) throws(IterError) -> Folio {
    let index = try slot._checkedIndex(argument: "slot")
    guard index < folioCount else {
      throw .invalidArgument(
        argument: "slot", value: index, reason: "the queue holds \(folioCount) folios")
    }
    return _storage._folios[index]
  }

  /// Whether `other` is, or is a view of, the same queue.
  ///
  /// - Complexity: O(1).
  public func sharesStorage(with other: FolioQueue) -> Bool { _storage === other._storage }

  /// The queue slot that is this view's cursor segment 0; ``Slot/index`` 0
  /// for a whole queue.
  ///
  /// - Complexity: O(1).
  public var firstSlot: Slot { Slot(index: _firstSlot) }

  /// The queue slot under cursor segment `index` of this view; `index` may
  /// be ``segmentCount``, the tail slot the next append fills (where a
  /// cursor that consumed everything stands).
  ///
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` for an
  ///   index outside `0...segmentCount`.
  /// - Complexity: O(1).
  public func slot(forSegmentIndex index: Int) throws(IterError) -> Slot {
    guard index >= 0, index <= segmentCount else {
      throw .invalidArgument(
        argument: "index", value: index, reason: "this view has \(segmentCount) segments")
    }
    return Slot(index: _firstSlot + index)
  }

  // MARK: - IterSegmentSource

  /// The number of slots from ``firstSlot`` to the tail: cursor segments.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var segmentCount: Int { _storage._slots.count &- _firstSlot }

  /// The folio in slot ``firstSlot`` + `index`, all of it, where
  /// `0 <= index < segmentCount` (the protocol's contract).
  ///
  /// - Complexity: O(1).
  @inlinable
  public func segment(at index: Int) -> IterSegment {
    let slot = _storage._slots[_firstSlot &+ index]
    return unsafe IterSegment(
      base: UnsafeMutableRawPointer(bitPattern: slot.start), count: slot.count)
  }

  /// `IterMemoryKind.pageFragment`.
  @inlinable
  public var memoryKind: IterMemoryKind { .pageFragment }

  /// `IterRetentionKind.pageReference` when `options` contains
  /// `IterExtractionOptions.retain`, otherwise `IterRetentionKind.none`
  /// (the kernel takes no references on folio-queue pages).
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `iov_iter_extract_will_pin`
  /// (false for `ITER_FOLIOQ`).
  @inlinable
  public func retention(for options: IterExtractionOptions) -> IterRetentionKind {
    options.contains(.retain) ? .pageReference : .none
  }

  // MARK: - Starting a cursor inside the queue

  /// A view whose cursor segment 0 is the whole folio in `slot`, after
  /// checking `slot` and that `offset` lies in that folio.
  internal func _view(firstSlot slot: Slot, offset: Int) throws(IterError) -> FolioQueue {
    let index = try slot._checkedIndex(argument: "firstSlot", allowingHop: true)
    guard slot.segment < queueSegmentCount, index <= folioCount else {
      throw .invalidArgument(
        argument: "firstSlot", value: index,
        reason: "segment \(slot.segment) slot \(slot.slot) is outside the queue's "
          + "\(folioCount) folios in \(queueSegmentCount) segments")
    }
    guard offset >= 0 else { throw .negativeCount(argument: "offset", value: offset) }
    let size = index < folioCount ? _storage._slots[index].count : 0
    guard offset <= size else {
      throw .invalidArgument(
        argument: "offset", value: offset,
        reason: "past the end of the \(size)-byte folio in slot \(index)")
    }
    return FolioQueue(storage: _storage, firstSlot: index)
  }
}

@available(*, unavailable, message: "a FolioQueue shares mutable storage; use it from one task")
extension FolioQueue: Sendable {}

extension FolioQueue: CustomStringConvertible {
  /// A summary of the queue.
  public var description: String {
    "FolioQueue(\(folioCount) folios in \(queueSegmentCount) segments, from slot \(_firstSlot))"
  }
}

extension IovIter where Source == FolioQueue {
  /// Creates a cursor over `count` bytes of `queue` that starts `offset`
  /// bytes into the folio in `firstSlot`.
  ///
  /// The cursor's segment 0 is the whole folio in `firstSlot`, and it starts
  /// at `offset` in it: ``IovIter/segmentOffset`` is the offset in the
  /// current folio, as the kernel's `iov_offset` is (start at 100, advance by
  /// 10: 110). The bytes before `offset` are outside the cursor's range, so
  /// it cannot revert before its first byte, and ``IovIter/consumedCount``
  /// starts at 0.
  ///
  /// ```
  ///   slot:    [ firstSlot's folio ............ ][ next folio ... ]
  ///   cursor:  |<- offset ->|<---------- count ---------->|
  ///            segment 0, segmentOffset == offset
  /// ```
  ///
  /// A `firstSlot` at the tail (the slot the next append fills) with `count`
  /// 0 makes a cursor that waits for folios; grow it with
  /// `IovIter.extend(by:)`. A slot number equal to the slot count of a full
  /// segment names the next segment's first slot, as the kernel hops to
  /// `->next` when `slot == nr_slots`.
  ///
  /// - Parameters:
  ///   - queue: The queue; the cursor shares its storage.
  ///   - direction: Which way data moves.
  ///   - firstSlot: The slot of the first byte.
  ///   - offset: Bytes into that slot's folio.
  ///   - count: The bytes the cursor covers.
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` for a slot
  ///   that names no slot (argument `firstSlot.segment` or `firstSlot.slot`)
  ///   or lies outside the queue (`firstSlot`), or an offset past the folio's
  ///   end (`offset`); `IterError.negativeCount(argument:value:)` for a
  ///   negative offset or count; `IterError.countExceedsSource(count:available:)`
  ///   when the queue holds fewer bytes from there.
  /// - Complexity: O(*s*) for the slots from `firstSlot` to the tail.
  ///
  /// The corresponding kernel function is `iov_iter_folio_queue`.
  public init(
    _ queue: FolioQueue, direction: IterDirection, firstSlot: FolioQueue.Slot, offset: Int,
    count: Int
  ) throws(IterError) {
    let view = try queue._view(firstSlot: firstSlot, offset: offset)
    try self.init(view, direction: direction, offset: offset, count: count)
  }
}
