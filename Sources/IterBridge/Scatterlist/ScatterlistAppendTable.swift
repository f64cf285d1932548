//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore
public import IterPageFragment

/// A table built from pages in several calls: each call merges what it can
/// into the last entry, then adds entries, growing the list an array at a
/// time.
///
/// ```swift
/// var append = ScatterlistAppendTable()
/// try append.append(pages: firstHalf, offset: 0, size: a, pool: pool, leftPages: secondHalf.count)
/// try append.append(pages: secondHalf, offset: 0, size: b, pool: pool, leftPages: 0)  // marks the end
/// let table = append.table
/// ```
///
/// The corresponding kernel structure is `struct sg_append_table`.
///
/// Not Sendable: it appends in place to arrays shared with the table it builds.
public struct ScatterlistAppendTable {
  /// The table built so far (`sgt`).
  public internal(set) var table: ScatterlistTable
  /// The last entry filled (`prv`), or `nil` before the first call.
  public internal(set) var previous: ScatterlistSlot?
  /// The entries allocated, links included (`total_nents`).
  public internal(set) var totalNents: Int
  /// The entries per array, links included (`SG_MAX_SINGLE_ALLOC`).
  public let maxEntriesPerArray: Int

  /// An empty append table whose arrays hold at most `maxEntriesPerArray` entries.
  ///
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` unless
  ///   `2 <= maxEntriesPerArray <= ScatterlistArray.maximumCount`.
  /// - Complexity: O(1).
  public init(maxEntriesPerArray: Int = ScatterlistTable.singleAllocationLimit) throws(IterError) {
    guard maxEntriesPerArray >= 2, maxEntriesPerArray <= ScatterlistArray.maximumCount else {
      throw .invalidArgument(
        argument: "maxEntriesPerArray", value: maxEntriesPerArray,
        reason: "must be in 2...\(ScatterlistArray.maximumCount)")
    }
    self.table = ScatterlistTable()
    self.previous = nil
    self.totalNents = 0
    self.maxEntriesPerArray = maxEntriesPerArray
  }

  /// The largest segment the page builders accept: `UINT_MAX` rounded down
  /// to a page (the kernel's default for `sg_alloc_table_from_pages`).
  public static var defaultMaxSegment: Int { Int(UInt32.max) & ~(IterPage.size - 1) }

  /// Adds `size` bytes that start `offset` bytes into `pages[0]` and run
  /// through the pages in order.
  ///
  /// Pages merge into one entry while they are consecutive frames of `pool`
  /// (no pool, no merging: only the pool knows which frames are adjacent),
  /// up to `maxSegment` bytes per entry. The first page merges into the
  /// previous call's last entry when it continues it. Entries go into the
  /// current array while it has room, and into a new array of
  /// `min(needed, maxEntriesPerArray)` entries chained from the current one
  /// otherwise, where `needed` counts the chunks left plus `leftPages`.
  /// With `leftPages == 0` the last entry is marked as the end.
  ///
  /// - Parameters:
  ///   - pages: The pages, in order; at least one, each page-aligned.
  ///   - offset: Where the bytes start in `pages[0]`: 0 after the first call.
  ///   - size: The bytes: they must end in the last page (the kernel trusts
  ///     the caller and makes wrong entries otherwise).
  ///   - maxSegment: The largest entry, rounded down to a page; at least a page.
  ///   - pool: The pool whose frames may merge.
  ///   - leftPages: The pages the caller will add in later calls.
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` for any
  ///   argument out of range, a page whose frame disagrees with `pool`, or a
  ///   table already ended by a call with `leftPages == 0` that needs a new
  ///   entry; `IterError.invalidSegment(index:count:reason:)` when the
  ///   list after the previous entry is broken. Nothing changes when it throws.
  /// - Complexity: O(*p*) for *p* pages.
  ///
  /// The corresponding kernel function is `sg_alloc_append_table_from_pages`.
  public mutating func append(
    pages: [IterPage], offset: Int, size: Int, maxSegment: Int = ScatterlistAppendTable.defaultMaxSegment,
    pool: PagePool? = nil, leftPages: Int = 0
  ) throws(IterError) {
    let pageSize = IterPage.size
    let segment = maxSegment & ~(pageSize - 1)
    guard maxSegment >= pageSize, maxSegment <= Int(UInt32.max) else {
      throw .invalidArgument(
        argument: "maxSegment", value: maxSegment, reason: "must be in \(pageSize)...UINT_MAX")
    }
    guard !pages.isEmpty else {
      throw .invalidArgument(argument: "pages.count", value: 0, reason: "at least one page is needed")
    }
    guard pages.count <= Int(UInt32.max) / pageSize else {
      throw .invalidArgument(argument: "pages.count", value: pages.count, reason: "too many pages")
    }
    guard offset >= 0, offset < pageSize else {
      throw .invalidArgument(argument: "offset", value: offset, reason: "must be in 0..<\(pageSize)")
    }
    guard previous == nil || offset == 0 else {
      throw .invalidArgument(argument: "offset", value: offset, reason: "must be 0 when appending")
    }
    let span = pages.count * pageSize - offset
    guard size >= 1, size > span - pageSize, size <= span else {
      throw .invalidArgument(
        argument: "size", value: size,
        reason: "\(pages.count) pages from offset \(offset) hold \(max(1, span - pageSize + 1))...\(span) bytes")
    }
    guard leftPages >= 0 else { throw .negativeCount(argument: "leftPages", value: leftPages) }
    var frames: [Int?] = []
    frames.reserveCapacity(pages.count)
    for (k, page) in pages.enumerated() {
      guard page.address & UInt(pageSize - 1) == 0 else {
        throw .invalidArgument(
          argument: "pages[\(k)]", value: Int(bitPattern: page.address), reason: "not page-aligned")
      }
      let frame = pool?.frame(containing: page.address)
      if let frame, let claimed = page.frame, claimed != UInt64(frame) {
        throw .invalidArgument(
          argument: "pages[\(k)].frame", value: Int(truncatingIfNeeded: claimed),
          reason: "the pool's frame at that address is \(frame)")
      }
      frames.append(frame)
    }
    func mergeable(_ a: Int, after b: Int?) -> Bool {
      guard let fa = frames[a], let b else { return false }
      return fa == b + 1
    }

    // Plan: how many pages merge into the previous entry.
    var merged = 0
    var mergedBytes = 0
    var remaining = size
    if let previous {
      let prv = previous.entry
      let end = prv.offset + prv.length
      if let pool, prv.pool === pool, let prvPage = prv.page, end % pageSize == 0, prv.length > 0,
        let prvFrame = pool.frame(containing: prvPage.address)
      {
        var last: Int? = prvFrame + end / pageSize - 1
        while merged < pages.count, mergeable(merged, after: last),
          prv.length + mergedBytes + pageSize <= segment
        {
          let bytes = min(pageSize, remaining)
          mergedBytes += bytes
          remaining -= bytes
          last = frames[merged]
          merged += 1
          if bytes < pageSize { break }  // a partial page ends the entry
        }
      }
    }
    // Plan: the chunks of the rest (runs of mergeable pages up to the segment).
    var chunks: [(first: Int, count: Int)] = []
    var k = merged
    while k < pages.count {
      var j = k + 1
      var segLen = 0
      while j < pages.count {
        segLen += pageSize
        if segLen >= segment || !mergeable(j, after: frames[j - 1]) { break }
        j += 1
      }
      chunks.append((k, j - k))
      k = j
    }
    // The only step that can fail: continuing after the previous entry.
    var cursor: ScatterlistSlot? = nil
    if !chunks.isEmpty, let previous {
      guard let next = try previous.next() else {
        throw .invalidArgument(
          argument: "previous", value: previous.index,
          reason: "the table was ended by a call with leftPages == 0")
      }
      cursor = next
    }

    // Apply.
    if merged > 0, let previous {
      previous.array._entries[previous.index].length += mergedBytes
    }
    var s = previous
    var first = true
    var chunkOffset = merged > 0 ? 0 : offset
    for (i, chunk) in chunks.enumerated() {
      let needed = chunks.count - i + leftPages
      s = _nextSlot(after: s, stepped: first ? cursor : nil, needed: needed)
      first = false
      let chunkSize = chunk.count * pageSize - chunkOffset
      let length = min(remaining, chunkSize)
      let slot = s!
      slot.array._entries[slot.index].page = IterPage(
        address: pages[chunk.first].address, frame: frames[chunk.first].map { UInt64($0) } ?? pages[chunk.first].frame)
      slot.array._entries[slot.index].pool = chunk.count > 1 ? pool : (frames[chunk.first] != nil ? pool : nil)
      slot.array._entries[slot.index].offset = chunkOffset
      slot.array._entries[slot.index].length = length
      remaining -= length
      chunkOffset = 0
    }
    table.nents += chunks.count
    table.origNents = table.nents
    previous = s
    if leftPages == 0, let s { s.array._entries[s.index].isEnd = true }
  }

