//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

// MARK: - The direct walk

/// What the direct walk did with one run of segments.
@usableFromInline
internal enum _DirectStep {
  /// Took every byte of the run; go on with the next run.
  case next
  /// The request ended (a limit) or the cursor's bytes ran out.
  case done
  /// Met something only the general path handles (a misaligned piece, a
  /// segment without memory or shorter than the cursor's offset, a
  /// translator error or an out-of-contract run): start over there.
  case fallBack
}

/// One request built by walking the source's segment runs directly, with
/// its state in locals, as the C loop of the same job keeps it: the general
/// path calls a closure a chunk from inside the cursor's walk and keeps its
/// state behind a pointer, which costs about half of its instructions.
///
/// It handles the common case only: aligned pieces of memory-backed
/// segments that the translator maps. On anything else it answers
/// ``_DirectStep/fallBack`` before it moves the cursor, and the general path
/// builds the same request from the start, errors included; so both paths
/// give the same chunks by construction of the rules, and the randomized
/// model tests check every request of both.
@usableFromInline
@safe
internal struct _DirectMap<Translator: PhysicalTranslator> {
  /// The current request's chunks (in a batch, the current slot's).
  @usableFromInline internal var base: UnsafeMutablePointer<BioVec>
  @usableFromInline internal let maxBytes: Int
  @usableFromInline internal let maxSegments: Int
  @usableFromInline internal let vbm: UInt64
  @usableFromInline internal let boundaryMask: UInt64
  @usableFromInline internal let segmentMax: UInt64
  @usableFromInline internal let alignMask: UInt
  @usableFromInline internal let tagMask: UInt
  /// The translator's ``TranslationWindow`` (a `windowCount` of 0 when it has none).
  @usableFromInline internal let windowStart: UInt
  @usableFromInline internal let windowCount: UInt
  @usableFromInline internal let windowDevice: UInt64
  @usableFromInline internal let windowKey: UInt64

  /// The cursor's bytes not yet walked, and the offset into the next segment.
  @usableFromInline internal var remaining: Int
  @usableFromInline internal var skip: Int
  /// The request so far, and why it ended.
  @usableFromInline internal var count = 0
  @usableFromInline internal var bytes = 0
  @usableFromInline internal var end: RequestEnd = .endOfInput
  /// The open (last) chunk: how long it may grow, and its flags and region
  /// as one key (see ``key(_:_:)``).
  @usableFromInline internal var openMax: UInt64 = 0
  @usableFromInline internal var openKey: UInt64 = 0
  /// In a batch: how many requests may be closed and committed inside the
  /// walk (0 outside a batch), where their entries go, the distance between
  /// slots, `logical_block_size - 1`, and the requests and bytes committed.
  @usableFromInline internal var batchSlots = 0
  @usableFromInline internal var entries: UnsafeMutablePointer<_BatchEntry>? = nil
  @usableFromInline internal var stride = 0
  @usableFromInline internal var blockMask = 0
  @usableFromInline internal var committed = 0
  @usableFromInline internal var committedBytes = 0
  /// The bytes cut off the batch's last request (the walk had taken them).
  @usableFromInline internal var cutBack = 0

  @inlinable @inline(__always)
  internal init(
    base: UnsafeMutablePointer<BioVec>, maxBytes: Int, maxSegments: Int, vbm: UInt64, boundaryMask: UInt64,
    segmentMax: UInt64, alignMask: UInt, tagMask: UInt, window: TranslationWindow?, remaining: Int, skip: Int
  ) {
    unsafe self.base = base
    self.maxBytes = maxBytes
    self.maxSegments = maxSegments
    self.vbm = vbm
    self.boundaryMask = boundaryMask
    self.segmentMax = segmentMax
    self.alignMask = alignMask
    self.tagMask = tagMask
    self.windowStart = window?.virtualAddress ?? 0
    self.windowCount = window?.count ?? 0
    self.windowDevice = window?.deviceAddress ?? 0
    self.windowKey = window.map { Self.key($0.attributes, $0.region) } ?? 0
    self.remaining = remaining
    self.skip = skip
  }

  /// Commits the request in `base` (marks its last chunk, writes its entry)
  /// and moves to the next slot, empty.
  @inlinable @inline(__always)
  internal static func commit(
    _ base: inout UnsafeMutablePointer<BioVec>, _ count: inout Int, _ bytes: inout Int, end: RequestEnd,
    into entries: UnsafeMutablePointer<_BatchEntry>, committed: inout Int, committedBytes: inout Int, stride: Int
  ) {
    unsafe base[count &- 1].flags.insert(.endOfRequest)
    unsafe (entries + committed).initialize(to: _BatchEntry(count: count, bytes: bytes, end: end))
    committed &+= 1
    committedBytes &+= bytes
    unsafe base += stride
    count = 0
    bytes = 0
  }

