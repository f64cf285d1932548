//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// The cursor's view of one folio-queue slot: trivial values only.
@usableFromInline
internal struct _FolioSlot {
  /// The address of the folio's first byte.
  @usableFromInline internal var start: UInt
  /// The folio's size in bytes (`folioq_folio_size`).
  @usableFromInline internal var count: Int
  /// The frame number of the folio's first page.
  @usableFromInline internal var frame: Int

  @inlinable
  internal init(start: UInt, count: Int, frame: Int) {
    self.start = start
    self.count = count
    self.frame = frame
  }
}

/// The shared storage of a ``FolioQueue``: every slot of every queue segment,
/// in order, so that slot *s* of segment *g* is global slot `g * 31 + s`.
///
/// Folios are only appended at the tail, and a new segment is started only
/// when the tail is full, so every segment but the last holds 31 folios and
/// the global index is exact. Cursors over the queue hold this object, which
/// is how they see folios appended after they were built.
@usableFromInline
internal final class _FolioQueueStorage {
  @usableFromInline
  internal var _slots: ContiguousArray<_FolioSlot> = []
  internal var _folios: ContiguousArray<Folio> = []
  /// Three mark masks per queue segment: `marks[3 * segment + (mark - 1)]`.
  internal var _marks: [UInt32] = [0, 0, 0]

  internal init() {}

  internal var queueSegmentCount: Int { _marks.count / 3 }

  internal func append(_ folio: Folio) -> Int {
    let index = _slots.count
    if index > 0 && index % FolioQueue.slotCount == 0 {
      _marks.append(contentsOf: [0, 0, 0])
    }
    _slots.append(_FolioSlot(start: folio.address, count: folio.byteCount, frame: folio.frame))
    _folios.append(folio)
    return index
  }

  /// Takes the last folio out again, and the segment it started, if any:
  /// undoes ``append(_:)``.
  internal func _removeLast() {
    _slots.removeLast()
    _folios.removeLast()
    if _slots.count % FolioQueue.slotCount == 0 && _slots.count > 0 {
      _marks.removeLast(3)
    }
  }
}
