//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// What to do with a piece that breaks `dma_alignment`.
///
/// Sendable: a plain value.
public enum MisalignmentPolicy: Hashable, Sendable {
  /// Throw ``DMAError/misaligned(piece:offset:address:length:alignmentMask:)``
  /// (the kernel's `-EINVAL`).
  case fail
  /// Emit the piece's chunks flagged ``BioVecFlags/needsBounce``, never merged
  /// with a neighbour: the bounce plan. The caller copies them through an
  /// aligned bounce buffer.
  case bounce
}

/// Turns any `IovIter` into requests of ``BioVec``s under a device's
/// ``DMALimits``, lazily, as the kernel's `blk_map_iter_next` does.
///
/// Each call fills a caller-owned ``BioVecRequest`` with the next request and
/// moves the iterator past its bytes:
///
/// ```
/// iterator ──pieces──▶ translator ──physical runs──▶ split/merge ──▶ BioVecs
///  (virtual)           (strip tag, look up)         (limits)         (one request)
/// ```
///
/// - A chunk grows while the next byte is physically next, in the same
///   boundary window (`seg_boundary_mask`), of the same memory (flags and
///   region: device memory never merges with RAM), and the chunk is below
///   `max_segment_size` (`get_max_segment_size`, `biovec_phys_mergeable`).
/// - A request ends before a chunk past `max_segments`, at `max_sectors`, or
///   before a chunk that would open a virt-boundary gap; then it is cut back
///   to a multiple of the logical block size and the cut bytes start the next
///   request. The last request holds what is left.
/// - Every piece the iterator hands over (a segment, or what is left of it)
///   must start and end on `dma_alignment`; see ``MisalignmentPolicy``.
///
/// Two ways in: ``mapNextRequest(from:into:)`` walks the iterator's memory
/// and holds nothing (no allocation per request: for memory the caller keeps
/// alive and in place); ``extractNextRequest(from:into:options:)`` goes
/// through page extraction and keeps each extraction's retention (pins,
/// page references) until ``finish()`` hands them back.
///
/// The corresponding kernel functions are `blk_map_iter_next`,
/// `bio_split_rw_at` and `blk_rq_map_sg`.
///
/// Not Sendable: it owns the retentions of the request it is building; move it, do not share it.
public struct BioVecMapper<Translator: PhysicalTranslator>: ~Copyable {
  /// The device's limits.
  public let limits: DMALimits
  /// Turns virtual addresses into device addresses.
  public let translator: Translator
  /// Bits stripped from a virtual address for the lookup only (a pointer tag:
  /// top-byte-ignore, LAM, a KASAN tag); the iterator never sees them go.
  public let tagMask: UInt
  /// What to do with misaligned pieces.
  public let misalignment: MisalignmentPolicy

  @usableFromInline internal var _retentions: BioVecRetentions
  @usableFromInline internal let _maxBytes: Int
  @usableFromInline internal let _maxSegments: Int
  @usableFromInline internal let _vbm: UInt64
  @usableFromInline internal let _boundaryMask: UInt64
  @usableFromInline internal let _segmentMax: UInt64
  @usableFromInline internal let _alignMask: UInt
  @usableFromInline internal let _blockSize: Int
  @usableFromInline internal let _bounce: Bool
  /// The translator's window, read once here.
  @usableFromInline internal let _window: TranslationWindow?

  /// Creates a mapper.
  ///
  /// - Parameters:
  ///   - limits: The device's limits.
  ///   - translator: The translator.
  ///   - tagMask: Address bits to strip for the lookup (default none).
  ///   - misalignment: ``MisalignmentPolicy/fail`` (default) or ``MisalignmentPolicy/bounce``.
  /// - Complexity: O(1).
  public init(
    limits: DMALimits, translator: Translator, tagMask: UInt = 0, misalignment: MisalignmentPolicy = .fail
  ) {
    self.limits = limits
    self.translator = translator
    self.tagMask = tagMask
    self.misalignment = misalignment
    self._retentions = BioVecRetentions()
    self._maxBytes = limits.maxRequestBytes
    self._maxSegments = limits.maxSegments
    self._vbm = limits.virtBoundaryMask
    self._boundaryMask = limits.segmentBoundaryMask
    self._segmentMax = UInt64(limits.maxSegmentSize) - 1
    self._alignMask = UInt(limits.dmaAlignment)
    self._blockSize = Int(limits.logicalBlockSize)
    self._bounce = misalignment == .bounce
    self._window = translator.translationWindow
  }

  /// The holds kept so far (for ``extractNextRequest(from:into:options:)``).
  @inlinable public var retentionCount: Int { _retentions.count }

  /// Ends the mapping and hands back every hold taken, for the caller to
  /// release when the device is done.
  ///
  /// - Complexity: O(1).
  public consuming func finish() -> BioVecRetentions {
    _retentions
  }

  // MARK: - Walking

