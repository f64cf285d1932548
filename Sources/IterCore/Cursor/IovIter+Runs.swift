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
