//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

extension KVecArray {
  /// `IterRetentionKind.ownerReference`, whatever the options.
  ///
  /// The kernel takes nothing on `ITER_KVEC` pages and relies on its caller
  /// to keep the memory alive. Here the memory belongs to Swift objects that
  /// are freed the moment their last reference goes, so a page list that
  /// outlived its cursor and array could point at unmapped or reused memory.
  /// Holding the allocation costs one reference count per call, so it is
  /// always taken, with or without `IterExtractionOptions.retain`.
  /// Page references would not do: slab objects share pages, and a page
  /// cannot keep one object's slot from being freed and reused; a region's
  /// pages have no count of their own.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `iov_iter_extract_will_pin`,
  /// which is false for `ITER_KVEC`.
  @inlinable
  public func retention(for options: IterExtractionOptions) -> IterRetentionKind {
    .ownerReference
  }

  /// Lists the pages under the rest of the next non-empty entry, at most
  /// `maxBytes` bytes and `maxPages` pages, and holds the entry's owner.
  ///
  /// One entry per call, as the kernel extracts one `kvec` per call: the run
  /// never continues into the next entry, even when the next entry's bytes
  /// follow on directly. Only the first page has an offset. Slab objects
  /// share pages, so two calls may list the same page. The returned
  /// retention keeps the owning ``SlabObject`` or ``VirtualRegion`` alive,
  /// and so its pages mapped, until it is released, even after the array and
  /// every cursor over it are gone.
  ///
  /// - Parameters:
  ///   - position: Where the run starts.
  ///   - maxBytes: At most this many bytes (clamped by the cursor).
  ///   - maxPages: At most this many pages; at least 1.
  ///   - options: Ignored: the retention is the same for every option set
  ///     (see ``retention(for:)``).
  /// - Returns: The pages, the offset into the first, the length and an owner
  ///   retention; empty at the end.
  /// - Complexity: O(*p*) for *p* pages, plus empty entries skipped.
  ///
  /// The corresponding kernel function is `iov_iter_extract_kvec_pages`
  /// (reached through `iov_iter_extract_pages`).
  public func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction {
    guard
      try IterExtraction.validateArguments(
        of: self, at: position, maxBytes: maxBytes, maxPages: maxPages)
    else { return .empty }
    var index = position.segmentIndex
    var skip = position.offset
    let end = _segments.count
    while index < end && _segments[index].count - skip <= 0 {
      index += 1
      skip = 0
    }
    guard index < end else { return .empty }
    let owner = _owners[index]
    return try IterExtraction.singleSegmentRun(
      of: self, at: IterPosition(segmentIndex: index, offset: skip), maxBytes: maxBytes,
      maxPages: maxPages
    ) { _, _ throws(IterError) in owner.ownerRetention() }
  }
}
