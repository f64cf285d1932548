//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// What an extraction holds on the memory it listed.
///
/// Each buffer kind offers what is real for its memory: a pin for user memory,
/// a page reference for page fragments, an owner reference for kernel-virtual
/// allocations, nothing for memory the caller keeps alive.
///
/// Sendable: a plain value.
public enum IterRetentionKind: Hashable, Sendable, CustomStringConvertible {
  /// Nothing is held: the caller keeps the memory alive (the kernel's rule for
  /// `ITER_BVEC`, `ITER_KVEC`, `ITER_FOLIOQ` and `ITER_XARRAY` extraction).
  case none
  /// The pages are locked in RAM with `mlock(2)` (the user-space stand-in for
  /// the kernel's `FOLL_PIN`).
  case pin
  /// One reference was taken on each listed page, in whatever the kind counts
  /// pages with: the library's page pool for pages from it, the kind's own
  /// per-page counter otherwise.
  case pageReference
  /// The allocation that owns the memory is kept alive; pages are not referenced.
  case ownerReference

  /// `none`, `pin`, `page-reference` or `owner-reference`.
  public var description: String {
    switch self {
    case .none: "none"
    case .pin: "pin"
    case .pageReference: "page-reference"
    case .ownerReference: "owner-reference"
    }
  }
}

/// A hold on memory that is released exactly once.
///
/// Extraction returns one of these with the pages it lists. Release it with
/// ``release()``, or let it go out of scope: its end of life releases it. It
/// cannot be copied, so it cannot be released twice, and it cannot be
/// forgotten without being released.
///
/// ```swift
/// var extraction = try iter.extractPages(maxBytes: 65536, maxPages: 16)
/// submit(extraction.pages, offset: extraction.offset, count: extraction.count)
/// extraction.release()   // munlock, page put, or owner release: once
/// ```
///
/// A retention made by a mixed chain belongs to one member's run; the caller
/// releases each one, never the layer below.
///
/// Sendable: its release is a `@Sendable` closure, and being `~Copyable` it runs exactly once, in whichever task ends
/// the retention.
public struct IterRetention: ~Copyable, Sendable {
  /// What is held.
  public let kind: IterRetentionKind

  @usableFromInline
  internal let _release: (@Sendable () -> Void)?

  /// A retention that holds nothing.
  ///
  /// - Complexity: O(1).
  @inlinable
  public init() {
    self.kind = .none
    self._release = nil
  }

  /// A retention of `kind` whose release runs `release` exactly once.
  ///
  /// A retention can be handed to another thread and released there (an I/O
  /// completion reaped on another thread, say), so `release` is `@Sendable`.
  ///
  /// - Parameters:
  ///   - kind: What is held.
  ///   - release: Undoes the hold. It runs when the retention is released or
  ///     reaches the end of its life, whichever comes first, and never twice,
  ///     on whichever thread that happens.
  /// - Complexity: O(1).
  @inlinable
  public init(kind: IterRetentionKind, release: @escaping @Sendable () -> Void) {
    self.kind = kind
    self._release = release
  }

  /// Releases what is held. The retention is consumed, so it cannot be used again.
  ///
  /// - Complexity: The cost of the kind's release (for a pin, one `munlock(2)`).
  @inlinable
  public consuming func release() {}

  deinit {
    _release?()
  }
}

/// Options for ``IovIter/extractPages(maxBytes:maxPages:options:)``.
///
/// The corresponding kernel type is `iov_iter_extraction_t`.
///
/// Sendable: a plain bit set.
public struct IterExtractionOptions: OptionSet, Hashable, Sendable {
  /// The raw bits.
  public var rawValue: UInt32

  /// Creates options from raw bits.
  @inlinable
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// Peer-to-peer DMA memory may be listed (the kernel's `ITER_ALLOW_P2PDMA`, 0x01).
  public static let allowP2PDMA = IterExtractionOptions(rawValue: 0x01)

  /// Take the retention the kind offers even where the kernel would only list
  /// pages (page fragments then take page references). The `IterUser` kinds
  /// pin whether or not this is set, as the kernel always pins user-backed
  /// pages; what each kind does is its ``IterSegmentSource/retention(for:)``.
  public static let retain = IterExtractionOptions(rawValue: 0x100)
}

/// Where a cursor stands in its source: a segment and an offset into it.
///
/// The kernel keeps the same pair as the current `iovec` pointer and `iov_offset`.
///
/// Sendable: two integers.
public struct IterPosition: Hashable, Sendable {
  /// The index of the current segment.
  public var segmentIndex: Int
  /// The offset into that segment (the kernel's `iov_offset`).
  public var offset: Int

  /// Creates a position.
  @inlinable
  public init(segmentIndex: Int, offset: Int) {
    self.segmentIndex = segmentIndex
    self.offset = offset
  }
}

