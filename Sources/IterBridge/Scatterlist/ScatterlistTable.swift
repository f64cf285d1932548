//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// A scatterlist with its entry counts: the list's first entry, how many
/// entries the CPU side uses (``origNents``) and how many a device mapping
/// produced (``nents``).
///
/// The table keeps the arrays it allocated alive; a table built over arrays
/// made by hand (``init(first:nents:origNents:keepingAlive:)``) keeps the
/// ones it is given. It is a value over shared arrays, as an `sg_table` is a
/// header over shared memory: copies see each other's entry changes.
///
/// Counts are data: operations that walk the list check it as they go and
/// throw typed errors for a list shorter than its count, a cycle, a missing
/// end marker, a link that points nowhere, or an entry that runs past its page.
///
/// - Warning: An entry names memory by address. The table does not own it
///   (the kernel's tables do not hold page references either): the pages
///   must stay mapped while the table is walked. Entries set from a
///   `PagePool`'s folios are checked against the pool's arena.
///
/// The corresponding kernel structure is `struct sg_table`.
///
/// Not Sendable: it shares its arrays, which are written in place, with every copy.
public struct ScatterlistTable {
  /// The list's first entry (`sgl`), or `nil` for an empty table.
  public var first: ScatterlistSlot?
  /// The number of entries a device mapping produced (`nents`).
  public var nents: Int
  /// The number of entries in the list (`orig_nents`).
  public var origNents: Int
  /// The arrays the table keeps alive.
  public internal(set) var arrays: [ScatterlistArray]

  /// The default number of entries per array when a table is allocated:
  /// one page of 32-byte kernel entries, 128 with 4 KiB pages.
  ///
  /// The corresponding kernel constant is `SG_MAX_SINGLE_ALLOC`.
  public static let singleAllocationLimit = max(2, IterPage.size / 32)

  /// The most entries ``init(entryCount:maxEntriesPerArray:)`` allocates:
  /// 2^20. The kernel takes any `unsigned int`; this bound keeps a count that
  /// arrives as data from exhausting memory.
  public static let maximumEntryCount = 1 << 20

  /// An empty table (no list).
  ///
  /// - Complexity: O(1).
  public init() {
    first = nil
    nents = 0
    origNents = 0
    arrays = []
  }

  /// A table over a list built by hand.
  ///
  /// - Parameters:
  ///   - first: The list's first entry.
  ///   - nents: The mapped entry count.
  ///   - origNents: The list's entry count.
  ///   - arrays: Arrays to keep alive with the table (chain links hold
  ///     their targets weakly).
  /// - Throws: `IterError.negativeCount(argument:value:)` for a negative count.
  /// - Complexity: O(1).
  public init(
    first: ScatterlistSlot?, nents: Int, origNents: Int, keepingAlive arrays: [ScatterlistArray] = []
  ) throws(IterError) {
    guard nents >= 0 else { throw .negativeCount(argument: "nents", value: nents) }
    guard origNents >= 0 else { throw .negativeCount(argument: "origNents", value: origNents) }
    self.first = first
    self.nents = nents
    self.origNents = origNents
    self.arrays = arrays + (first.map { [$0.array] } ?? [])
  }

