//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore
public import IterPageFragment

/// A fixed-size array of scatterlist entries: one allocation of a list.
///
/// A list is one or more arrays joined by chain entries
/// (``chain(entryCount:to:)``) and ended by an end marker
/// (``markEnd(at:)``). Arrays are reference types, like the kernel's
/// allocations: a ``ScatterlistSlot`` names an entry of one, a chain entry
/// leads into one, and a ``ScatterlistTable`` keeps the arrays it allocated
/// alive. Chain entries hold their target weakly, so whoever builds a list
/// by hand keeps its arrays alive for as long as the list is used.
///
/// The setters keep the end and chain marks as the kernel's do
/// (`sg_assign_page` keeps `SG_END`), check what they store fits the
/// kernel's 32-bit fields, and refuse to turn a link into data. They do not
/// check that an entry stays in its page: a malformed entry is representable,
/// and every walk reports it.
///
/// An array is not thread-safe (nor is a kernel scatterlist): use it from
/// one task at a time.
///
/// The corresponding kernel type is an array of `struct scatterlist`, as
/// `sg_kmalloc` allocates it.
///
/// Not Sendable: its entries are written in place (a class, like the kernel's `struct scatterlist` array), without a
/// lock.
public final class ScatterlistArray {
  @usableFromInline
  internal var _entries: [ScatterlistEntry]

  /// The most entries one array may have: 2^16.
  /// The kernel has no such limit for hand-made arrays; this one keeps a
  /// count that arrives as data from allocating without bound.
  public static let maximumCount = 1 << 16

  /// An array of `count` entries, initialised as `sg_init_table` does: every
  /// entry unused and the last one marked as the end.
  ///
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` unless
  ///   `1 <= count <= maximumCount`.
  /// - Complexity: O(`count`).
  ///
  /// The corresponding kernel functions are `kmalloc_array` and `sg_init_table`.
  public init(count: Int) throws(IterError) {
    guard count >= 1, count <= ScatterlistArray.maximumCount else {
      throw .invalidArgument(
        argument: "count", value: count, reason: "must be in 1...\(ScatterlistArray.maximumCount)")
    }
    _entries = Array(repeating: ScatterlistEntry(), count: count)
    _entries[count - 1].isEnd = true
  }

  /// The number of entries.
  ///
  /// - Complexity: O(1).
  public var count: Int { _entries.count }

  /// Every entry, in array order (links and unused entries included).
  ///
  /// - Complexity: O(*n*).
  public var entries: [ScatterlistEntry] { _entries }

  /// Zeroes every entry and marks the last one as the end.
  ///
  /// - Complexity: O(*n*).
  ///
  /// The corresponding kernel function is `sg_init_table`.
  public func initTable() {
    for i in _entries.indices { _entries[i] = ScatterlistEntry() }
    _entries[_entries.count - 1].isEnd = true
  }

  /// The entry at `index`.
  ///
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` for an
  ///   index outside the array.
  /// - Complexity: O(1).
  public func entry(at index: Int) throws(IterError) -> ScatterlistEntry {
    try _check(index)
    return _entries[index]
  }

  /// The slot that names entry `index` (a `struct scatterlist *`).
  ///
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` for an
  ///   index outside the array.
  /// - Complexity: O(1).
  public func slot(at index: Int) throws(IterError) -> ScatterlistSlot {
    try _check(index)
    return ScatterlistSlot(_array: self, index: index)
  }

  // MARK: - Setting entries

  /// Points entry `index` at `length` bytes of `page` from `offset`, keeping
  /// its end mark. The entry must stay inside `page` when walked.
  ///
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` for an
  ///   index outside the array, an offset or length outside `0...UINT_MAX`,
  ///   or a chain entry (the kernel `BUG`s under `CONFIG_DEBUG_SG`).
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `sg_set_page`.
  public func setPage(_ page: IterPage?, length: Int, offset: Int, at index: Int) throws(IterError) {
    try _setData(page: page, pool: nil, length: length, offset: offset, at: index)
  }

  /// Points entry `index` at `length` bytes of `folio` from `offset` (which
  /// may be past the folio's first page): a multi-page entry over the pool's
  /// consecutive frames.
  ///
  /// - Throws: As ``setPage(_:length:offset:at:)``.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `sg_set_folio`.
  public func setFolio(_ folio: Folio, length: Int, offset: Int, at index: Int) throws(IterError) {
    try _setData(page: folio.page(at: 0), pool: folio.pool, length: length, offset: offset, at: index)
  }

