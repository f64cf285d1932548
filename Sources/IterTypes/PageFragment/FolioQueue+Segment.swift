//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

extension FolioQueue {
  /// The place of a folio in the queue: a queue segment and a slot in it.
  ///
  /// The kernel names a slot by its `struct folio_queue` and a slot number;
  /// here the segment is an index, and ``index`` numbers slots across the
  /// whole queue (`segment * 31 + slot`).
  ///
  /// A `Slot` is plain data and may name no slot at all (a negative segment,
  /// a slot number outside `0..<31`, a segment so large that ``index``
  /// overflows). Every member of ``FolioQueue`` that takes one checks it and
  /// throws `IterError.invalidArgument(argument:value:reason:)` for such a
  /// slot, or for one past the queue's last folio; none of them traps.
  ///
  /// Sendable: two integers.
  public struct Slot: Hashable, Sendable, CustomStringConvertible {
    /// The queue segment.
    public let segment: Int
    /// The slot in that segment, `0..<31`. (Only a cursor's first slot may
    /// be 31, which names the next segment's first slot.)
    public let slot: Int

    /// A slot in a segment. Any values are accepted here; they are checked
    /// where the slot is used.
    ///
    /// - Complexity: O(1).
    public init(segment: Int, slot: Int) {
      self.segment = segment
      self.slot = slot
    }

    /// The slot with global index `index`: `segment` is `index / 31` rounded
    /// down and `slot` the remainder in `0..<31`, so a negative index gives a
    /// negative segment (which every use refuses) and `Slot(index: i).index`
    /// is `i` for every `i`.
    ///
    /// - Complexity: O(1).
    public init(index: Int) {
      var segment = index / FolioQueue.slotCount
      var slot = index % FolioQueue.slotCount
      if slot < 0 {
        segment -= 1
        slot += FolioQueue.slotCount
      }
      self.segment = segment
      self.slot = slot
    }

    /// The slot's index across the whole queue, `segment * 31 + slot`.
    ///
    /// For a slot that names no slot the value wraps around instead of
    /// trapping; it is meaningful only for slots inside a queue.
    ///
    /// - Complexity: O(1).
    public var index: Int { segment &* FolioQueue.slotCount &+ slot }

    /// `segment:slot`.
    public var description: String { "\(segment):\(slot)" }

    /// The global index, after checking that the slot names one: a segment
    /// that is not negative, a slot number in `0..<31` (`0...31` when
    /// `allowingHop`), and an index that fits `Int`.
    ///
    /// - Parameter argument: The argument's name for the error.
    internal func _checkedIndex(
      argument: String, allowingHop: Bool = false
    ) throws(IterError)
      -> Int
    {
      guard segment >= 0 else {
        throw .invalidArgument(
          argument: "\(argument).segment", value: segment,
          reason: "a queue segment index cannot be negative")
      }
      let last = allowingHop ? FolioQueue.slotCount : FolioQueue.slotCount - 1
      guard slot >= 0, slot <= last else {
        throw .invalidArgument(
          argument: "\(argument).slot", value: slot,
          reason: "a slot number is in 0...\(last) (\(FolioQueue.slotCount) slots per segment)")
      }
      let (base, overflow) = segment.multipliedReportingOverflow(by: FolioQueue.slotCount)
      let (index, carry) = base.addingReportingOverflow(slot)
      guard !overflow, !carry else {
        throw .invalidArgument(
          argument: "\(argument).segment", value: segment,
          reason: "segment * \(FolioQueue.slotCount) + slot overflows Int")
      }
      return index
    }
  }

  /// One of a slot's three mark bits.
  ///
  /// The corresponding kernel fields are `marks`, `marks2` and `marks3`.
  ///
  /// Sendable: a plain value.
  public enum Mark: Int, CaseIterable, Hashable, Sendable {
    /// The first mark (`folioq_mark`); ``FolioQueue/appendMarked(_:)`` sets it.
    case mark1 = 1
    /// The second mark (`folioq_mark2`).
    case mark2 = 2
    /// The third mark (`folioq_mark3`).
    case mark3 = 3
  }

  /// One segment of a ``FolioQueue``: up to 31 slots, linked to its
  /// neighbours.
  ///
  /// A segment is a view of the queue's shared storage: it sees appends made
  /// after it was obtained, and its mark setters change the queue.
  ///
  /// The corresponding kernel structure is one `struct folio_queue` in the chain.
  ///
  /// Not Sendable: it reads the queue's shared storage, which an append on another task could change under it.
  public struct Segment: CustomStringConvertible {
    internal let _storage: _FolioQueueStorage

    /// The segment's position in the queue, from 0.
    public let index: Int

    internal init(storage: _FolioQueueStorage, index: Int) {
      self._storage = storage
      self.index = index
    }

    /// The number of slots the segment has: 31. Code that walks segments
    /// should still ask each one, as the kernel says.
    ///
    /// - Complexity: O(1).
    ///
    /// The corresponding kernel function is `folioq_nr_slots`.
    public var slotCount: Int { FolioQueue.slotCount }

