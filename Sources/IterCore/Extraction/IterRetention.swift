//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// What an extraction holds on the memory it listed.
///
/// Each buffer kind offers what is real for its memory (DESIGN.md, Retention).
public enum IterRetentionKind: Hashable, Sendable, CustomStringConvertible {
  /// Nothing is held: the caller keeps the memory alive (the kernel's rule for
  /// `ITER_BVEC`, `ITER_KVEC`, `ITER_FOLIOQ` and `ITER_XARRAY` extraction).
  case none
  /// The pages are locked in RAM with `mlock(2)` (the user-space stand-in for
  /// the kernel's `FOLL_PIN`).
  case pin
  /// The page pool's reference count on each page was raised.
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
public struct IterRetention: ~Copyable {
  /// What is held.
  public let kind: IterRetentionKind

  @usableFromInline
  internal let _release: (() -> Void)?

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
  /// - Parameters:
  ///   - kind: What is held.
  ///   - release: Undoes the hold. It runs when the retention is released or
  ///     reaches the end of its life, whichever comes first, and never twice.
  /// - Complexity: O(1).
  @inlinable
  public init(kind: IterRetentionKind, release: @escaping () -> Void) {
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
/// Returned by ``IovIter/extractPages(maxBytes:maxPages:options:)``. Only the
/// first page can start at an offset (``offset``); every other page is used
/// from its first byte, and the run is virtually contiguous.
///
/// The corresponding kernel call is `iov_iter_extract_pages`, whose
/// `*offset0` is ``offset`` and whose return value is ``count``.
public struct IterExtraction: ~Copyable {
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
  ///   memory; whatever `retain` throws.
  /// - Complexity: O(*p*) for *p* pages, plus the empty segments skipped.
  public static func singleSegmentRun<S: IterSegmentSource>(
    of source: S, at position: IterPosition, maxBytes: Int, maxPages: Int,
    retain: (_ start: UInt, _ count: Int) throws(IterError) -> IterRetention
  ) throws(IterError) -> IterExtraction {
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