  /// Points entry `index` at `length` bytes from the virtual address
  /// `address`: the page that holds it and the offset in that page.
  ///
  /// - Throws: As ``setPage(_:length:offset:at:)``.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `sg_set_buf`.
  public func setBuffer(address: UInt, length: Int, at index: Int) throws(IterError) {
    let page = IterPage(containing: address)
    try _setData(page: page, pool: nil, length: length, offset: Int(address - page.address), at: index)
  }

  /// Records what a device mapping made of entry `index`.
  ///
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` for an
  ///   index outside the array or a length outside `0...UINT_MAX`.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel accessors are `sg_dma_address`, `sg_dma_len`,
  /// `sg_dma_mark_bus_address` and `sg_dma_mark_swiotlb`.
  public func setDMA(
    address: UInt64, length: Int, flags: ScatterlistDMAFlags = [], at index: Int
  ) throws(IterError) {
    try _check(index)
    guard length >= 0, length <= Int(UInt32.max) else {
      throw .invalidArgument(argument: "length", value: length, reason: "must be in 0...UINT_MAX")
    }
    _entries[index].dmaAddress = address
    _entries[index].dmaLength = length
    _entries[index].dmaFlags = flags
  }

  // MARK: - Marks and links

  /// Marks entry `index` as the last of the list (and not a link).
  ///
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` for an
  ///   index outside the array.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `sg_mark_end`.
  public func markEnd(at index: Int) throws(IterError) {
    try _check(index)
    _entries[index].isEnd = true
    _entries[index].chainTarget = nil
  }

  /// Clears the end mark of entry `index`.
  ///
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` for an
  ///   index outside the array.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `sg_unmark_end`.
  public func unmarkEnd(at index: Int) throws(IterError) {
    try _check(index)
    _entries[index].isEnd = false
  }

  /// Turns entry `entryCount - 1` into a link to `target`: the first
  /// `entryCount - 1` entries then continue at `target`. The link carries no
  /// data and no end mark. Linking to an array that leads back here makes a
  /// cycle, which every walk reports; the link holds `target`'s array weakly.
  ///
  /// - Parameters:
  ///   - entryCount: The entries of this array in use, the link included.
  ///   - target: Where the list continues (the next array's first entry, usually).
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` unless
  ///   `1 <= entryCount <= count`.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `sg_chain`.
  public func chain(entryCount: Int, to target: ScatterlistSlot) throws(IterError) {
    guard entryCount >= 1, entryCount <= count else {
      throw .invalidArgument(argument: "entryCount", value: entryCount, reason: "must be in 1...\(count)")
    }
    _link(entryCount - 1, to: ScatterlistChainTarget(array: target.array, index: target.index))
  }

  /// Turns entry `index` into a link to `target`, which may point nowhere
  /// (`nil` array) or past the end of its array: for building malformed
  /// lists in tests and fuzzers; walks report them.
  ///
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` for an
  ///   index outside the array.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `__sg_chain`.
  public func setLink(at index: Int, to target: ScatterlistChainTarget) throws(IterError) {
    try _check(index)
    _link(index, to: target)
  }

  // MARK: - Internals

  internal func _link(_ index: Int, to target: ScatterlistChainTarget) {
    var e = ScatterlistEntry()
    e.chainTarget = target
    _entries[index] = e
  }

  internal func _check(_ index: Int) throws(IterError) {
    guard index >= 0, index < _entries.count else {
      throw .invalidArgument(argument: "index", value: index, reason: "outside 0..<\(_entries.count)")
    }
  }

  internal func _setData(
    page: IterPage?, pool: PagePool?, length: Int, offset: Int, at index: Int
  ) throws(IterError) {
    try _check(index)
    guard !_entries[index].isChain else {
      throw .invalidArgument(argument: "index", value: index, reason: "entry is a chain link")
    }
    guard length >= 0, length <= Int(UInt32.max) else {
      throw .invalidArgument(argument: "length", value: length, reason: "must be in 0...UINT_MAX")
    }
    guard offset >= 0, offset <= Int(UInt32.max) else {
      throw .invalidArgument(argument: "offset", value: offset, reason: "must be in 0...UINT_MAX")
    }
    _entries[index].page = page
    _entries[index].pool = pool
    _entries[index].length = length
    _entries[index].offset = offset
  }
}

extension ScatterlistArray: CustomStringConvertible {
  /// The entries, one per line.
  public var description: String {
    "ScatterlistArray(\(count)):\n"
      + _entries.enumerated().map { "  [\($0.offset)] \($0.element)" }.joined(separator: "\n")
  }
}

@available(*, unavailable, message: "its entries are written in place")
extension ScatterlistArray: Sendable {}
