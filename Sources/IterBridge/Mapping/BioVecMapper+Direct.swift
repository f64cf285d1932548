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
  @usableFromInline internal let base: UnsafeMutablePointer<BioVec>
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
  @usableFromInline internal let windowFlags: BioVecFlags
  @usableFromInline internal let windowRegion: UInt32

  /// The cursor's bytes not yet walked, and the offset into the next segment.
  @usableFromInline internal var remaining: Int
  @usableFromInline internal var skip: Int
  /// The request so far, and why it ended.
  @usableFromInline internal var count = 0
  @usableFromInline internal var bytes = 0
  @usableFromInline internal var end: RequestEnd = .endOfInput
  /// The open chunk: where it ends, its length, how long it may grow, its flags and region.
  @usableFromInline internal var lastEnd: UInt64 = 0
  @usableFromInline internal var lastLength: UInt64 = 0
  @usableFromInline internal var openMax: UInt64 = 0
  @usableFromInline internal var openFlags = BioVecFlags()
  @usableFromInline internal var openRegion: UInt32 = 0

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
    self.windowFlags = window?.attributes ?? []
    self.windowRegion = window?.region ?? 0
    self.remaining = remaining
    self.skip = skip
  }

  /// Walks `n` segments from `first`, the cursor's bytes from `skip` on, at
  /// most `remaining` of them.
  ///
  /// The state is copied into locals for the loop and back at every exit:
  /// worked on in place, through the closure that hands over the run, it
  /// stayed in memory and every field was loaded and stored a piece.
  @inlinable @inline(__always)
  internal mutating func feed(
    _ first: UnsafePointer<IterSegment>, _ n: Int, translator: Translator
  ) -> _DirectStep {
    let base = unsafe self.base
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
    let windowFlags = self.windowFlags
    let windowRegion = self.windowRegion
    var remaining = self.remaining
    var skip = self.skip
    var count = self.count
    var bytes = self.bytes
    var lastEnd = self.lastEnd
    var lastLength = self.lastLength
    var openMax = self.openMax
    var openFlags = self.openFlags
    var openRegion = self.openRegion
    var step = _DirectStep.next
    var k = 0
    segments: while k < n {
      let segment = unsafe first[k]
      var length = segment.count &- skip
      if length > remaining { length = remaining }
      if length > 0 {
        guard let start = unsafe segment.base else {
          step = .fallBack
          break segments
        }
        let address = UInt(bitPattern: start) &+ UInt(bitPattern: skip)
        if (address | UInt(bitPattern: length)) & alignMask != 0 {
          step = .fallBack
          break segments
        }
        var done = 0
        while done < length {
          let lookup = (address &+ UInt(bitPattern: done)) & ~tagMask
          let left = length &- done
          // Translate: by arithmetic inside the window, by a call outside it.
          var p: UInt64
          var runLength: Int
          var flags: BioVecFlags
          var region: UInt32
          let inWindow = lookup &- windowStart
          if inWindow < windowCount {
            let rest = windowCount &- inWindow
            p = windowDevice &+ UInt64(inWindow)
            runLength = rest < UInt(left) ? Int(rest) : left
            flags = windowFlags
            region = windowRegion
          } else {
            let run: PhysicalRun
            do throws(DMAError) {
              run = try translator.translate(lookup, length: left)
            } catch {
              step = .fallBack
              break segments
            }
            guard run.length >= 1, run.length <= left else {
              step = .fallBack
              break segments
            }
            p = run.address
            runLength = run.length
            flags = run.attributes
            region = run.region
          }
          // The split/merge of `_RequestBuilder.add`, without the bounce
          // cases (a misaligned piece never gets here).
          var rest = UInt64(truncatingIfNeeded: runLength)
          while rest > 0 {
            let room = UInt64(truncatingIfNeeded: maxBytes &- bytes)
            if room == 0 {
              self.end = .maxBytes
              step = .done
              break segments
            }
            if count > 0 && lastEnd == p && lastLength < openMax && flags == openFlags && region == openRegion {
              let take = Swift.min(rest, openMax &- lastLength, room)
              lastLength &+= take
              lastEnd &+= take
              unsafe base[count &- 1].length = UInt32(truncatingIfNeeded: lastLength)
              bytes &+= Int(truncatingIfNeeded: take)
              p &+= take
              rest &-= take
              continue
            }
            if count == maxSegments {
              self.end = .maxSegments
              step = .done
              break segments
            }
            if vbm != 0 && count > 0 && (lastEnd | p) & vbm != 0 {
              self.end = .virtBoundaryGap
              step = .done
              break segments
            }
            let segment = Swift.min(boundaryMask &- (boundaryMask & p), segmentMax) &+ 1
            let take = Swift.min(rest, segment, room)
            unsafe (base + count).initialize(
              to: BioVec(address: p, length: UInt32(truncatingIfNeeded: take), flags: flags))
            count &+= 1
            lastEnd = p &+ take
            lastLength = take
            openMax = segment
            openFlags = flags
            openRegion = region
            bytes &+= Int(truncatingIfNeeded: take)
            p &+= take
            rest &-= take
          }
          done &+= runLength
        }
        remaining &-= length
        if remaining == 0 {
          step = .done
          break segments
        }
      } else if length < 0 {
        step = .fallBack
        break segments
      }
      skip = 0
      k &+= 1
    }
    self.remaining = remaining
    self.skip = skip
    self.count = count
    self.bytes = bytes
    self.lastEnd = lastEnd
    self.lastLength = lastLength
    self.openMax = openMax
    self.openFlags = openFlags
    self.openRegion = openRegion
    return step
  }
}

extension BioVecMapper {
  /// Builds the next request of `iter` into `request` by the direct walk and
  /// moves `iter` past the bytes it took (before the cut to the block size);
  /// returns `false`, with neither changed, when the general path must do it.
  @inlinable @inline(__always)
  internal func _mapDirect<S: IterSegmentSource>(
    _ iter: inout IovIter<S>, into request: inout BioVecRequest
  ) -> Bool {
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
      do throws(IterError) { try iter.restore(saved) } catch { preconditionFailure("its own state: \(error)") }
      return false
    }
    request._count = walk.count
    request._byteCount = walk.bytes
    request._end = walk.end
    return true
  }
}
