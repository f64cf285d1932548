//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

// MARK: - Bulk segment access for array-backed kinds

extension ContiguousArray where Element == IterSegment {
  /// Calls `body` with the segments from `index` to the end, for a kind that
  /// keeps its segments in this array and implements
  /// ``IterSegmentSource/withContiguousSegments(from:_:)`` by forwarding here.
  ///
  /// - Parameters:
  ///   - index: The first segment of the run.
  ///   - body: Walks the run.
  /// - Returns: What `body` returned, or `nil` (without calling `body`) when
  ///   `index` is outside `0 ..< count`.
  /// - Complexity: O(1), plus `body`'s cost.
  @inlinable
  public func withContiguousSegments<R, E: Error>(
    from index: Int, _ body: (UnsafeBufferPointer<IterSegment>) throws(E) -> R
  ) throws(E) -> R? {
    guard index >= 0 && index < count else { return nil }
    return try unsafe withUnsafeBufferPointer { (all) throws(E) -> R in
      try unsafe body(UnsafeBufferPointer(start: all.baseAddress.unsafelyUnwrapped + index, count: all.count &- index))
    }
  }
}

extension IterSegmentSource {
  /// Calls `body` with the run of segments that starts at `index`, where
  /// `0 <= index < end` and `end <= segmentCount`: the kind's bulk run cut at
  /// `end`, or, when the kind hands none (or an empty one), the single segment
  /// ``segment(at:)`` gives. `body` gets the first segment and how many there
  /// are (at least 1), and reads none past them.
  @inlinable @inline(__always)
  internal func _withRun<R, E: Error>(
    at index: Int, end: Int, _ body: (UnsafePointer<IterSegment>, Int) throws(E) -> R
  ) throws(E) -> R {
    let bulk = try unsafe withContiguousSegments(from: index) { (run) throws(E) -> R? in
      let n = Swift.min(run.count, end &- index)
      guard n > 0, let first = run.baseAddress else { return nil }
      return try unsafe body(first, n)
    }
    if let bulk, let result = bulk { return result }
    var segment = segment(at: index)
    return try unsafe withUnsafePointer(to: &segment) { (one) throws(E) -> R in try unsafe body(one, 1) }
  }
}

// MARK: - The copy walk

extension IovIter {
  /// Copies up to `length` bytes between `flat` and the segments (into them
  /// when `intoSegments`, out of them otherwise) and moves past them: the
  /// moves of ``_walk(_:_:)`` with a step that copies, in a loop of its own.
  ///
  /// A whole segment that fits takes the short path (copy, count, next); the
  /// rest (the last piece, an empty or memoryless segment, one that shrank
  /// under the cursor) takes the general one. Out of the segments, a segment
  /// without memory stops the walk, as a step that handles 0 bytes does.
  /// Returns the bytes copied; fewer than asked when the source's segments
  /// end or shrink under the cursor.
  @inlinable @inline(__always)
  internal mutating func _copyWalk(_ length: Int, _ flat: UnsafeMutableRawPointer, intoSegments: Bool) -> Int {
    var remaining = Swift.min(length, _count)
    guard remaining > 0 else { return 0 }
    var index = _index
    var skip = _offset
    var at = unsafe flat
    let end = _source.segmentCount
    var stopped = false
    while !stopped && index < end {
      stopped = unsafe _source._withRun(at: index, end: end) { (run, n) throws(Never) -> Bool in
        var p = unsafe run
        let last = unsafe run + n
        repeat {
          let segment = unsafe p.pointee
          let available = segment.count &- skip
          if let base = unsafe segment.base, available > 0, available <= remaining {
            if intoSegments {
              unsafe _iterCopy(base + skip, at, available)
            } else {
              unsafe _iterCopy(at, base + skip, available)
            }
            unsafe at += available
            remaining &-= available
          } else if available > 0 {
            // The last piece, or a segment without memory.
            let part = Swift.min(available, remaining)
            if let base = unsafe segment.base {
              // Once a walk at most: memmove keeps the loop small enough to inline.
              if intoSegments {
                unsafe (base + skip).copyMemory(from: at, byteCount: part)
              } else {
                unsafe at.copyMemory(from: base + skip, byteCount: part)
              }
            } else if !intoSegments {
              index &+= unsafe p - run
              return true
            }
            unsafe at += part
            remaining &-= part
            if part < available {
              skip &+= part
              index &+= unsafe p - run
              return true
            }
          } else if available < 0 {
            index &+= unsafe p - run
            return true  // shorter than the offset into it, or a negative length: changed underneath
          }
          skip = 0
          unsafe p += 1
        } while remaining > 0 && (unsafe p < last)
        index &+= unsafe p - run
        return remaining == 0
      }
    }
    let progress = unsafe at - flat
    _index = index
    _offset = skip
    _count &-= progress
    _consumed &+= progress
    return progress
  }