  /// Allocates a list of `entryCount` unused entries in arrays of at most
  /// `maxEntriesPerArray`, chained: every array but the last gives its last
  /// entry to the link, and the list's last entry is marked as the end.
  ///
  /// - Parameters:
  ///   - entryCount: The data entries, from 1 to ``maximumEntryCount``.
  ///   - maxEntriesPerArray: Entries per array, links included; at least 2
  ///     when more than one array is needed.
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` for
  ///   counts out of range (the kernel's `-EINVAL` for 0 entries; it loops
  ///   forever with 1 entry per array).
  /// - Complexity: O(`entryCount`).
  ///
  /// The corresponding kernel functions are `sg_alloc_table` and `__sg_alloc_table`.
  public init(
    entryCount: Int, maxEntriesPerArray: Int = ScatterlistTable.singleAllocationLimit
  ) throws(IterError) {
    guard entryCount >= 1, entryCount <= ScatterlistTable.maximumEntryCount else {
      throw .invalidArgument(
        argument: "entryCount", value: entryCount,
        reason: "must be in 1...\(ScatterlistTable.maximumEntryCount)")
    }
    guard maxEntriesPerArray >= 1, maxEntriesPerArray <= ScatterlistArray.maximumCount,
      maxEntriesPerArray >= 2 || entryCount <= maxEntriesPerArray
    else {
      throw .invalidArgument(
        argument: "maxEntriesPerArray", value: maxEntriesPerArray,
        reason: "must be in 2...\(ScatterlistArray.maximumCount) (or 1 for a one-entry table)")
    }
    self.init()
    var left = entryCount
    var previous: ScatterlistArray? = nil
    while left > 0 {
      let allocSize = min(left, maxEntriesPerArray)
      let dataSize = left > maxEntriesPerArray ? allocSize - 1 : allocSize
      left -= dataSize
      let array = try ScatterlistArray(count: allocSize)
      arrays.append(array)
      nents += dataSize
      origNents += dataSize
      if let previous {
        previous._link(maxEntriesPerArray - 1, to: ScatterlistChainTarget(array: array))
      } else {
        first = ScatterlistSlot(_array: array, index: 0)
      }
      if left == 0 { array._entries[dataSize - 1].isEnd = true }
      previous = array
    }
  }

  // MARK: - Walking

  /// The first `count` entries of the list (``origNents`` when `nil`), in
  /// list order, links followed.
  ///
  /// - Throws: `IterError.invalidSegment(index:count:reason:)` when the
  ///   list ends before `count` entries (the kernel dereferences `NULL`), or
  ///   for a cycle, a missing end marker or a bad link;
  ///   `IterError.negativeCount(argument:value:)` for a negative count.
  /// - Complexity: O(*n*) for *n* entries.
  ///
  /// The corresponding kernel macro is `for_each_sg`.
  public func slots(count: Int? = nil) throws(IterError) -> [ScatterlistSlot] {
    let n = count ?? origNents
    var walker = try _ScatterlistWalker(first: first, limit: n)
    var result: [ScatterlistSlot] = []
    while let slot = try walker.next() { result.append(slot) }
    guard result.count == n else {
      throw .invalidSegment(
        index: result.count, count: 0, reason: "the list ends after \(result.count) entries; \(n) were expected")
    }
    return result
  }

  /// The entries of the list up to its end marker (at most ``origNents``
  /// when `bounded`).
  ///
  /// - Throws: As ``slots(count:)``, except that a list shorter than the
  ///   bound is no error.
  /// - Complexity: O(*n*) for *n* entries.
  ///
  /// The corresponding kernel function is `sg_nents`.
  public func entryCount(bounded: Bool = false) throws(IterError) -> Int {
    var walker = try _ScatterlistWalker(first: first, limit: bounded ? origNents : Int.max)
    var n = 0
    while try walker.next() != nil { n += 1 }
    return n
  }

  /// Checks every entry of the list's first ``origNents``: the walk and
  /// each data entry (page alignment, the 32-bit fields, staying in its page
  /// or in its pool), and that the lengths add up without overflow.
  ///
  /// - Returns: The total length of the entries.
  /// - Throws: As ``slots(count:)``; `IterError.invalidSegment(index:count:reason:)`
  ///   for a malformed entry; `IterError.lengthOverflow(total:limit:)`.
  /// - Complexity: O(*n*) for *n* entries.
  public func validate() throws(IterError) -> Int {
    var total = 0
    for (i, slot) in try slots().enumerated() {
      let e = slot.entry
      _ = try e._validatedStart(index: i)
      let (sum, overflow) = total.addingReportingOverflow(e.length)
      if overflow { throw .lengthOverflow(total: total, limit: Int.max) }
      total = sum
    }
    return total
  }
}

extension ScatterlistTable: CustomStringConvertible {
  /// The counts and the entries (or the walk's error).
  public var description: String {
    var s = "ScatterlistTable(nents: \(nents), origNents: \(origNents))"
    do throws(IterError) {
      for (i, slot) in try slots().enumerated() { s += "\n  [\(i)] \(slot.entry)" }
    } catch {
      s += "\n  \(error)"
    }
    return s
  }
}

@available(*, unavailable, message: "it shares its arrays, which are written in place, with every copy")
extension ScatterlistTable: Sendable {}