  /// A chunk's flags and memory region in one word: chunks merge only when
  /// both are equal.
  @inlinable @inline(__always)
  internal static func key(_ flags: BioVecFlags, _ region: UInt32) -> UInt64 {
    UInt64(flags.rawValue) | UInt64(region) << 32
  }

  /// Walks `n` segments from `first`, the cursor's bytes from `skip` on, at
  /// most `remaining` of them.
  ///
  /// One flat loop, each turn a step of split/merge on the current physical
  /// run, taking the next run or the next piece when one ends; the state is
  /// copied into locals for it and back at the end. (Worked on in place,
  /// through the closure that hands over the run, the state stayed in
  /// memory and every field was loaded and stored a piece; in three nested
  /// loops, a third of the instructions a piece were spills.)
  @inlinable @inline(__always)
  internal mutating func feed(
    _ first: UnsafePointer<IterSegment>, _ n: Int, translator: Translator
  ) -> _DirectStep {
    let maxBytes = self.maxBytes
    let maxSegments = self.maxSegments
    let vbm = self.vbm
    let boundaryMask = self.boundaryMask
    let segmentMax = self.segmentMax
    let alignMask = self.alignMask
    let tagMask = self.tagMask
    let windowStart = self.windowStart
    let windowCount = self.windowCount
    let windowDevice = self.windowDevice
    let windowKey = self.windowKey
    var remaining = self.remaining
    var skip = self.skip
    var count = self.count
    var bytes = self.bytes
    var openMax = self.openMax
    var openKey = self.openKey
    var base = unsafe self.base
    let batchSlots = self.batchSlots
    let entries = unsafe self.entries
    let stride = self.stride
    let blockMask = self.blockMask
    var committed = self.committed
    var committedBytes = self.committedBytes
    var end = RequestEnd.endOfInput
    // The segment next to take, the untranslated rest of the current piece,
    // and the current physical run.
    var k = 0
    var address: UInt = 0
    var pieceLeft = 0
    var p: UInt64 = 0
    var rest: UInt64 = 0
    var key: UInt64 = 0
    var step = _DirectStep.next
    walk: while true {
      if rest == 0 {
        if pieceLeft == 0 {
          // The next piece: what the cursor holds of segment k.
          if remaining == 0 {
            if committed < batchSlots && bytes > 0 {
              // The last request of the input, in a batch.
              unsafe Self.commit(
                &base, &count, &bytes, end: .endOfInput, into: entries.unsafelyUnwrapped, committed: &committed,
                committedBytes: &committedBytes, stride: stride)
            }
            step = .done
            break walk
          }
          if k == n { break walk }
          let segment = unsafe first[k]
          var length = segment.count &- skip
          if length > remaining { length = remaining }
          if length <= 0 {
            if length < 0 {
              step = .fallBack
              break walk
            }
            skip = 0
            k &+= 1
            continue walk
          }
          guard let start = unsafe segment.base else {
            step = .fallBack
            break walk
          }
          address = UInt(bitPattern: start) &+ UInt(bitPattern: skip)
          if (address | UInt(bitPattern: length)) & alignMask != 0 {
            step = .fallBack
            break walk
          }
          pieceLeft = length
          remaining &-= length
          skip = 0
          k &+= 1
        }
        // The next run of the piece: by arithmetic inside the window, by a
        // call outside it.
        let lookup = address & ~tagMask
        let inWindow = lookup &- windowStart
        let runLength: Int
        if inWindow < windowCount {
          let left = windowCount &- inWindow
          runLength = left < UInt(bitPattern: pieceLeft) ? Int(bitPattern: left) : pieceLeft
          p = windowDevice &+ UInt64(inWindow)
          key = windowKey
        } else {
          let run: PhysicalRun
          do throws(DMAError) {
            run = try translator.translate(lookup, length: pieceLeft)
          } catch {
            step = .fallBack
            break walk
          }
          guard run.length >= 1, run.length <= pieceLeft else {
            step = .fallBack
            break walk
          }
          runLength = run.length
          p = run.address
          key = Self.key(run.attributes, run.region)
        }
        address &+= UInt(bitPattern: runLength)
        pieceLeft &-= runLength
        rest = UInt64(truncatingIfNeeded: runLength)
      }
      // One step of the split/merge of `_RequestBuilder.add`, without the
      // bounce cases (a misaligned piece never gets here).
      let room = UInt64(truncatingIfNeeded: maxBytes &- bytes)
      if room == 0 {
        end = .maxBytes
      } else {
        if count > 0 {
          let last = unsafe base + (count &- 1)
          let have = UInt64(unsafe last.pointee.length)
          let lastEnd = unsafe last.pointee.address &+ have
          if lastEnd == p && have < openMax && key == openKey {
            let take = Swift.min(rest, openMax &- have, room)
            unsafe last.pointee.length = UInt32(truncatingIfNeeded: have &+ take)
            bytes &+= Int(truncatingIfNeeded: take)
            p &+= take
            rest &-= take
            continue walk
          }
          if vbm != 0 && count != maxSegments && (lastEnd | p) & vbm != 0 {
            end = .virtBoundaryGap
          }
        }
        if end == .endOfInput {
          if count == maxSegments {
            end = .maxSegments
          } else {
            let segment = Swift.min(boundaryMask &- (boundaryMask & p), segmentMax) &+ 1
            let take = Swift.min(rest, segment, room)
            unsafe (base + count).initialize(
              to: BioVec(
                address: p, length: UInt32(truncatingIfNeeded: take),
                flags: BioVecFlags(rawValue: UInt32(truncatingIfNeeded: key))))
            count &+= 1
            openMax = segment
            openKey = key
            bytes &+= Int(truncatingIfNeeded: take)
            p &+= take
            rest &-= take
            continue walk
          }
        }
      }
      // A limit ended the request before the run (p, rest). In a batch with
      // a slot to spare, a request that needs no cut back to the block size
      // is committed here and the run opens the next one, as the next
      // `mapNextRequest` call would (which first checks the alignment of
      // what is left of the piece). Anything else ends the walk.
      if committed < batchSlots && bytes > 0 {
        let cut = bytes & blockMask
        if cut == 0
          && ((address &- UInt(truncatingIfNeeded: rest))
            | (UInt(truncatingIfNeeded: rest) &+ UInt(bitPattern: pieceLeft)))
            & alignMask == 0
        {
          unsafe Self.commit(
            &base, &count, &bytes, end: end, into: entries.unsafelyUnwrapped, committed: &committed,
            committedBytes: &committedBytes, stride: stride)
          openMax = 0
          openKey = 0
          end = .endOfInput
          // The slots are full: stop before the next request's first byte.
          if committed == batchSlots {
            step = .done
            break walk
          }
          continue walk
        }
        if cut != 0 && bytes > cut {
          // Cut back to the block size, as `_finish` does, and end the
          // batch's walk: the cut bytes start the next request.
          var left = cut
          while left > 0 {
            let length = Int(unsafe base[count &- 1].length)
            if length <= left {
              left &-= length
              count &-= 1
            } else {
              unsafe base[count &- 1].length = UInt32(truncatingIfNeeded: length &- left)
              left = 0
            }
          }
          bytes &-= cut
          self.cutBack = cut
          unsafe Self.commit(
            &base, &count, &bytes, end: end, into: entries.unsafelyUnwrapped, committed: &committed,
            committedBytes: &committedBytes, stride: stride)
        }
      }
      step = .done
      break walk
    }
    if step == .done && end != .endOfInput { self.end = end }
    unsafe self.base = base
    self.committed = committed
    self.committedBytes = committedBytes
    self.remaining = remaining
    self.skip = skip
    self.count = count
    self.bytes = bytes
    self.openMax = openMax
    self.openKey = openKey
    return step
  }
}

