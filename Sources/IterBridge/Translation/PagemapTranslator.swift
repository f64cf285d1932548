//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

internal import Glibc
internal import IterCore

/// Real physical addresses, read from `/proc/self/pagemap`.
///
/// Each virtual page has a 64-bit entry there: bit 63 says the page is
/// present, bit 62 that it is swapped, and bits 0–54 hold its frame number.
/// Without `CAP_SYS_ADMIN` the kernel (since Linux 4.2) reads every frame as 0;
/// that is ``Entry/frameHidden`` and ``DMAError/framesHidden(address:)``,
/// kept apart from ``Entry/notPresent`` and ``Entry/swapped``.
///
/// Entries are read in batches with one `pread(2)` per batch, never one per
/// page, and kept in a cache of one batch. **The cache is a snapshot**: call
/// ``invalidate(range:)`` after anything that changes the frames under a
/// range, namely `munmap`, `mremap`, `madvise(MADV_DONTNEED)`/`MADV_FREE`, a
/// `fork` followed by a write (copy-on-write), and any point after which the
/// kernel may have moved the pages (swap, compaction, THP collapse, NUMA
/// balancing; `mlock` keeps pages in RAM but does not stop migration). A
/// translation is only as good as the pin that keeps its pages in place.
///
/// Not thread-safe: use one translator per thread.
///
/// The corresponding kernel interface is `Documentation/admin-guide/mm/pagemap.rst`.
///
/// Not Sendable: it keeps a cache of pagemap entries that every lookup rewrites; give each task its own translator.
@safe
public final class PagemapTranslator: PhysicalTranslator {
  /// What the pagemap says about one virtual page.
  ///
  /// Sendable: a plain value.
  public enum Entry: Hashable, Sendable {
    /// In RAM at frame `frame`.
    case present(frame: UInt64)
    /// In RAM, but the frame number is hidden (no `CAP_SYS_ADMIN`).
    case frameHidden
    /// Swapped out.
    case swapped
    /// Not present (never touched, or unmapped).
    case notPresent

    /// Decodes a raw pagemap entry.
    ///
    /// - Complexity: O(1).
    @inlinable
    public init(raw: UInt64) {
      if raw & (1 << 63) != 0 {
        let frame = raw & PagemapTranslator.frameMask
        self = frame == 0 ? .frameHidden : .present(frame: frame)
      } else if raw & (1 << 62) != 0 {
        self = .swapped
      } else {
        self = .notPresent
      }
    }
  }

  /// Bits 0–54 of an entry: the frame number.
  public static let frameMask: UInt64 = (1 << 55) - 1

  /// The most entries one `pread` asks for.
  public let batchPages: Int
  /// The number of `pread` calls made so far (batching is visible here).
  public private(set) var readCount = 0

  private let _fd: Int32
  private let _read: ((UnsafeMutableRawBufferPointer, Int64) -> Int)?
  private let _cache: UnsafeMutablePointer<UInt64>
  private var _cacheFirst: UInt = 0
  private var _cacheCount = 0
  private let _pageShift: Int