    /// The number of slots that hold a folio.
    ///
    /// - Complexity: O(1).
    ///
    /// The corresponding kernel function is `folioq_count`.
    public var count: Int {
      Swift.max(
        0, Swift.min(FolioQueue.slotCount, _storage._slots.count - index * FolioQueue.slotCount))
    }

    /// Whether every slot holds a folio.
    ///
    /// - Complexity: O(1).
    ///
    /// The corresponding kernel function is `folioq_full`.
    public var isFull: Bool { count >= slotCount }

    /// The segment after this one, or `nil` at the tail.
    ///
    /// - Complexity: O(1).
    ///
    /// The corresponding kernel field is `folio_queue.next`.
    public var next: Segment? {
      index + 1 < _storage.queueSegmentCount ? Segment(storage: _storage, index: index + 1) : nil
    }

    /// The segment before this one, or `nil` at the head.
    ///
    /// - Complexity: O(1).
    ///
    /// The corresponding kernel field is `folio_queue.prev`.
    public var previous: Segment? {
      index > 0 ? Segment(storage: _storage, index: index - 1) : nil
    }

    internal func _global(_ slot: Int) throws(IterError) -> Int {
      guard slot >= 0, slot < count else {
        throw .invalidArgument(
          argument: "slot", value: slot, reason: "segment \(index) holds \(count) folios")
      }
      return index * FolioQueue.slotCount + slot
    }

    /// The folio in `slot`.
    ///
    /// - Throws: `IterError.invalidArgument(argument:value:reason:)` for a
    ///   slot outside `0..<count`.
    /// - Complexity: O(1).
    ///
    /// The corresponding kernel function is `folioq_folio`.
    public func folio(at slot: Int) throws(IterError) -> Folio {
      _storage._folios[try _global(slot)]
    }

    /// The order of the folio in `slot`.
    ///
    /// - Throws: As ``folio(at:)``.
    /// - Complexity: O(1).
    ///
    /// The corresponding kernel function is `folioq_folio_order`.
    public func order(at slot: Int) throws(IterError) -> Int {
      _storage._folios[try _global(slot)].order
    }

    /// The size in bytes of the folio in `slot` (page size `<< order`).
    ///
    /// - Throws: As ``folio(at:)``.
    /// - Complexity: O(1).
    ///
    /// The corresponding kernel function is `folioq_folio_size`.
    public func folioSize(at slot: Int) throws(IterError) -> Int {
      _storage._slots[try _global(slot)].count
    }

    /// The bits of `mark` for the segment's slots: bit *s* for slot *s*.
    ///
    /// - Complexity: O(1).
    ///
    /// The corresponding kernel fields are `marks`, `marks2` and `marks3`.
    public func marks(_ mark: Mark) -> UInt32 {
      _storage._marks[3 * index + mark.rawValue - 1]
    }

    /// Whether `slot` carries `mark`.
    ///
    /// - Throws: As ``folio(at:)``.
    /// - Complexity: O(1).
    ///
    /// The corresponding kernel functions are `folioq_is_marked`,
    /// `folioq_is_marked2` and `folioq_is_marked3`.
    public func isMarked(_ mark: Mark, at slot: Int) throws(IterError) -> Bool {
      _ = try _global(slot)
      return marks(mark) & (1 << UInt32(slot)) != 0
    }

    /// Sets `mark` on `slot`.
    ///
    /// - Throws: As ``folio(at:)``; nothing changes then.
    /// - Complexity: O(1).
    ///
    /// The corresponding kernel functions are `folioq_mark`, `folioq_mark2`
    /// and `folioq_mark3`.
    public func setMark(_ mark: Mark, at slot: Int) throws(IterError) {
      _ = try _global(slot)
      _storage._marks[3 * index + mark.rawValue - 1] |= 1 << UInt32(slot)
    }

    /// Clears `mark` on `slot`.
    ///
    /// - Throws: As ``folio(at:)``; nothing changes then.
    /// - Complexity: O(1).
    ///
    /// The corresponding kernel functions are `folioq_unmark`,
    /// `folioq_unmark2` and `folioq_unmark3`.
    public func clearMark(_ mark: Mark, at slot: Int) throws(IterError) {
      _ = try _global(slot)
      _storage._marks[3 * index + mark.rawValue - 1] &= ~(1 << UInt32(slot))
    }

    /// Clears all three marks on `slot`. The folio stays: slots are never
    /// emptied, because cursors index them.
    ///
    /// - Throws: As ``folio(at:)``; nothing changes then.
    /// - Complexity: O(1).
    ///
    /// The corresponding kernel function is `folioq_clear`, which also
    /// empties the slot.
    public func clearMarks(at slot: Int) throws(IterError) {
      _ = try _global(slot)
      for mark in Mark.allCases {
        _storage._marks[3 * index + mark.rawValue - 1] &= ~(1 << UInt32(slot))
      }
    }

    /// `segment N: count/31`.
    public var description: String { "segment \(index): \(count)/\(slotCount)" }
  }
}

@available(*, unavailable, message: "it reads the queue's shared storage, which an append could change under it")
extension FolioQueue.Segment: Sendable {}
