//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

extension FolioQueue {
  /// Lists the pages under the next run, page by page across folios, as the
  /// kernel's `ITER_FOLIOQ` extraction does.
  ///
  /// The run starts at `position` (a folio already used up there is passed
  /// over) and lists one page at a time: the rest of the current page, then
  /// every page of the folio, then the pages of the next folios, until
  /// `maxPages` pages or `maxBytes` bytes. Only the first page has an offset
  /// (`IterExtraction.offset`); every later page is used from its first
  /// byte and every page but the last to its end. The pages of two folios
  /// need not be neighbours in memory: a run is a page list, not one virtual
  /// range.
  ///
  /// ```
  ///   slots:  [ f0: p0 p1 ][ f1: p0 ][ f2: p0 p1 p2 p3 ]
  ///   run:         ^--p0 p1    p0       p0 p1 |
  ///            offset0 in f0.p0               maxPages = 5
  /// ```
  ///
  /// Pages carry their pool frame numbers. Nothing is held unless `options`
  /// contains `IterExtractionOptions.retain`: then each listed page gets one
  /// reference on its folio (`folio_get`), on every folio the run touches,
  /// and releasing the retention puts each of them exactly once.
  ///
  /// The cursor calls this with a valid position, `maxBytes` clamped to its
  /// count and `maxPages >= 1`. A direct call gets typed errors instead of a
  /// trap for anything else; `maxBytes` 0, or a position at the end, lists
  /// nothing.
  ///
  /// - Throws: `IterError.negativeCount(argument:value:)` for a negative
  ///   `maxBytes` or `position.offset`;
  ///   `IterError.invalidArgument(argument:value:reason:)` for `maxPages < 1`
  ///   or a position outside the view; `IterError.invalidSegment(index:count:reason:)`
  ///   when a reference was asked for and a folio under the run is no longer
  ///   allocated (nothing is held then).
  /// - Complexity: O(*p*) for *p* pages, plus the used-up folio passed over.
  ///
  /// The corresponding kernel function is `iov_iter_extract_folioq_pages`.
  public func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction {
    try _checkExtractionArguments(self, at: position, maxBytes: maxBytes, maxPages: maxPages)
    let pageSize = IterPage.size
    let mask = UInt(pageSize - 1)
    let retain = options.contains(.retain)
    let end = segmentCount
    var index = position.segmentIndex
    var inFolio = position.offset  // the kernel's iov_offset
    var pages: [IterPage] = []
    pages.reserveCapacity(_expectedPageCount(maxBytes: maxBytes, maxPages: maxPages))
    var references: [_PageReference] = []
    var offset0 = 0
    var extracted = 0
    while index < end && extracted < maxBytes && pages.count < maxPages {
      let slot = _storage._slots[_firstSlot + index]
      guard inFolio < slot.count else {
        index += 1
        inFolio = 0
        continue
      }
      let address = slot.start + UInt(inFolio)
      let inPage = Int(address & mask)
      if pages.isEmpty {
        offset0 = inPage
      } else if inPage != 0 {
        break  // only the first page may start at an offset
      }
      let part = Swift.min(pageSize - inPage, maxBytes - extracted, slot.count - inFolio)
      pages.append(
        IterPage(address: address - UInt(inPage), frame: UInt64(slot.frame + inFolio / pageSize)))
      if retain {
        references.append(
          _PageReference(
            folio: _storage._folios[_firstSlot + index], segmentIndex: index,
            segmentCount: slot.count))
      }
      extracted += part
      inFolio += part
      // Only the last page may end early: a slot whose bytes end inside a
      // page ends the run there. (Slots hold whole folios, so only maxBytes
      // does that today.)
      if inPage + part < pageSize { break }
    }
    guard !pages.isEmpty else { return .empty }
    let retention = retain ? try _takePageReferences(references) : IterRetention()
    return IterExtraction(pages: pages, offset: offset0, count: extracted, retention: retention)
  }
}