extension BioVecMapper {
  /// Builds the next request of `iter` into `request` by the direct walk and
  /// moves `iter` past the bytes it took (before the cut to the block size);
  /// returns `false`, with neither changed, when the general path must do it.
  ///
  /// - Throws: ``DMAError/iterator(_:)`` only when the cursor cannot be put
  ///   back where it was, because its source lost segments under it (a kind
  ///   that breaks the protocol).
  @inlinable @inline(__always)
  internal func _mapDirect<S: IterSegmentSource>(
    _ iter: inout IovIter<S>, into request: inout BioVecRequest
  ) throws(DMAError) -> Bool {
    let saved = iter.saveState()
    var walk = unsafe _DirectMap<Translator>(
      base: request._base, maxBytes: _maxBytes, maxSegments: _maxSegments, vbm: _vbm, boundaryMask: _boundaryMask,
      segmentMax: _segmentMax, alignMask: _alignMask, tagMask: tagMask, window: _window,
      remaining: 0, skip: 0)
    var step = _DirectStep.next
    unsafe iter.iterateSegmentsAndAdvance { (run, offset, limit) -> Int in
      guard step == .next, let first = run.baseAddress else { return 0 }
      walk.remaining = limit
      walk.skip = offset
      let before = walk.bytes
      step = unsafe walk.feed(first, run.count, translator: translator)
      return step == .fallBack ? 0 : walk.bytes &- before
    }
    // `.next` here: the segments ended before the cursor's count (the source changed).
    guard step == .done, walk.bytes > 0 else {
      do throws(IterError) { try iter.restore(saved) } catch {
        request._reset()
        throw .iterator(error)
      }
      return false
    }
    request._count = walk.count
    request._byteCount = walk.bytes
    request._end = walk.end
    return true
  }

