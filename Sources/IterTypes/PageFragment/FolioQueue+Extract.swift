//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

extension FolioQueue {
  /// Lists the pages under the next run, which never leaves one folio: one
  /// slot per call.
  ///
  /// The run starts at `position` (an exhausted first slot is skipped) and
  /// ends at the folio's end, at `maxBytes`, or after `maxPages` pages. Only
  /// its first page has an offset. Pages carry their pool frame numbers.
  /// Nothing is held unless `options` contains
  /// `IterExtractionOptions.retain`: then each listed page gets one
  /// reference on the folio, and releasing the retention puts each exactly once.
  ///
  /// - Throws: `IterError.invalidSegment(index:count:reason:)` when a
  ///   reference was asked for and the folio is no longer allocated.
  /// - Complexity: O(*p*) for *p* pages.
  ///
  /// The corresponding kernel function is `iov_iter_extract_folioq_pages`,
  /// which lists the pages of several folios in one call; their pages form no
  /// virtual range in user space, so a run here stops at the folio's end.
  public func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction {
    let pageSize = IterPage.size
    let mask = UInt(pageSize - 1)
    var index = position.segmentIndex
    var skip = position.offset
    while index < segmentCount {
      let segment = segment(at: index)
      let available = segment.count - skip
      if available > 0 {
        let slot = _storage._slots[_firstSlot + index]
        let start = segment.address + UInt(skip)
        let offset = Int(start & mask)
        let size = Swift.min(available, maxBytes)
        let pageCount = Swift.min((offset + size + pageSize - 1) / pageSize, maxPages)
        let length = Swift.min(size, pageCount * pageSize - offset)
        let firstPage = start - UInt(offset)
        let firstFrame = slot.frame + Int((firstPage - slot.start) / UInt(pageSize))
        var pages: [IterPage] = []
        pages.reserveCapacity(pageCount)
        for k in 0..<pageCount {
          pages.append(
            IterPage(address: firstPage + UInt(k * pageSize), frame: UInt64(firstFrame + k)))
        }
        var retention = IterRetention()
        if options.contains(.retain) {
          let folio = _storage._folios[_firstSlot + index]
          retention = try _takePageReferences(
            Array(
              repeating: _PageReference(
                folio: folio, segmentIndex: index, segmentCount: segment.count),
              count: pageCount))
        }
        return IterExtraction(pages: pages, offset: offset, count: length, retention: retention)
      }
      index += 1
      skip = 0
    }
    return .empty
  }
}