/// The pages under one run of bytes, and what is held on them.
///
/// Returned by ``IovIter/extractPages(maxBytes:maxPages:options:)``. The run
/// is a page list, the kernel's contract: the pages in the order the bytes
/// come, the first used from ``offset``, every later one from its first byte,
/// every one but the last used to its end. So ``pages`` has exactly as many
/// entries as the run touches, and byte *j* of the run lives at
/// `pages[(offset + j) / pageSize].address + (offset + j) % pageSize`.
/// Whether the pages are also virtually contiguous is each kind's own rule
/// (user memory and bio_vecs are; a folio queue lists several folios).
///
/// The corresponding kernel call is `iov_iter_extract_pages`, whose
/// `*offset0` is ``offset`` and whose return value is ``count``.
///
/// Sendable: a list of pages (plain values) and a `Sendable` retention, owned by one holder at a time (`~Copyable`).
public struct IterExtraction: ~Copyable, Sendable {
  /// The pages under the run, in order.
  public let pages: [IterPage]
  /// The offset of the run's first byte in the first page.
  public let offset: Int
  /// The number of bytes in the run.
  public let count: Int
  /// What is held on the pages until released.
  public var retention: IterRetention

  /// Creates an extraction.
  ///
  /// - Parameters:
  ///   - pages: The pages under the run.
  ///   - offset: The offset of the first byte in the first page.
  ///   - count: The number of bytes.
  ///   - retention: What is held on the pages.
  /// - Complexity: O(1).
  public init(pages: [IterPage], offset: Int, count: Int, retention: consuming IterRetention) {
    self.pages = pages
    self.offset = offset
    self.count = count
    self.retention = retention
  }

  /// An extraction of nothing.
  public static var empty: IterExtraction {
    IterExtraction(pages: [], offset: 0, count: 0, retention: IterRetention())
  }

  /// What is held on the pages.
  public var retentionKind: IterRetentionKind { retention.kind }

  /// Releases what is held on the pages, exactly once.
  ///
  /// - Complexity: The cost of the kind's release.
  public consuming func release() {}

  /// Ends the extraction and hands its retention to the caller, who then
  /// releases it on its own schedule (after an I/O completes, say).
  ///
  /// - Complexity: O(1).
  public consuming func takeRetention() -> IterRetention {
    retention
  }

  /// Why this extraction breaks the contract for a run that `source` holds from
  /// `position`, or `nil` when it keeps it.
  ///
  /// The contract (see ``IterExtraction``): at least 1 and at most `maxBytes`
  /// bytes; at most `maxPages` pages, page-aligned, exactly as many as the run
  /// touches from ``offset``, which lies inside the first page; and the pages
  /// hold the source's bytes: every byte of the run, read from `source`'s
  /// segments from `position`, lies in the page and at the offset the page
  /// list puts it. The cursor checks every extraction with this before it
  /// moves, and the conformance suite reports what it says.
  ///
  /// - Parameters:
  ///   - source: The source the extraction was made from.
  ///   - position: Where the run starts in `source`.
  ///   - maxBytes: The byte limit the kind was given.
  ///   - maxPages: The page limit the kind was given.
  /// - Returns: A sentence naming the first problem with its values, or `nil`.
  /// - Complexity: O(*p* + *s*) for *p* pages and the *s* segments the run covers.
  public func contractViolation<S: IterSegmentSource>(
    of source: S, at position: IterPosition, maxBytes: Int, maxPages: Int
  ) -> String? {
    let pageSize = IterPage.size
    let count = self.count
    let offset = self.offset
    let pages = self.pages
    guard count >= 1 && count <= maxBytes else {
      return "it gave \(count) bytes; allowed 1...\(maxBytes)"
    }
    guard pages.count <= maxPages else {
      return "it listed \(pages.count) pages; allowed at most \(maxPages)"
    }
    guard offset >= 0 && offset < pageSize else {
      return "its offset \(offset) is not inside the first page (0..<\(pageSize))"
    }
    let spanned = _pagesSpanned(offset: offset, length: count, pageSize: pageSize)
    guard pages.count == spanned else {
      return "it listed \(pages.count) pages for \(count) bytes from offset \(offset), which touch \(spanned)"
    }
    let mask = UInt(pageSize - 1)
    for (k, page) in pages.enumerated() where page.address & mask != 0 {
      return "page \(k) (\(page)) is not page-aligned"
    }
    // Walk the source's bytes of the run and check each chunk against the pages.
    guard position.segmentIndex >= 0, position.offset >= 0 else {
      return "the position \(position.segmentIndex)+\(position.offset) is negative"
    }
    var index = position.segmentIndex
    var skip = position.offset
    var done = 0
    let end = source.segmentCount
    while done < count {
      guard index < end else {
        return "the source's segments end \(count - done) bytes before the run's end"
      }
      let segment = source.segment(at: index)
      let part = Swift.min(segment.count - skip, count - done)
      if part > 0 {
        guard segment.hasMemory else {
          return "byte \(done) of the run is in segment \(index), which has no memory"
        }
        var address = segment.address &+ UInt(skip)
        var left = part
        while left > 0 {
          let at = offset + done
          let k = at / pageSize
          let inPage = at % pageSize
          if address & mask != UInt(inPage) || address & ~mask != pages[k].address {
            return "byte \(done) of the run (segment \(index)+\(skip + part - left), at 0x"
              + "\(String(address, radix: 16))) is not at offset \(inPage) of page \(k) (\(pages[k]))"
          }
          let step = Swift.min(left, pageSize - inPage)
          address &+= UInt(step)
          left -= step
          done += step
        }
      }
      index += 1
      skip = 0
    }
    return nil
  }