  /// Maps the next request of `iter` into `request`, walking the iterator's
  /// memory without extracting pages, and moves `iter` past its bytes.
  ///
  /// Nothing is held on the memory: use it for memory that stays alive and in
  /// place (kernel-virtual, page-pool, pinned or registered memory). It
  /// allocates nothing.
  ///
  /// - Parameters:
  ///   - iter: The iterator; on return it stands after the request's bytes.
  ///   - request: Receives the request (its previous contents are replaced).
  /// - Returns: `false`, with `request` empty, when `iter` has no bytes left.
  /// - Throws: ``DMAError/requestBufferTooSmall(capacity:maxSegments:)``,
  ///   ``DMAError/misaligned(piece:offset:address:length:alignmentMask:)``,
  ///   ``DMAError/requestBelowBlockSize(bytes:logicalBlockSize:)``,
  ///   ``DMAError/noMemory(offset:)``, and the translator's errors. `iter` is
  ///   then where it was. ``DMAError/iterator(_:)`` when `iter`'s source
  ///   lost segments under it (which the protocol forbids), so that `iter`
  ///   cannot be put back.
  /// - Complexity: O(*s* + *r*) for the *s* pieces and *r* runs of the request.
  @inlinable
  public mutating func mapNextRequest<S: IterSegmentSource>(
    from iter: inout IovIter<S>, into request: inout BioVecRequest
  ) throws(DMAError) -> Bool {
    guard request.capacity >= _maxSegments else {
      throw .requestBufferTooSmall(capacity: request.capacity, maxSegments: _maxSegments)
    }
    guard iter.count > 0 else {
      request._reset()
      return false
    }
    if try _mapDirect(&iter, into: &request) {
      // Nothing to cut back (the block size is a power of two): mark the end here.
      if request._end == .endOfInput ? iter.count == 0 : request._byteCount & (_blockSize &- 1) == 0 {
        unsafe request._base[request._count &- 1].flags.insert(.endOfRequest)
      } else {
        try _finish(&request, iter: &iter, consumed: request.byteCount)
      }
      return true
    }
    var builder = try _builder(&request)
    var handled = 0
    let walked = unsafe iter.iterateAndAdvance(maxCount: iter.count) { (chunk, progress) -> Int in
      guard progress == handled else {
        builder.fail(.noMemory(offset: handled))
        return 0
      }
      do throws(DMAError) {
        let n = try _feed(&builder, address: UInt(bitPattern: chunk.baseAddress), length: chunk.count)
        handled &+= n
        return n
      } catch {
        builder.fail(error)
        return 0
      }
    }
    if walked != handled { builder.fail(.noMemory(offset: handled)) }
    if let failure = builder.takeFailure() {
      try _rewind(&iter, by: walked)
      request._reset()
      throw failure
    }
    builder.commit(into: &request)
    try _finish(&request, iter: &iter, consumed: handled)
    return true
  }

  // MARK: - Extracting

  /// Maps the next request of `iter` into `request` through page extraction,
  /// and moves `iter` past its bytes.
  ///
  /// Each extraction's retention (a pin for user memory, page references for
  /// page fragments with `IterExtractionOptions.retain`, the owner for
  /// kernel-virtual memory) is kept until ``finish()``. Bytes extracted but
  /// left for the next request are extracted again then, so a page may be held
  /// twice; every hold is released once.
  ///
  /// - Parameters:
  ///   - iter: The iterator; on return it stands after the request's bytes.
  ///   - request: Receives the request.
  ///   - options: Passed to `IovIter.extractPages(maxBytes:maxPages:options:)`.
  /// - Returns: `false`, with `request` empty, when `iter` has no bytes left.
  /// - Throws: As ``mapNextRequest(from:into:)``, and
  ///   ``DMAError/iterator(_:)`` when extraction fails. `iter` is then where
  ///   it was; holds already taken stay with the mapper.
  /// - Complexity: O(*p* + *r*) for the *p* pages and *r* runs of the request.
  @inlinable
  public mutating func extractNextRequest<S: IterSegmentSource>(
    from iter: inout IovIter<S>, into request: inout BioVecRequest, options: IterExtractionOptions = []
  ) throws(DMAError) -> Bool {
    var builder = try _builder(&request)
    guard iter.count > 0 else { return false }
    let pageSize = IterPage.size
    var consumed = 0
    do throws(DMAError) {
      extraction: while iter.count > 0 {
        if unsafe builder._s.pointee.bytes == _maxBytes {
          unsafe builder._s.pointee.end = .maxBytes
          break
        }
        // Whole pieces, not the request's byte budget: a piece's alignment is
        // judged on the piece, and what the request leaves is given back.
        let budget = iter.count
        let extraction: IterExtraction
        do throws(IterError) {
          extraction = try iter.extractPages(maxBytes: budget, maxPages: 256, options: options)
        } catch {
          throw .iterator(error)
        }
        let pages = extraction.pages
        let offset = extraction.offset
        let count = extraction.count
        _retentions.append(extraction.takeRetention())
        consumed += count
        var done = 0
        var k = 0
        while done < count {
          // One piece: the pages that follow one another in virtual memory.
          let start = pages[k].address + UInt(k == 0 ? offset : 0)
          var length = Swift.min(pageSize - (k == 0 ? offset : 0), count - done)
          k += 1
          while done + length < count, pages[k].address == pages[k - 1].address &+ UInt(pageSize) {
            length += Swift.min(pageSize, count - done - length)
            k += 1
          }
          let n = try _feed(&builder, address: start, length: length)
          done += n
          if n < length {
            let unused = count - done
            consumed -= unused
            try _rewind(&iter, by: unused)
            break extraction
          }
        }
      }
    } catch {
      try _rewind(&iter, by: consumed)
      request._reset()
      throw error
    }
    builder.commit(into: &request)
    try _finish(&request, iter: &iter, consumed: consumed)
    return true
  }

