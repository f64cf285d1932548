//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

extension IovIter {
  /// Lists the pages under the next run of bytes, takes the kind's retention
  /// on them, and moves past the run.
  ///
  /// The run is at most `min(maxBytes, count, MAX_RW_COUNT)` bytes and at most
  /// `maxPages` pages, listed as ``IterExtraction`` describes: only the first
  /// page starts at an offset, and every page but the last is used to its end.
  /// How long a run is depends on the kind, as in the kernel: one `iovec` or
  /// `kvec` per call, a `bio_vec` run until a chunk does not start a page, a
  /// folio queue's pages across folios. What is held depends on the kind's code too
  /// (``IterSegmentSource/retention(for:)``): the `IterUser` kinds pin; page
  /// fragments hold nothing unless ``IterExtractionOptions/retain`` asks for
  /// page references; kernel-virtual memory holds its owner; an
  /// ``UnsafeSegmentList`` holds nothing, whatever memory kind it reports. Release the result's
  /// ``IterExtraction/retention`` when done.
  ///
  /// When `maxBytes` or ``count`` is 0, the result is empty and nothing moves.
  ///
  /// - Parameters:
  ///   - maxBytes: At most this many bytes.
  ///   - maxPages: At most this many pages; at least 1.
  ///   - options: ``IterExtractionOptions``.
  /// - Throws: ``IterError/negativeCount(argument:value:)`` for a negative
  ///   `maxBytes`; ``IterError/invalidArgument(argument:value:reason:)`` for
  ///   `maxPages < 1`; ``IterError/extractionUnsupported(kind:)`` for discard;
  ///   the kind's retention failure;
  ///   ``IterError/extractionContractViolated(kind:reason:)`` when the kind's
  ///   run breaks the contract (checked on every call; what the kind took is
  ///   released). Unchanged when it throws.
  /// - Complexity: O(*p*) for *p* pages, plus the kind's retention cost.
  ///
  /// The corresponding kernel function is `iov_iter_extract_pages`.
  public mutating func extractPages(
    maxBytes: Int, maxPages: Int, options: IterExtractionOptions = []
  ) throws(IterError) -> IterExtraction {
    guard maxBytes >= 0 else { throw .negativeCount(argument: "maxBytes", value: maxBytes) }
    guard maxPages >= 1 else {
      throw .invalidArgument(argument: "maxPages", value: maxPages, reason: "must be at least 1")
    }
    let limit = Swift.min(maxBytes, _count, IterLimits.maxReadWriteCount)
    guard limit > 0 else { return .empty }
    let extraction = try _source.extractPages(
      at: position, maxBytes: limit, maxPages: maxPages, options: options)
    // A kind's output is input: check it before moving. On a violation the
    // extraction is dropped here, which releases whatever it holds.
    if let problem = extraction.contractViolation(
      of: _source, at: position, maxBytes: limit, maxPages: maxPages)
    {
      throw .extractionContractViolated(
        kind: _source.memoryKind,
        reason: "extractPages(at: \(position.segmentIndex)+\(position.offset), maxBytes: \(limit), "
          + "maxPages: \(maxPages), options: 0x\(String(options.rawValue, radix: 16))): \(problem)")
    }
    _advance(extraction.count)
    return extraction
  }

  /// Whether ``extractPages(maxBytes:maxPages:options:)`` pins the pages it
  /// lists next, so that the caller must release the pin. (For a chain, the
  /// answer is the member's at the cursor's position.)
  ///
  /// The corresponding kernel function is `iov_iter_extract_will_pin`.
  @inlinable
  public var extractionWillPin: Bool {
    ((try? _source.retention(for: [], at: position)) ?? .none) == .pin
  }
}
