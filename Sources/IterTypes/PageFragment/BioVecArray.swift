//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// The cursor's view of one bio_vec entry: trivial values only, so that the
/// hot path does no reference counting.
@usableFromInline
internal struct _BioVecEntry: Sendable {
  /// The address of the entry's first byte.
  @usableFromInline internal var start: UInt
  /// The entry's length.
  @usableFromInline internal var count: Int
  /// The address of the folio's first byte.
  @usableFromInline internal var folioAddress: UInt
  /// The frame number of the folio's first page.
  @usableFromInline internal var folioFrame: Int

  @inlinable
  internal init(start: UInt, count: Int, folioAddress: UInt, folioFrame: Int) {
    self.start = start
    self.count = count
    self.folioAddress = folioAddress
    self.folioFrame = folioFrame
  }
}

/// An array of `(folio, offset, length)` entries over page-pool memory: the
/// kernel's `ITER_BVEC`.
///
/// Each entry is a ``PageFragment``. An entry may span several pages of a
/// multi-page folio and start a page or more into it, as a kernel `bio_vec`
/// may (`bv_offset >= PAGE_SIZE`). Entries are validated when they are added:
/// no negative offset or length, the bytes inside the folio, the folio
/// allocated. Empty entries are kept and skipped by every cursor operation.
///
/// ```swift
/// let pool = try PagePool(pageCount: 64)
/// let folio = try pool.allocateFolio(order: 2)            // 16 KiB
/// let bvec = try BioVecArray([
///   PageFragment(folio: folio, offset: 5000, length: 3192),  // ends at a page boundary
///   PageFragment(folio: folio, offset: 8192, length: 8192),  // starts the next page
/// ])
/// var iter = try IovIter(bvec, direction: .source)
/// ```
///
/// **Lifetime.** The array does not take references on its folios: the
/// caller keeps them allocated while any cursor uses the array, as in the
/// kernel. Extraction lists pages without references unless asked for them
/// with `IterExtractionOptions.retain` (see
/// ``extractPages(at:maxBytes:maxPages:options:)``). The array keeps the
/// pools alive, so its memory stays mapped in any case.
///
/// The array is a value: appending to it does not change cursors built over
/// it before.
///
/// The corresponding kernel structure is an array of `struct bio_vec`, walked
/// by an `ITER_BVEC` iterator (`iov_iter_bvec`).
public struct BioVecArray: IterSegmentSource, Sendable {
  @usableFromInline
  internal var _entries: ContiguousArray<_BioVecEntry>

  internal var _fragments: ContiguousArray<PageFragment>

  /// An empty array.
  ///
  /// - Complexity: O(1).
  public init() {
    self._entries = []
    self._fragments = []
  }

  /// An array of `fragments`, each validated.
  ///
  /// - Throws: `IterError.negativeCount(argument:value:)` for a negative
  ///   offset or length (the argument names the entry, `fragments[3].offset`);
  ///   `IterError.invalidSegment(index:count:reason:)` for an entry that runs
  ///   past the end of its folio or whose folio is not allocated.
  /// - Complexity: O(*n*) for *n* entries.
  ///
  /// The corresponding kernel function is `iov_iter_bvec` (which trusts its
  /// caller; this checks).
  public init(_ fragments: some Sequence<PageFragment>) throws(IterError) {
    self.init()
    for fragment in fragments {
      let entry = try BioVecArray._validate(fragment, index: _fragments.count)
      _entries.append(entry)
      _fragments.append(fragment)
    }
  }

  /// Appends `fragment` after validating it; the array is unchanged when it throws.
  ///
  /// - Throws: As ``init(_:)``.
  /// - Complexity: Amortised O(1).
  public mutating func append(_ fragment: PageFragment) throws(IterError) {
    let entry = try BioVecArray._validate(fragment, index: _fragments.count)
    _entries.append(entry)
    _fragments.append(fragment)
  }

  internal static func _validate(
    _ fragment: PageFragment, index: Int
  ) throws(IterError) -> _BioVecEntry {
    guard fragment.offset >= 0 else {
      throw .negativeCount(argument: "fragments[\(index)].offset", value: fragment.offset)
    }
    guard fragment.length >= 0 else {
      throw .negativeCount(argument: "fragments[\(index)].length", value: fragment.length)
    }
    let folio = fragment.folio
    let size = folio.byteCount
    guard fragment.offset <= size, fragment.length <= size - fragment.offset else {
      throw .invalidSegment(
        index: index, count: fragment.length,
        reason: "offset \(fragment.offset) + length \(fragment.length) runs past the end "
          + "of the \(size)-byte folio at frame \(folio.frame)")
    }
    do throws(PagePoolError) {
      try folio.pool._check(folio)
    } catch {
      throw .invalidSegment(index: index, count: fragment.length, reason: "\(error)")
    }
    return _BioVecEntry(
      start: folio.address + UInt(fragment.offset), count: fragment.length,
      folioAddress: folio.address, folioFrame: folio.frame)
  }

  /// The entries, in order.
  ///
  /// - Complexity: O(*n*) to copy them.
  public var fragments: [PageFragment] { Array(_fragments) }

  /// The sum of the entries' lengths.
  ///
  /// - Complexity: O(*n*).
  public var byteCount: Int { _entries.reduce(0) { $0 + $1.count } }

  // MARK: - IterSegmentSource

  /// The number of entries, including empty ones.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var segmentCount: Int { _entries.count }

  /// The bytes of entry `index`.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func segment(at index: Int) -> IterSegment {
    let entry = _entries[index]
    return unsafe IterSegment(
      base: UnsafeMutableRawPointer(bitPattern: entry.start), count: entry.count)
  }

  /// `IterMemoryKind.pageFragment`.
  @inlinable
  public var memoryKind: IterMemoryKind { .pageFragment }

  /// `IterRetentionKind.pageReference` when `options` contains
  /// `IterExtractionOptions.retain`, otherwise `IterRetentionKind.none`:
  /// the kernel lists bvec pages without references.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `iov_iter_extract_will_pin`
  /// (false for `ITER_BVEC`).
  @inlinable
  public func retention(for options: IterExtractionOptions) -> IterRetentionKind {
    options.contains(.retain) ? .pageReference : .none
  }
}

extension BioVecArray: CustomStringConvertible {
  /// The entries.
  public var description: String {
    "BioVecArray(\(_fragments.map(\.description).joined(separator: ", ")))"
  }
}
