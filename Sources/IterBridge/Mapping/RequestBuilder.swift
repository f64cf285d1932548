//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// The state of one request while ``BioVecMapper`` builds it. It lives in
/// memory that ``BioVecRequest`` allocates once, next to its chunks, and is
/// read and written through a pointer, as a C loop keeps its state in a
/// struct: kept in locals, the optimiser spread its nine fields over
/// registers and stack slots and copied them at every loop edge (about half
/// of the instructions a chunk were such copies).
@usableFromInline
internal struct _RequestState {
  /// The chunks and bytes so far, and why the request ended (`.endOfInput` while it has not).
  @usableFromInline internal var count = 0
  @usableFromInline internal var bytes = 0
  @usableFromInline internal var end: RequestEnd = .endOfInput
  /// The open (last) chunk: how long it may grow (its boundary window and
  /// `max_segment_size`), its memory region, and the piece that opened it
  /// (bounced chunks merge only within their piece).
  @usableFromInline internal var openMax: UInt64 = 0
  @usableFromInline internal var openRegion: UInt32 = 0
  @usableFromInline internal var openPiece = -1
  /// The pieces fed so far (named by ``DMAError/misaligned(piece:offset:address:length:alignmentMask:)``).
  @usableFromInline internal var piece = 0
  /// The mapper's limits, copied in for the request.
  @usableFromInline internal var maxBytes = 0
  @usableFromInline internal var maxSegments = 0
  @usableFromInline internal var vbm: UInt64 = 0
  @usableFromInline internal var boundaryMask: UInt64 = 0
  /// `max_segment_size - 1` (the `+ 1` comes after the minimum, as in
  /// `get_max_segment_size`, so an all-ones boundary mask does not overflow).
  @usableFromInline internal var segmentMax: UInt64 = 0
  /// The error that stopped the walk. Kept here rather than in a local
  /// captured by the walk's closure: a local `DMAError?` lived in six
  /// registers through the walk and was saved and restored around every
  /// translation.
  @usableFromInline internal var failure: DMAError? = nil

  @inlinable
  internal init() {}
}

/// Builds one request into a ``BioVecRequest``'s chunks and state, by the
/// rules of the kernel's `blk_map_iter_next` and `bio_split_rw_at`, as
/// ``BioVecMapper`` describes them.
@usableFromInline
@safe
internal struct _RequestBuilder {
  @usableFromInline internal let _base: UnsafeMutablePointer<BioVec>
  @usableFromInline internal let _s: UnsafeMutablePointer<_RequestState>

  @inlinable
  internal init(
    base: UnsafeMutablePointer<BioVec>, state: UnsafeMutablePointer<_RequestState>, maxBytes: Int,
    maxSegments: Int, virtBoundaryMask: UInt64, boundaryMask: UInt64, segmentMax: UInt64
  ) {
    unsafe _base = base
    unsafe _s = state
    let s = unsafe state
    unsafe s.pointee.count = 0
    unsafe s.pointee.bytes = 0
    unsafe s.pointee.end = .endOfInput
    unsafe s.pointee.openMax = 0
    unsafe s.pointee.openRegion = 0
    unsafe s.pointee.openPiece = -1
    unsafe s.pointee.piece = 0
    unsafe s.pointee.maxBytes = maxBytes
    unsafe s.pointee.maxSegments = maxSegments
    unsafe s.pointee.vbm = virtBoundaryMask
    unsafe s.pointee.boundaryMask = boundaryMask
    unsafe s.pointee.segmentMax = segmentMax
  }

  /// Records the error that stops the walk (the first one).
  @inlinable
  internal func fail(_ error: DMAError) {
    if unsafe _s.pointee.failure == nil { unsafe _s.pointee.failure = error }
  }

  /// Takes the recorded error, if any, and clears it.
  @inlinable @inline(__always)
  internal func takeFailure() -> DMAError? {
    guard unsafe _s.pointee.failure != nil else { return nil }
    defer { unsafe _s.pointee.failure = nil }
    return unsafe _s.pointee.failure
  }

  /// Writes the counts and the end into `request` (the chunks are there already).
  @inlinable @inline(__always)
  internal func commit(into request: inout BioVecRequest) {
    request._count = unsafe _s.pointee.count
    request._byteCount = unsafe _s.pointee.bytes
    request._end = unsafe _s.pointee.end
  }

