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
/// may (`bv_offset >= PAGE_SIZE`). It may also run on past the end of its
/// folio, as a multi-page `bio_vec` runs over physically contiguous pages
/// (Linux 5.1 and later): here "contiguous" means the frames that follow in
/// the pool's arena, and every one of them must be allocated (in folios of
/// any order). Entries are validated when they are added: no negative offset
/// or length, the first byte inside the folio, the folio allocated, and any
/// bytes past its end on allocated frames of the same arena. Empty entries are
/// kept and skipped by every cursor operation.
///
/// ```
///   arena:  | 3 | 4 | 5 | 6 |        four order-0 folios, allocated
///   entry:  [ folio 3, offset 0, length 4 pages - 5 ]   one bio_vec
/// ```
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
///
/// Sendable: a value array of entries whose folios are `Sendable` handles into a locked pool.
public struct BioVecArray: IterSegmentSource, Sendable {
  /// Each entry's bytes, as the cursor walks them (and hands them over in
  /// bulk).
  @usableFromInline
  nonisolated(unsafe) internal var _segments: ContiguousArray<IterSegment>

  /// Each entry's folio: its first byte's address and its first frame.
  internal var _folioStarts: ContiguousArray<(address: UInt, frame: Int)>

  internal var _fragments: ContiguousArray<PageFragment>

  /// For each entry that runs past the end of its folio (by index), the
  /// further folios it covers, in frame order.
  internal var _spans: [Int: [Folio]]

  /// An empty array.
  ///
  /// - Complexity: O(1).
  public init() {
    unsafe self._segments = []
    self._folioStarts = []
    self._fragments = []
    self._spans = [:]
  }

  /// An array of `fragments`, each validated.
  ///
  /// - Throws: `IterError.negativeCount(argument:value:)` for a negative
  ///   offset or length (the argument names the entry, `fragments[3].offset`);
  ///   `IterError.invalidSegment(index:count:reason:)` for an entry whose
  ///   folio is not allocated, whose first byte is past the end of its folio,
  ///   or that runs past the end of its folio onto a frame that is free, or
  ///   past the end of the pool's arena (the reason says which).
  /// - Complexity: O(*n*) for *n* entries, plus O(``PagePool/maxOrder``) for
  ///   each frame an entry covers past the end of its folio.
  ///
  /// The corresponding kernel function is `iov_iter_bvec` (which trusts its
  /// caller; this checks).
  public init(_ fragments: some Sequence<PageFragment>) throws(IterError) {
    self.init()
    for fragment in fragments { try append(fragment) }
  }

  /// Appends `fragment` after validating it; the array is unchanged when it throws.
  ///
  /// - Throws: As ``init(_:)``.
  /// - Complexity: Amortised O(1), plus the frames past the end of its folio
  ///   as in ``init(_:)``.
  public mutating func append(_ fragment: PageFragment) throws(IterError) {
    let index = _fragments.count
    let (entry, span) = try BioVecArray._validate(fragment, index: index)
    unsafe _segments.append(
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: entry.start), count: entry.count))
    _folioStarts.append((entry.folioAddress, entry.folioFrame))
    _fragments.append(fragment)
    if !span.isEmpty { _spans[index] = span }
  }

  /// Checks `fragment` and returns its cursor entry and the folios it covers
  /// past the end of its own (none for an entry inside its folio).
  internal static func _validate(
    _ fragment: PageFragment, index: Int
  ) throws(IterError) -> (_BioVecEntry, [Folio]) {
    guard fragment.offset >= 0 else {
      throw .negativeCount(argument: "fragments[\(index)].offset", value: fragment.offset)
    }
    guard fragment.length >= 0 else {
      throw .negativeCount(argument: "fragments[\(index)].length", value: fragment.length)
    }
    let folio = fragment.folio
    let size = folio.byteCount
    func refuse(_ reason: String) -> IterError {
      .invalidSegment(index: index, count: fragment.length, reason: reason)
    }
    // The first byte is in the folio (an empty entry may sit at its very end).
    guard fragment.offset < size || (fragment.offset == size && fragment.length == 0) else {
      throw refuse(
        "offset \(fragment.offset) starts past the end of the \(size)-byte folio at frame "
          + "\(folio.frame)")
    }
    let pool = folio.pool
    do throws(PagePoolError) {
      try pool._check(folio)
    } catch {
      throw refuse("\(error)")
    }
    let entry = _BioVecEntry(
      start: folio.address + UInt(fragment.offset), count: fragment.length,
      folioAddress: folio.address, folioFrame: folio.frame)
    guard fragment.length > size - fragment.offset else { return (entry, []) }
    // A multi-page bio_vec: the bytes past the folio must lie on the frames
    // that follow it in the arena, each of them allocated.
    let pageSize = IterPage.size
    let (end, overflow) = (folio.frame * pageSize + fragment.offset)
      .addingReportingOverflow(fragment.length)
    guard !overflow, end <= pool.byteCount else {
      throw refuse(
        "offset \(fragment.offset) + length \(fragment.length) runs past the end of the "
          + "pool's arena (\(pool.pageCount) pages) from the folio at frame \(folio.frame)")
    }
    let frames = (folio.frame + folio.pageCount)..<((end - 1) / pageSize + 1)
    do throws(PagePoolError) {
      return (entry, try pool._folios(holding: frames))
    } catch {
      throw refuse(
        "offset \(fragment.offset) + length \(fragment.length) runs past the end of the "
          + "\(size)-byte folio at frame \(folio.frame) onto frames \(frames.lowerBound)..."
          + "\(frames.upperBound - 1), which must all be allocated: \(error)")
    }
  }

  /// The folio of entry `index` that holds the page at `frame`.
  internal func _folio(ofEntry index: Int, frame: Int) -> Folio {
    let first = _fragments[index].folio
    if frame < first.frame + first.pageCount { return first }
    let span = _spans[index] ?? []
    let holder = span.first { frame >= $0.frame && frame < $0.frame + $0.pageCount }
    assert(holder != nil, "entry \(index) does not cover frame \(frame)")
    return holder ?? first
  }

  /// The entries, in order.
  ///
  /// - Complexity: O(*n*) to copy them.
  public var fragments: [PageFragment] { Array(_fragments) }

  /// The sum of the entries' lengths.
  ///
  /// - Complexity: O(*n*).
  public var byteCount: Int { unsafe _segments.reduce(0) { $0 + $1.count } }

  // MARK: - IterSegmentSource

  /// The number of entries, including empty ones.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var segmentCount: Int { unsafe _segments.count }

  /// The bytes of entry `index`.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func segment(at index: Int) -> IterSegment { unsafe _segments[index] }

  /// The entries' segments from `index` on, straight from the array: bulk
  /// access for the cursor's hot loops.
  ///
  /// - Complexity: O(1), plus `body`'s cost.
  @inlinable
  public func withContiguousSegments<R, E: Error>(
    from index: Int, _ body: (UnsafeBufferPointer<IterSegment>) throws(E) -> R
  ) throws(E) -> R? {
    try unsafe _segments.withContiguousSegments(from: index, body)
  }

  /// Entry `index` as it was validated: its bytes and its folio.
  internal func _entry(_ index: Int) -> _BioVecEntry {
    let (address, frame) = _folioStarts[index]
    return unsafe _BioVecEntry(
      start: _segments[index].address, count: _segments[index].count, folioAddress: address, folioFrame: frame)
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