  /// Checks the arguments of a direct call to
  /// ``IterSegmentSource/extractPages(at:maxBytes:maxPages:options:)``, which
  /// is public and can be called with values the cursor never passes.
  ///
  /// - Returns: `false` when there is nothing to extract (`maxBytes` is 0, or
  ///   `position` is the end: segment `segmentCount`, offset 0); `true` otherwise.
  /// - Throws: ``IterError/negativeCount(argument:value:)`` for a negative
  ///   `maxBytes`; ``IterError/invalidArgument(argument:value:reason:)`` for
  ///   `maxPages < 1`, or a position outside the source (a segment index
  ///   outside `0...segmentCount`, an offset outside its segment's bytes).
  /// - Complexity: O(1).
  public static func validateArguments<S: IterSegmentSource>(
    of source: S, at position: IterPosition, maxBytes: Int, maxPages: Int
  ) throws(IterError) -> Bool {
    guard maxBytes >= 0 else { throw .negativeCount(argument: "maxBytes", value: maxBytes) }
    guard maxPages >= 1 else {
      throw .invalidArgument(argument: "maxPages", value: maxPages, reason: "must be at least 1")
    }
    let end = source.segmentCount
    guard position.segmentIndex >= 0 && position.segmentIndex <= end else {
      throw .invalidArgument(
        argument: "position.segmentIndex", value: position.segmentIndex,
        reason: "outside 0...\(end), the segments of the source")
    }
    let length = position.segmentIndex < end ? source.segment(at: position.segmentIndex).count : 0
    guard position.offset >= 0 && position.offset <= length else {
      throw .invalidArgument(
        argument: "position.offset", value: position.offset,
        reason: "outside 0...\(length), the bytes of segment \(position.segmentIndex)")
    }
    return maxBytes > 0 && position.segmentIndex < end
  }

  /// Lists the pages under the next run of one segment, the rule the kernel
  /// applies to `ITER_KVEC` (and, with pinning, to `ITER_IOVEC`): empty segments
  /// are skipped, the run never leaves its segment, and it is cut so that it
  /// spans at most `maxPages` pages.
  ///
  /// Buffer kinds call this from their ``IterSegmentSource/extractPages(at:maxBytes:maxPages:options:)``
  /// and pass a closure that takes their retention on the run.
  ///
  /// - Parameters:
  ///   - source: The source to read segments from.
  ///   - position: Where the run starts.
  ///   - maxBytes: At most this many bytes (already clamped to the cursor's count).
  ///   - maxPages: At most this many pages; at least 1.
  ///   - retain: Takes the kind's retention on the run's bytes.
  /// - Throws: ``IterError/extractionUnsupported(kind:)`` for a segment without
  ///   memory; the errors of ``validateArguments(of:at:maxBytes:maxPages:)``
  ///   for arguments out of range; whatever `retain` throws.
  /// - Complexity: O(*p*) for *p* pages, plus the empty segments skipped.
  public static func singleSegmentRun<S: IterSegmentSource>(
    of source: S, at position: IterPosition, maxBytes: Int, maxPages: Int,
    retain: (_ start: UInt, _ count: Int) throws(IterError) -> IterRetention
  ) throws(IterError) -> IterExtraction {
    guard try validateArguments(of: source, at: position, maxBytes: maxBytes, maxPages: maxPages)
    else { return .empty }
    var index = position.segmentIndex
    var skip = position.offset
    let end = source.segmentCount
    while index < end {
      let segment = source.segment(at: index)
      let size = min(maxBytes, segment.count - skip)
      if size > 0 {
        guard segment.hasMemory else {
          throw .extractionUnsupported(kind: source.memoryKind)
        }
        let start = segment.address &+ UInt(skip)
        let pageSize = IterPage.size
        let offset = Int(start & UInt(pageSize - 1))
        let spanned = _pagesSpanned(offset: offset, length: size, pageSize: pageSize)
        let pageCount = min(spanned, maxPages)
        let length = pageCount == spanned ? size : pageCount * pageSize - offset
        let first = start &- UInt(offset)
        var pages: [IterPage] = []
        pages.reserveCapacity(pageCount)
        for k in 0..<pageCount {
          pages.append(IterPage(address: first &+ UInt(k * pageSize)))
        }
        let retention = try retain(start, length)
        return IterExtraction(pages: pages, offset: offset, count: length, retention: retention)
      }
      index += 1
      skip = 0
    }
    return .empty
  }
}
