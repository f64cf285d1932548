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
    // the loop walks the cached entries by index, and the rare paths (a
    // refill in the middle of a run, an error) are calls out of line, so the
    // common one keeps its values in registers.
    let shift = UInt(truncatingIfNeeded: _pageShift)
    let pageMask: UInt = (1 << shift) &- 1
    let inPage = address & pageMask
    let page = address >> shift
    // `length` is an Int, so this cannot overflow a UInt.
    let pagesWanted = Int(truncatingIfNeeded: (inPage &+ UInt(Swift.max(length, 1)) &+ pageMask) >> shift)
    // One unsigned compare: a page below the cache wraps to a huge distance.
    if page &- _cacheFirst >= UInt(_cacheCount) {
      try _fill(page, wanted: pagesWanted, address: address)
    }
    let cache = unsafe _cache
    let index = Int(page &- _cacheFirst)
    let raw = unsafe cache[index]
    let firstFrame = raw & PagemapTranslator.frameMask
    guard raw & (1 << 63) != 0, firstFrame != 0 else { throw Self._error(raw, address: address) }
    var i = index &+ 1
    var expected = firstFrame &+ 1
    let end = Swift.min(_cacheCount, index &+ pagesWanted)
    while i < end {
      let entry = unsafe cache[i]
      guard entry & (1 << 63) != 0, entry & PagemapTranslator.frameMask == expected else { break }
      i &+= 1
      expected &+= 1
    }
    var pages = i &- index
    if i == end && pages < pagesWanted {
      // The cache ended inside the run: go on in the next batch.
      pages = _continueRun(page: page, pages: pages, wanted: pagesWanted, expected: expected)
    }
    let bytes = Swift.min(length, pages << Int(shift) - Int(inPage))
    return PhysicalRun(address: (firstFrame << UInt64(shift)) | UInt64(inPage), length: bytes)
  }

  /// Translates `length` bytes at `address` into consecutive physically
  /// contiguous runs, as many as `runs` holds, in one pass over the cached
  /// entries (a `pread` a ``batchPages`` pages, as for
  /// ``translate(_:length:)``).
  ///
  /// The runs are those successive ``translate(_:length:)`` calls give. The
  /// walk stops when the bytes are covered or `runs` is full, and at a page
  /// that is not present, swapped, hidden, or that the pagemap cannot be read
  /// for, once at least one run was written: a call from there throws.
  ///
  /// - Parameters:
  ///   - address: The virtual address of the first byte.
  ///   - length: The bytes to translate; 0 gives no runs.
  ///   - runs: Where the runs go.
  /// - Returns: The number of runs written at the start of `runs`.
  /// - Throws: As ``translate(_:length:)`` for the first byte;
  ///   ``DMAError/iterator(_:)`` for a negative `length`.
  /// - Complexity: O(*p*) for the *p* pages covered, plus one `pread` per
  ///   ``batchPages`` pages not yet cached.
  public func translateRuns(
    _ address: UInt, length: Int, into runs: UnsafeMutableBufferPointer<PhysicalRun>
  ) throws(DMAError) -> Int {
    guard length >= 0 else { throw .iterator(.negativeCount(argument: "length", value: length)) }
    let capacity = runs.count
    guard length > 0, capacity > 0 else { return 0 }
    let shift = UInt(truncatingIfNeeded: _pageShift)
    let pageMask: UInt = (1 << shift) &- 1
    let firstPage = address >> shift
    let totalPages = Int(truncatingIfNeeded: ((address & pageMask) &+ UInt(length) &+ pageMask) >> shift)
    var n = 0
    var left = length
    var skip = Int(truncatingIfNeeded: address & pageMask)  // into the open run's first page
    var runFrame: UInt64 = 0
    var runPages = 0
    var done = 0  // pages taken into runs
    walk: while done < totalPages {
      let page = firstPage &+ UInt(done)
      if page &- _cacheFirst >= UInt(_cacheCount) {
        do throws(DMAError) {
          try _fill(page, wanted: totalPages &- done, address: done == 0 ? address : page << shift)
        } catch {
          if done == 0 { throw error }
          break walk
        }
      }
      let cache = unsafe _cache
      var i = Int(page &- _cacheFirst)
      let end = Swift.min(_cacheCount, i &+ (totalPages &- done))
      while i < end {
        let entry = unsafe cache[i]
        let frame = entry & PagemapTranslator.frameMask
        guard entry & (1 << 63) != 0, frame != 0 else {
          if done == 0 { throw Self._error(entry, address: address) }
          break walk
        }
        if runPages > 0 {
          if frame == runFrame &+ UInt64(runPages) {
            runPages &+= 1
            i &+= 1
            done &+= 1
            continue
          }
          let bytes = Swift.min(left, runPages << Int(shift) &- skip)
          unsafe runs[n] = PhysicalRun(address: (runFrame << UInt64(shift)) | UInt64(skip), length: bytes)
          n &+= 1
          left &-= bytes
          skip = 0
          runPages = 0
          if n == capacity { break walk }
        }
        runFrame = frame
        runPages = 1
        i &+= 1
        done &+= 1
      }
    }
    if runPages > 0 {
      let bytes = Swift.min(left, runPages << Int(shift) &- skip)
      unsafe runs[n] = PhysicalRun(address: (runFrame << UInt64(shift)) | UInt64(skip), length: bytes)
      n &+= 1
    }
    return n
  }

  /// Goes on with a run whose first `pages` pages were in the cache, batch
  /// by batch, up to `wanted` pages; a read that fails ends the run.
  @inline(never)
  private func _continueRun(page: UInt, pages start: Int, wanted: Int, expected start1: UInt64) -> Int {
    var pages = start
    var expected = start1
    let shift = UInt(truncatingIfNeeded: _pageShift)
    while pages < wanted {
      let next = page &+ UInt(pages)
      do throws(DMAError) {
        try _fill(next, wanted: wanted &- pages, address: next << shift)
      } catch {
        return pages
      }
      let cache = unsafe _cache
      let first = Int(next &- _cacheFirst)
      var i = first
      let end = Swift.min(_cacheCount, first &+ (wanted &- pages))
      while i < end {
        let entry = unsafe cache[i]
        guard entry & (1 << 63) != 0, entry & PagemapTranslator.frameMask == expected else {
          return pages &+ (i &- first)
        }
        i &+= 1
        expected &+= 1
      }
      pages &+= i &- first
    }
    return pages
  }

  /// The error for a first page whose entry `raw` gives no frame.
  @inline(never)
  private static func _error(_ raw: UInt64, address: UInt) -> DMAError {
    switch Entry(raw: raw) {
    case .swapped: .pageSwapped(address: address)
    case .notPresent: .pageNotPresent(address: address)
    case .frameHidden, .present: .framesHidden(address: address)
    }
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
