//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// Keeps one extraction's retention until the holder goes away.
internal final class _RetentionBox {
  var retention: IterRetention?
  let kind: IterRetentionKind

  init(_ retention: consuming IterRetention) {
    self.kind = retention.kind
    self.retention = consume retention
  }
}

/// What ``extractIterToScatterlist(_:maxBytes:into:maxEntries:options:)``
/// added to a table, and the holds on the pages it listed.
///
/// The holds (pins, page references, owner references: whatever the
/// iterator's kind takes) are released exactly once: by ``release()``, or
/// when the value's life ends. It cannot be copied, so it cannot be
/// released twice; keep it for as long as the entries are in use (until an
/// I/O completes, say).
///
/// The corresponding kernel duty is the caller's `unpin_user_page` (or
/// nothing, for kinds whose pages are only listed) after `extract_iter_to_sg`.
///
/// Not Sendable: it owns the retentions of the pages it put in a table, which one owner releases; move it, do not
/// share it.
public struct ScatterlistExtraction: ~Copyable {
  /// The bytes described by the added entries (the kernel's return value).
  public let byteCount: Int
  /// The entries added to the table.
  public let entryCount: Int
  private var _boxes: [_RetentionBox]

  internal init(byteCount: Int, entryCount: Int, boxes: [_RetentionBox]) {
    self.byteCount = byteCount
    self.entryCount = entryCount
    self._boxes = boxes
  }

  /// What each extraction run holds, in order (one per run, so a pin over
  /// several entries appears once).
  public var retentionKinds: [IterRetentionKind] { _boxes.map(\.kind) }

  /// Releases every hold, exactly once.
  ///
  /// - Complexity: The cost of the kinds' releases.
  public consuming func release() {}
}

/// Appends entries for the iterator's next bytes to `table`, after its
/// first ``ScatterlistTable/nents`` entries, and moves the iterator past them.
///
/// The bytes come from the iterator's own extraction
/// (`IovIter.extractPages(maxBytes:maxPages:options:)`), so every kind
/// works the same way: the built-in ones, chains of them, and kinds written
/// outside the package. Each page of each run becomes one entry that stays
/// inside its page. The entries are written into the slots after `nents`
/// (links followed), `nents` grows by the entries added, and
/// ``ScatterlistTable/origNents`` and the end marker are left for the caller,
/// as in the kernel. The retentions the runs take are handed back.
///
/// Differences from the kernel, all fixes: a `kvec` entry never runs past
/// its page (every entry is one page's part); `maxEntries == 0` (or
/// `maxBytes == 0`) returns 0 and moves nothing; no scratch array is carved
/// out of the table, so entries already in it are never overwritten; and
/// the table must have room for `maxEntries` entries (the kernel writes past
/// it). When a run fails, what earlier runs took is released, the table's
/// slots and `nents` are restored and the iterator is where it was.
///
/// - Parameters:
///   - iter: The iterator; on return it is past the bytes described.
///   - maxBytes: At most this many bytes.
///   - table: The table to append to.
///   - maxEntries: At most this many entries (`sg_max`).
///   - options: Passed to the extraction (`IterExtractionOptions.retain`
///     asks page fragments for page references).
/// - Returns: The bytes and entries added, and the holds taken.
/// - Throws: `IterError.negativeCount(argument:value:)` for a negative
///   `maxBytes` or `maxEntries`; `IterError.invalidArgument(argument:value:reason:)`
///   when the table has fewer than `maxEntries` slots after `nents`; the
///   walk's errors for a malformed table; the extraction's errors
///   (`IterError.extractionUnsupported(kind:)` for discard).
/// - Complexity: O(*n* + *e*) for the *n* entries before the first added
///   and the *e* added, plus the kind's extraction cost.
///
/// The corresponding kernel function is `extract_iter_to_sg`.
public func extractIterToScatterlist<S: IterSegmentSource>(
  _ iter: inout IovIter<S>, maxBytes: Int, into table: inout ScatterlistTable, maxEntries: Int,
  options: IterExtractionOptions = []
) throws(IterError) -> ScatterlistExtraction {
  guard maxBytes >= 0 else { throw .negativeCount(argument: "maxBytes", value: maxBytes) }
  guard maxEntries >= 0 else { throw .negativeCount(argument: "maxEntries", value: maxEntries) }
  guard maxBytes > 0, maxEntries > 0, !iter.isEmpty else {
    return ScatterlistExtraction(byteCount: 0, entryCount: 0, boxes: [])
  }
  // The free slots: the `maxEntries` after the first `nents`, links followed.
  // One walk over both, so that a cycle back into the entries in use is
  // found rather than handed out as free slots.
  let (limit, overflow) = table.nents.addingReportingOverflow(maxEntries)
  guard !overflow else { throw .lengthOverflow(total: table.nents, limit: Int.max - maxEntries) }
  var walker = try _ScatterlistWalker(first: table.first, limit: limit)
  var walked = 0
  var free: [ScatterlistSlot] = []
  free.reserveCapacity(min(maxEntries, 1024))
  while let slot = try walker.next() {
    if walked >= table.nents { free.append(slot) }
    walked += 1
  }
  guard walked >= table.nents else {
    throw .invalidSegment(
      index: walked, count: 0, reason: "the list ends after \(walked) entries; nents is \(table.nents)")
  }
  guard free.count == maxEntries else {
    throw .invalidArgument(
      argument: "maxEntries", value: maxEntries,
      reason: "the table has \(free.count) entries after its \(table.nents)")
  }

  let saved = iter.saveState()
  var boxes: [_RetentionBox] = []
  var entries: [(page: IterPage, offset: Int, length: Int)] = []
  var left = maxBytes
  var total = 0
  do throws(IterError) {
    while left > 0, entries.count < maxEntries, !iter.isEmpty {
      let run = try iter.extractPages(maxBytes: left, maxPages: maxEntries - entries.count, options: options)
      if run.count == 0 { break }
      var offset = run.offset
      var length = run.count
      for page in run.pages {
        let seg = min(IterPage.size - offset, length)
        entries.append((page, offset, seg))
        length -= seg
        offset = 0
      }
      left -= run.count
      total += run.count
      boxes.append(_RetentionBox(run.takeRetention()))
    }
  } catch {
    boxes.removeAll()  // releases what earlier runs took
    try? iter.restore(saved)
    throw error
  }
  for (slot, e) in zip(free, entries) {
    // A free slot is a data slot (the walker never yields a link); its end
    // mark and DMA fields stay as they are, as `sg_set_page` leaves them.
    slot.array._entries[slot.index].page = e.page
    slot.array._entries[slot.index].pool = nil
    slot.array._entries[slot.index].offset = e.offset
    slot.array._entries[slot.index].length = e.length
  }
  table.nents += entries.count
  return ScatterlistExtraction(byteCount: total, entryCount: entries.count, boxes: boxes)
}

@available(*, unavailable, message: "it owns the retentions of the pages it put in a table, which one owner releases")
extension ScatterlistExtraction: Sendable {}