  /// ``_copyWalk(_:_:intoSegments:)``, throwing
  /// ``IterError/sourceChanged(segmentIndex:remaining:reason:)`` with the
  /// cursor as it was when the segments no longer hold the cursor's count
  /// (the bytes before the break were copied), as ``_walkChecked(_:_:)`` does.
  @inlinable @inline(__always)
  internal mutating func _copyWalkChecked(
    _ length: Int, _ flat: UnsafeMutableRawPointer, intoSegments: Bool
  ) throws(IterError) -> Int {
    let wanted = Swift.min(length, _count)
    let saved = (_index, _offset, _count, _consumed)
    let done = unsafe _copyWalk(length, flat, intoSegments: intoSegments)
    if _slowPath(done < wanted) {
      let stopped = _index
      (_index, _offset, _count, _consumed) = saved
      throw _sourceChanged(at: stopped, remaining: wanted &- done)
    }
    return done
  }
}

// MARK: - Small copies inline

/// Copies `count` bytes from `from` to `to`, as `memmove` does (the ranges
/// may overlap).
///
/// A copy of at most 128 bytes is done inline, chosen by length: it loads
/// every byte before it stores any, in overlapping moves of the widest size
/// that fits (two of 1, 2, 4 or 8 bytes; two, four or eight of 16). A longer
/// one calls `memmove`. The limit was measured with iter-compare and a
/// per-size loop on x86-64 (see Docs/Benchmarks.md): up to 128 bytes the
/// inline copy beats the libc call, above it `memmove`'s own loop wins.
@inlinable @inline(__always)
internal func _iterCopy(_ to: UnsafeMutableRawPointer, _ from: UnsafeRawPointer, _ count: Int) {
  typealias V = SIMD16<UInt8>
  if count <= 16 {
    if count >= 8 {
      let a = unsafe from.loadUnaligned(as: UInt64.self)
      let b = unsafe from.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
      unsafe to.storeBytes(of: a, as: UInt64.self)
      unsafe to.storeBytes(of: b, toByteOffset: count &- 8, as: UInt64.self)
    } else if count >= 4 {
      let a = unsafe from.loadUnaligned(as: UInt32.self)
      let b = unsafe from.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self)
      unsafe to.storeBytes(of: a, as: UInt32.self)
      unsafe to.storeBytes(of: b, toByteOffset: count &- 4, as: UInt32.self)
    } else if count >= 2 {
      let a = unsafe from.loadUnaligned(as: UInt16.self)
      let b = unsafe from.loadUnaligned(fromByteOffset: count &- 2, as: UInt16.self)
      unsafe to.storeBytes(of: a, as: UInt16.self)
      unsafe to.storeBytes(of: b, toByteOffset: count &- 2, as: UInt16.self)
    } else if count == 1 {
      unsafe to.storeBytes(of: from.load(as: UInt8.self), as: UInt8.self)
    }
  } else if count <= 32 {
    let a = unsafe from.loadUnaligned(as: V.self)
    let b = unsafe from.loadUnaligned(fromByteOffset: count &- 16, as: V.self)
    unsafe to.storeBytes(of: a, as: V.self)
    unsafe to.storeBytes(of: b, toByteOffset: count &- 16, as: V.self)
  } else if count <= 64 {
    let a = unsafe from.loadUnaligned(as: V.self)
    let b = unsafe from.loadUnaligned(fromByteOffset: 16, as: V.self)
    let c = unsafe from.loadUnaligned(fromByteOffset: count &- 32, as: V.self)
    let d = unsafe from.loadUnaligned(fromByteOffset: count &- 16, as: V.self)
    unsafe to.storeBytes(of: a, as: V.self)
    unsafe to.storeBytes(of: b, toByteOffset: 16, as: V.self)
    unsafe to.storeBytes(of: c, toByteOffset: count &- 32, as: V.self)
    unsafe to.storeBytes(of: d, toByteOffset: count &- 16, as: V.self)
  } else if count <= 128 {
    let a = unsafe from.loadUnaligned(as: V.self)
    let b = unsafe from.loadUnaligned(fromByteOffset: 16, as: V.self)
    let c = unsafe from.loadUnaligned(fromByteOffset: 32, as: V.self)
    let d = unsafe from.loadUnaligned(fromByteOffset: 48, as: V.self)
    let e = unsafe from.loadUnaligned(fromByteOffset: count &- 64, as: V.self)
    let f = unsafe from.loadUnaligned(fromByteOffset: count &- 48, as: V.self)
    let g = unsafe from.loadUnaligned(fromByteOffset: count &- 32, as: V.self)
    let h = unsafe from.loadUnaligned(fromByteOffset: count &- 16, as: V.self)
    unsafe to.storeBytes(of: a, as: V.self)
    unsafe to.storeBytes(of: b, toByteOffset: 16, as: V.self)
    unsafe to.storeBytes(of: c, toByteOffset: 32, as: V.self)
    unsafe to.storeBytes(of: d, toByteOffset: 48, as: V.self)
    unsafe to.storeBytes(of: e, toByteOffset: count &- 64, as: V.self)
    unsafe to.storeBytes(of: f, toByteOffset: count &- 48, as: V.self)
    unsafe to.storeBytes(of: g, toByteOffset: count &- 32, as: V.self)
    unsafe to.storeBytes(of: h, toByteOffset: count &- 16, as: V.self)
  } else {
    unsafe to.copyMemory(from: from, byteCount: count)
  }
}
