//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

extension BioVecArray {
  /// Lists the pages under the next virtually contiguous run, with the
  /// kernel's `ITER_BVEC` rule.
  ///
  /// The run starts at `position` (empty entries there are skipped) and may
  /// span several entries: it goes on to the next non-empty entry only while
  /// the run so far ends on a page boundary and that entry starts at page
  /// offset 0, at the address where the run ends. So only the first page has
  /// an offset, and every page after it is used from its first byte. The run
  /// is at most `maxBytes` bytes and `maxPages` pages.
  ///
  /// ```
  ///   entries: [ .. 3000 ..|][|.. 4096 ..|][|.. 100 ][ 200 .. ]
  ///   pages:    p0 (offset)   p1            p2     | stop: the next entry
  ///                                                  does not start a page
  /// ```
  ///
  /// An entry that runs past its folio onto the next frames (a multi-page
  /// bio_vec) is walked page by page like any other, so a run can cover it
  /// whole, and go on from it to the next entry.
  ///
  /// Pages carry their pool frame numbers. Nothing is held unless `options`
  /// contains `IterExtractionOptions.retain`: then each listed page gets one
  /// reference on the folio that holds it (`folio_get`), so every folio the
  /// run touches is held, and releasing the retention puts each reference
  /// exactly once.
  ///
  /// The cursor calls this with a valid position, `maxBytes` clamped to its
  /// count and `maxPages >= 1`. A direct call gets typed errors instead of a
  /// trap for anything else; `maxBytes` 0, or a position at the end, lists
  /// nothing.
  ///
  /// - Throws: `IterError.negativeCount(argument:value:)` for a negative
  ///   `maxBytes` or `position.offset`;
  ///   `IterError.invalidArgument(argument:value:reason:)` for `maxPages < 1`
  ///   or a position outside the array; `IterError.invalidSegment(index:count:reason:)`
  ///   when a reference was asked for and a folio under the run is no longer
  ///   allocated (nothing is held then).
  /// - Complexity: O(*p*) for *p* pages, plus the empty entries skipped.
  ///
  /// The corresponding kernel function is `iov_iter_extract_bvec_pages`
  /// (behind `iov_iter_extract_pages`), which walks the entries' page chunks
  /// (`bvec_iter_bvec`) and also stops at a chunk that does not end a page or
  /// a later chunk that does not start one. The kernel does not check that
  /// the next entry is at the next virtual address (its page array is not a
  /// virtual range); here a bvec run is one, so this checks.
  public func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction {
    try _checkExtractionArguments(self, at: position, maxBytes: maxBytes, maxPages: maxPages)
    let pageSize = IterPage.size
    let mask = UInt(pageSize - 1)
    let retain = options.contains(.retain)
    var index = position.segmentIndex
    var skip = position.offset
    var remaining = maxBytes
    var pages: [IterPage] = []
    pages.reserveCapacity(_expectedPageCount(maxBytes: maxBytes, maxPages: maxPages))
    var references: [_PageReference] = []
    var offset0 = 0
    var size = 0
    var runEnd: UInt = 0
    run: while index < segmentCount && remaining > 0 {
      let entry = _entry(index)
      let available = entry.count - skip
      if available <= 0 {
        index += 1
        skip = 0
        continue
      }
      var address = entry.start + UInt(skip)
      if pages.isEmpty {
        offset0 = Int(address & mask)
      } else if address & mask != 0 || address != runEnd {
        break run
      }
      var left = Swift.min(available, remaining)
      while left > 0 {
        let pageStart = address & ~mask
        let chunk = Swift.min(left, pageSize - Int(address & mask))
        let frame = entry.folioFrame + Int((pageStart - entry.folioAddress) / UInt(pageSize))
        pages.append(IterPage(address: pageStart, frame: UInt64(frame)))
        if retain {
          references.append(
            _PageReference(
              folio: _folio(ofEntry: index, frame: frame), segmentIndex: index,
              segmentCount: entry.count))
        }
        size += chunk
        left -= chunk
        remaining -= chunk
        address += UInt(chunk)
        // Stop at maxPages, and where a chunk does not end a page: the next
        // byte would need an offset into a later page.
        if pages.count >= maxPages || address & mask != 0 { break run }
      }
      runEnd = address
      index += 1
      skip = 0
    }
    guard !pages.isEmpty else { return .empty }
    let retention = retain ? try _takePageReferences(references) : IterRetention()
    return IterExtraction(pages: pages, offset: offset0, count: size, retention: retention)
  }
}