  /// The slot for the next entry: the one after `current` (already stepped
  /// to, for the first), or the first entry of a new array chained in when
  /// that one is the end of its array and more than one entry is needed.
  private mutating func _nextSlot(
    after current: ScatterlistSlot?, stepped: ScatterlistSlot?, needed: Int
  ) -> ScatterlistSlot {
    var nextSlot: ScatterlistSlot? = nil
    if let current {
      // Arrays the table made itself: stepping cannot fail after the first step.
      nextSlot = stepped ?? (try? current.next()) ?? nil
      if let n = nextSlot, !n.entry.isEnd || needed == 1 { return n }
    }
    let allocSize = min(needed, maxEntriesPerArray)
    // allocSize is in 1...maxEntriesPerArray, within ScatterlistArray.maximumCount.
    let array = try! ScatterlistArray(count: allocSize)
    table.arrays.append(array)
    if let n = nextSlot {
      totalNents += allocSize - 1
      n.array._link(n.index, to: ScatterlistChainTarget(array: array))
    } else {
      table.first = ScatterlistSlot(_array: array, index: 0)
      totalNents = allocSize
    }
    return ScatterlistSlot(_array: array, index: 0)
  }
}

extension ScatterlistTable {
  /// A table of `size` bytes that start `offset` bytes into `pages[0]`,
  /// with consecutive frames of `pool` merged into entries of at most
  /// `maxSegment` bytes, in arrays of at most `maxEntriesPerArray` entries.
  ///
  /// - Throws: As ``ScatterlistAppendTable/append(pages:offset:size:maxSegment:pool:leftPages:)``,
  ///   and as ``ScatterlistAppendTable/init(maxEntriesPerArray:)``.
  /// - Complexity: O(*p*) for *p* pages.
  ///
  /// The corresponding kernel functions are `sg_alloc_table_from_pages_segment`
  /// and (with the default `maxSegment`) `sg_alloc_table_from_pages`.
  public init(
    pages: [IterPage], offset: Int, size: Int, maxSegment: Int = ScatterlistAppendTable.defaultMaxSegment,
    pool: PagePool? = nil, maxEntriesPerArray: Int = ScatterlistTable.singleAllocationLimit
  ) throws(IterError) {
    var append = try ScatterlistAppendTable(maxEntriesPerArray: maxEntriesPerArray)
    try append.append(pages: pages, offset: offset, size: size, maxSegment: maxSegment, pool: pool, leftPages: 0)
    self = append.table
  }
}

@available(*, unavailable, message: "it appends in place to arrays shared with the table it builds")
extension ScatterlistAppendTable: Sendable {}