  /// Whether the open chunk can take `length` more bytes at `address` with
  /// `flags` from `region`: it ends there, has room, and is the same memory.
  @inlinable @inline(__always)
  internal func _extends(_ address: UInt64, flags: BioVecFlags, region: UInt32) -> Bool {
    let s = unsafe _s
    let last = unsafe _base[s.pointee.count &- 1]
    return unsafe region == s.pointee.openRegion && last.flags == flags && last.endAddress == address
      && UInt64(last.length) < s.pointee.openMax
  }

  /// Why a new chunk at `address` cannot start: `max_segments`, or a gap at
  /// the virt boundary; `nil` when it can.
  @inlinable @inline(__always)
  internal func _refusesNewChunk(at address: UInt64) -> RequestEnd? {
    let s = unsafe _s
    let count = unsafe s.pointee.count
    if unsafe count == s.pointee.maxSegments { return .maxSegments }
    let vbm = unsafe s.pointee.vbm
    if vbm != 0 && count > 0 && (unsafe _base[count &- 1].endAddress | address) & vbm != 0 {
      return .virtBoundaryGap
    }
    return nil
  }

  /// Whether the request takes the first byte of `run` (unflagged); sets the
  /// end when it does not.
  @inlinable @inline(__always)
  internal mutating func takes(_ run: PhysicalRun) -> Bool {
    let s = unsafe _s
    if unsafe s.pointee.bytes == s.pointee.maxBytes {
      unsafe s.pointee.end = .maxBytes
      return false
    }
    if unsafe s.pointee.count > 0 && _extends(run.address, flags: run.attributes, region: run.region) {
      return true
    }
    if let end = _refusesNewChunk(at: run.address) {
      unsafe s.pointee.end = end
      return false
    }
    return true
  }

  /// Adds one physical run; returns the bytes taken (fewer when the request
  /// ends inside it, with the end set).
  @inlinable @inline(__always)
  internal mutating func add(_ run: PhysicalRun, flags: BioVecFlags, bounce: Bool) -> Int {
    // `run.length` is at least 1 and the bytes at most `maxBytes`, so none of
    // the arithmetic below can overflow; `openMax` and so every chunk length
    // is at most `UInt32.max`.
    let s = unsafe _s
    let length = run.length
    var done = 0
    while done < length {
      let p = run.address &+ UInt64(truncatingIfNeeded: done)
      let left = UInt64(truncatingIfNeeded: length &- done)
      let room = unsafe UInt64(truncatingIfNeeded: s.pointee.maxBytes &- s.pointee.bytes)
      if room == 0 {
        unsafe s.pointee.end = .maxBytes
        return done
      }
      let count = unsafe s.pointee.count
      if unsafe count > 0 && (!bounce || s.pointee.openPiece == s.pointee.piece)
        && run.region == s.pointee.openRegion
      {
        let last = unsafe _base + (count &- 1)
        let have = unsafe last.pointee.length
        if unsafe last.pointee.flags == flags && last.pointee.address &+ UInt64(have) == p
          && UInt64(have) < s.pointee.openMax
        {
          let take = unsafe Swift.min(left, s.pointee.openMax &- UInt64(have), room)
          unsafe last.pointee.length = have &+ UInt32(truncatingIfNeeded: take)
          unsafe s.pointee.bytes &+= Int(truncatingIfNeeded: take)
          done &+= Int(truncatingIfNeeded: take)
          continue
        }
      }
      if unsafe count == s.pointee.maxSegments {
        unsafe s.pointee.end = .maxSegments
        return done
      }
      let vbm = unsafe s.pointee.vbm
      if vbm != 0 && count > 0 && (unsafe _base[count &- 1].endAddress | p) & vbm != 0 {
        unsafe s.pointee.end = .virtBoundaryGap
        return done
      }
      let mask = unsafe s.pointee.boundaryMask
      let segment = unsafe Swift.min(mask &- (mask & p), s.pointee.segmentMax) &+ 1
      let take = Swift.min(left, segment, room)
      unsafe (_base + count).initialize(to: BioVec(address: p, length: UInt32(truncatingIfNeeded: take), flags: flags))
      unsafe s.pointee.count = count &+ 1
      unsafe s.pointee.openPiece = s.pointee.piece
      unsafe s.pointee.openMax = segment
      unsafe s.pointee.openRegion = run.region
      unsafe s.pointee.bytes &+= Int(truncatingIfNeeded: take)
      done &+= Int(truncatingIfNeeded: take)
    }
    return done
  }
}