  /// Maps requests of `iter` into `batch`'s slots but the last, committing
  /// each inside the walk, and moves `iter` to the end of the committed
  /// requests (the request after them is left to the single-request path).
  /// Returns the requests committed.
  ///
  /// - Throws: ``DMAError/iterator(_:)`` only when the cursor cannot be put
  ///   where it belongs, because its source lost segments under it.
  @inlinable
  internal func _mapDirectBatch<S: IterSegmentSource>(
    _ iter: inout IovIter<S>, into batch: inout BioVecRequestBatch
  ) throws(DMAError) -> Int {
    let saved = iter.saveState()
    var walk = unsafe _DirectMap<Translator>(
      base: batch._base, maxBytes: _maxBytes, maxSegments: _maxSegments, vbm: _vbm, boundaryMask: _boundaryMask,
      segmentMax: _segmentMax, alignMask: _alignMask, tagMask: tagMask, window: _window,
      remaining: 0, skip: 0)
    walk.batchSlots = batch.capacity &- 1
    unsafe walk.entries = batch._entries
    walk.stride = batch.chunksPerRequest
    walk.blockMask = _blockSize &- 1
    var step = _DirectStep.next
    var reported = 0
    unsafe iter.iterateSegmentsAndAdvance { (run, offset, limit) -> Int in
      guard step == .next, let first = run.baseAddress else { return 0 }
      walk.remaining = limit
      walk.skip = offset
      let before = walk.committedBytes &+ walk.bytes
      step = unsafe walk.feed(first, run.count, translator: translator)
      if step == .fallBack { return 0 }
      let taken = walk.committedBytes &+ walk.bytes &- before
      reported &+= taken
      return taken
    }
    // Put the cursor at the end of the committed requests: give back the
    // bytes cut off the last one, as `_finish` does; after a request that
    // was not committed (or a walk handed to the general path), start over.
    let extra = reported &- walk.committedBytes
    if extra != 0 {
      do throws(IterError) {
        if step == .done && extra == walk.cutBack {
          try iter.revert(by: extra)
        } else {
          try iter.restore(saved)
          try iter.advance(by: walk.committedBytes)
        }
      } catch {
        throw .iterator(error)
      }
    }
    batch._count = walk.committed
    return walk.committed
  }

  /// Maps the next requests of `iter` into `batch`, as many as it holds, and
  /// moves `iter` past their bytes.
  ///
  /// The requests, their chunks and their ends are the ones successive
  /// ``mapNextRequest(from:into:)`` calls would make; one call keeps the
  /// mapper's state across them instead of setting it up for each (see
  /// ``BioVecRequestBatch``). A request that would fail ends the batch
  /// before it: the next call throws its error (with the batch empty and
  /// `iter` where it was).
  ///
  /// - Parameters:
  ///   - iter: The iterator; on return it stands after the batch's bytes.
  ///   - batch: Receives the requests (its previous contents are replaced).
  /// - Returns: The requests mapped; 0, with `batch` empty, when `iter` has
  ///   no bytes left.
  /// - Throws: As ``mapNextRequest(from:into:)``, for the batch's first
  ///   request; ``DMAError/requestBufferTooSmall(capacity:maxSegments:)``
  ///   when the batch's requests hold fewer than `max_segments` chunks.
  /// - Complexity: O(*s* + *r*) for the *s* pieces and *r* runs of the batch.
  @inlinable
  public mutating func mapNextRequests<S: IterSegmentSource>(
    from iter: inout IovIter<S>, into batch: inout BioVecRequestBatch
  ) throws(DMAError) -> Int {
    guard batch.chunksPerRequest >= _maxSegments else {
      throw .requestBufferTooSmall(capacity: batch.chunksPerRequest, maxSegments: _maxSegments)
    }
    batch._count = 0
    guard iter.count > 0 else { return 0 }
    if batch.capacity > 1 {
      _ = try _mapDirectBatch(&iter, into: &batch)
    }
    // The last slot, or a request the walk left: the single-request path.
    guard iter.count > 0 else { return batch._count }
    do throws(DMAError) {
      if try mapNextRequest(from: &iter, into: &batch._scratch) {
        batch._appendScratch()
      }
    } catch {
      if batch._count == 0 { throw error }
    }
    return batch._count
  }
}