  /// Opens `/proc/self/pagemap`.
  ///
  /// - Parameter batchPages: The most entries one read asks for (default
  ///   4096, 32 KiB); clamped to `1...262144`.
  /// - Throws: ``DMAError/systemCall(name:errno:)`` when the file cannot be opened.
  /// - Complexity: O(1) plus the `open(2)`.
  public init(batchPages: Int = 4096) throws(DMAError) {
    let fd = unsafe open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .systemCall(name: "open(/proc/self/pagemap)", errno: errno) }
    self._fd = fd
    unsafe self._read = nil
    self.batchPages = Swift.min(Swift.max(batchPages, 1), 1 << 18)
    unsafe self._cache = UnsafeMutablePointer<UInt64>.allocate(capacity: self.batchPages)
    self._pageShift = IterPage.size.trailingZeroBitCount
  }

  /// A translator that reads entries through `read` instead of the file: a
  /// seam for tests (hidden frames, swapped pages, short reads).
  ///
  /// `read(buffer, offset)` fills `buffer` with entries from byte `offset` of
  /// a pagemap and returns the bytes read, or -1 with `errno` set.
  package init(batchPages: Int = 4096, read: @escaping (UnsafeMutableRawBufferPointer, Int64) -> Int) {
    self._fd = -1
    unsafe self._read = read
    self.batchPages = Swift.min(Swift.max(batchPages, 1), 1 << 18)
    unsafe self._cache = UnsafeMutablePointer<UInt64>.allocate(capacity: self.batchPages)
    self._pageShift = IterPage.size.trailingZeroBitCount
  }

  deinit {
    if _fd >= 0 { _ = close(_fd) }
    unsafe _cache.deallocate()
  }

  /// Forgets cached entries for pages that overlap `range`. Call it after
  /// `munmap`, `mremap`, `madvise(MADV_DONTNEED)` or anything else that may
  /// change the frames under `range` (see ``PagemapTranslator``).
  ///
  /// - Complexity: O(1).
  public func invalidate(range: Range<UInt>) {
    guard _cacheCount > 0, !range.isEmpty else { return }
    let first = range.lowerBound >> UInt(_pageShift)
    let last = (range.upperBound - 1) >> UInt(_pageShift)
    if first < _cacheFirst + UInt(_cacheCount) && last >= _cacheFirst { _cacheCount = 0 }
  }

  /// Forgets every cached entry.
  ///
  /// - Complexity: O(1).
  public func invalidateAll() { _cacheCount = 0 }

  /// What the pagemap says about the page that holds `address`.
  ///
  /// - Throws: ``DMAError/systemCall(name:errno:)`` when the read fails;
  ///   ``DMAError/notTranslatable(address:)`` past the end of the pagemap.
  /// - Complexity: O(1), plus one `pread` on a cache miss.
  public func entry(at address: UInt) throws(DMAError) -> Entry {
    let page = address >> UInt(_pageShift)
    try _fill(page, wanted: 1, address: address)
    return unsafe Entry(raw: _cache[Int(page - _cacheFirst)])
  }

  /// The physical address of `address` and how far it stays physically
  /// contiguous (frames that follow one another), up to `length` bytes.
  ///
  /// - Throws: ``DMAError/pageNotPresent(address:)``,
  ///   ``DMAError/pageSwapped(address:)`` or ``DMAError/framesHidden(address:)``
  ///   for the first page; ``DMAError/systemCall(name:errno:)`` when a read
  ///   fails. A later page that is not present simply ends the run.
  /// - Complexity: O(*p*) for the *p* pages of the run, plus one `pread` per
  ///   ``batchPages`` pages not yet cached.
  public func translate(_ address: UInt, length: Int) throws(DMAError) -> PhysicalRun {
    // Runs are often a single page (fragmented RAM), so the per-call cost
    // matters as much as the per-page loop: the cache hit is checked inline,
    // and the loop walks the cached entries by index, refilling only at the
    // end of the batch.
    let shift = UInt(truncatingIfNeeded: _pageShift)
    let pageMask: UInt = (1 << shift) &- 1
    let inPage = address & pageMask
    let page = address >> shift
    // `length` is an Int, so this cannot overflow a UInt.
    let pagesWanted = Int(truncatingIfNeeded: (inPage &+ UInt(Swift.max(length, 1)) &+ pageMask) >> shift)
    if page < _cacheFirst || page &- _cacheFirst >= UInt(_cacheCount) {
      try _fill(page, wanted: pagesWanted, address: address)
    }
    let cache = unsafe _cache
    var index = Int(page &- _cacheFirst)
    var cached = _cacheCount
    let raw = unsafe cache[index]
    let firstFrame = raw & PagemapTranslator.frameMask
    guard raw & (1 << 63) != 0, firstFrame != 0 else {
      switch Entry(raw: raw) {
      case .swapped: throw .pageSwapped(address: address)
      case .notPresent: throw .pageNotPresent(address: address)
      case .frameHidden, .present: throw .framesHidden(address: address)
      }
    }
    var pages = 1
    var expected = firstFrame &+ 1
    while pages < pagesWanted {
      index &+= 1
      if index == cached {
        let next = page &+ UInt(pages)
        do { try _fill(next, wanted: pagesWanted - pages, address: next << shift) } catch { break }
        index = Int(next &- _cacheFirst)
        cached = _cacheCount
      }
      let entry = unsafe cache[index]
      guard entry & (1 << 63) != 0, entry & PagemapTranslator.frameMask == expected else { break }
      pages &+= 1
      expected &+= 1
    }
    let bytes = Swift.min(length, pages << Int(shift) - Int(inPage))
    return PhysicalRun(address: (firstFrame << UInt64(shift)) | UInt64(inPage), length: bytes)
  }

  /// Makes sure the entry of `page` is cached, reading up to `wanted` pages
  /// (at least 64, at most ``batchPages``) from it.
  private func _fill(_ page: UInt, wanted: Int, address: UInt) throws(DMAError) {
    if page >= _cacheFirst && page < _cacheFirst + UInt(_cacheCount) { return }
    let n = Swift.min(batchPages, Swift.max(wanted, 64))
    let (offset, over) = page.multipliedReportingOverflow(by: 8)
    guard !over, offset <= UInt(Int64.max) else { throw .notTranslatable(address: address) }
    let buffer = unsafe UnsafeMutableRawBufferPointer(start: _cache, count: n * 8)
    var got: Int
    repeat {
      readCount += 1
      if let read = unsafe _read {
        got = unsafe read(buffer, Int64(offset))
      } else {
        got = unsafe pread(_fd, buffer.baseAddress, buffer.count, off_t(offset))
      }
    } while got < 0 && errno == EINTR
    guard got >= 0 else {
      _cacheCount = 0
      throw .systemCall(name: "pread(/proc/self/pagemap)", errno: errno)
    }
    let entries = Swift.min(got, n * 8) / 8
    guard entries > 0 else {
      _cacheCount = 0
      throw .notTranslatable(address: address)
    }
    _cacheFirst = page
    _cacheCount = entries
  }
}

@available(*, unavailable, message: "it keeps a cache of pagemap entries that every lookup rewrites")
extension PagemapTranslator: Sendable {}