  // MARK: - The engine

  /// Checks the request buffer, empties it, and starts a request in it.
  @inlinable
  internal func _builder(_ request: inout BioVecRequest) throws(DMAError) -> _RequestBuilder {
    guard request.capacity >= _maxSegments else {
      throw .requestBufferTooSmall(capacity: request.capacity, maxSegments: _maxSegments)
    }
    request._reset()
    return unsafe _RequestBuilder(
      base: request._base, state: request._state, maxBytes: _maxBytes, maxSegments: _maxSegments,
      virtBoundaryMask: _vbm,
      boundaryMask: _boundaryMask, segmentMax: _segmentMax)
  }

  @inlinable
  internal func _rewind<S: IterSegmentSource>(_ iter: inout IovIter<S>, by n: Int) throws(DMAError) {
    guard n > 0 else { return }
    do throws(IterError) { try iter.revert(by: n) } catch { throw .iterator(error) }
  }

  /// Cuts a request ended by a limit back to a multiple of the logical block
  /// size, gives the cut bytes back to `iter`, and marks the last chunk.
  @inlinable
  internal mutating func _finish<S: IterSegmentSource>(
    _ request: inout BioVecRequest, iter: inout IovIter<S>, consumed: Int
  ) throws(DMAError) {
    if iter.count > 0 && request._end == .endOfInput {
      // Stopped inside the walk without a limit: cannot happen, but be exact.
      request._end = .maxBytes
    }
    if request._end != .endOfInput {
      let total = request.byteCount
      var trim = total % _blockSize
      if total - trim == 0 {
        try _rewind(&iter, by: consumed)
        request._reset()
        throw .requestBelowBlockSize(bytes: total, logicalBlockSize: _blockSize)
      }
      let given = trim
      while trim > 0 {
        var last = request._last
        if Int(last.length) <= trim {
          trim -= Int(last.length)
          request._count -= 1
        } else {
          last.length -= UInt32(trim)
          request._last = last
          trim = 0
        }
      }
      request._byteCount = total - given
      try _rewind(&iter, by: given)
    }
    if request.count > 0 {
      var last = request._last
      last.flags.insert(.endOfRequest)
      request._last = last
    }
  }

  /// Takes as much of one piece (`length` bytes at virtual `address`) as the
  /// request in `builder` can hold; returns the bytes taken.
  // `mutating` only so that `self` is passed by address: a borrowing call
  // from the mutating callers copied the whole mapper (185 bytes) a piece.
  @inlinable @inline(__always)
  internal mutating func _feed(_ builder: inout _RequestBuilder, address: UInt, length: Int) throws(DMAError) -> Int {
    guard length > 0 else { return 0 }
    var bounce = false
    if (address | UInt(bitPattern: length)) & _alignMask != 0 {
      guard _bounce else {
        try _misaligned(&builder, address: address, length: length)
        return 0
      }
      bounce = true
    }
    var done = 0
    while done < length {
      let lookup = (address &+ UInt(bitPattern: done)) & ~tagMask
      let left = length &- done
      let run = try translator.translate(lookup, length: left)
      guard run.length >= 1, run.length <= left else { throw .notTranslatable(address: lookup) }
      let flags = bounce ? run.attributes.union(.needsBounce) : run.attributes
      let n = builder.add(run, flags: flags, bounce: bounce)
      done &+= n
      if n < run.length { break }
    }
    unsafe builder._s.pointee.piece &+= 1
    return done
  }

  /// A misaligned piece under ``MisalignmentPolicy/fail``: the error, unless
  /// the request ends before the piece (then it is the next request's
  /// problem, and this returns). Out of line: the hot loop stays small.
  @inlinable @inline(never)
  internal func _misaligned(_ builder: inout _RequestBuilder, address: UInt, length: Int) throws(DMAError) {
    let first = try translator.translate(address & ~tagMask, length: length)
    guard builder.takes(first) else { return }
    throw .misaligned(
      piece: unsafe builder._s.pointee.piece, offset: unsafe builder._s.pointee.bytes, address: address,
      length: length,
      alignmentMask: UInt32(truncatingIfNeeded: _alignMask))
  }
}

@available(*, unavailable, message: "it owns the retentions of the request it is building")
extension BioVecMapper: Sendable {}
