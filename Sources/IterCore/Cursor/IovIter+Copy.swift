//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

// MARK: - Copy into the iterator (copy_to_iter)

extension IovIter {
  @inlinable
  internal func _requireDirection(_ expected: IterDirection, _ operation: String) throws(IterError) {
    guard _direction == expected else {
      throw .wrongDirection(operation: operation, direction: _direction)
    }
  }

  /// Copies `bytes` into the cursor's segments and moves past them.
  ///
  /// Copies `min(bytes.count, count)` bytes; into a segment without memory
  /// (discard) the bytes are consumed and dropped.
  ///
  /// - Parameter bytes: The bytes to copy in.
  /// - Returns: The number of bytes copied.
  /// - Throws: ``IterError/wrongDirection(operation:direction:)`` on a
  ///   ``IterDirection/source`` cursor (the kernel warns and returns 0);
  ///   ``IterError/sourceChanged(segmentIndex:remaining:reason:)`` when the
  ///   source's segments no longer hold the cursor's count (the cursor is
  ///   unchanged; the bytes before the break were written).
  /// - Complexity: O(*m* + *s*) for *m* bytes over *s* segments.
  ///
  /// The corresponding kernel function is `copy_to_iter`.
  @inlinable
  @discardableResult
  public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(IterError) -> Int {
    try _requireDirection(.destination, "copy_to_iter")
    guard let from = bytes.baseAddress else { return 0 }
    return try unsafe _copyWalkChecked(bytes.count, UnsafeMutableRawPointer(mutating: from), intoSegments: true)
  }

  /// Copies `bytes` into the cursor's segments; see ``write(_:)-(UnsafeRawBufferPointer)``.
  ///
  /// The corresponding kernel function is `copy_to_iter`.
  @inlinable
  @discardableResult
  public mutating func write(_ bytes: RawSpan) throws(IterError) -> Int {
    try unsafe bytes.withUnsafeBytes { (buffer) throws(IterError) -> Int in
      try unsafe write(buffer)
    }
  }

  /// Copies `bytes` into the cursor's segments; see ``write(_:)-(UnsafeRawBufferPointer)``.
  ///
  /// The corresponding kernel function is `copy_to_iter`.
  @inlinable
  @discardableResult
  public mutating func write(_ bytes: [UInt8]) throws(IterError) -> Int {
    try write(unsafe bytes.span.bytes)
  }

  /// Copies all of `bytes` into the cursor, or nothing.
  ///
  /// Unlike the kernel, which copies what fits and then reverts the cursor
  /// (leaving those bytes written in the destination), this checks first and
  /// writes nothing when `bytes` does not fit.
  ///
  /// - Throws: ``IterError/insufficientBytes(requested:remaining:)`` when
  ///   ``count`` is less than `bytes.count`;
  ///   ``IterError/wrongDirection(operation:direction:)`` on a source cursor.
  /// - Complexity: O(*m* + *s*).
  ///
  /// The corresponding kernel function is `copy_to_iter_full`.
  @inlinable
  public mutating func writeFull(_ bytes: UnsafeRawBufferPointer) throws(IterError) {
    try _requireDirection(.destination, "copy_to_iter_full")
    guard bytes.count <= _count else {
      throw .insufficientBytes(requested: bytes.count, remaining: _count)
    }
    try unsafe write(bytes)
  }

  /// Copies all of `bytes` into the cursor, or nothing; see ``writeFull(_:)-(UnsafeRawBufferPointer)``.
  ///
  /// The corresponding kernel function is `copy_to_iter_full`.
  @inlinable
  public mutating func writeFull(_ bytes: RawSpan) throws(IterError) {
    try unsafe bytes.withUnsafeBytes { (buffer) throws(IterError) in try unsafe writeFull(buffer) }
  }

  /// Copies all of `bytes` into the cursor, or nothing; see ``writeFull(_:)-(UnsafeRawBufferPointer)``.
  ///
  /// The corresponding kernel function is `copy_to_iter_full`.
  @inlinable
  public mutating func writeFull(_ bytes: [UInt8]) throws(IterError) {
    try writeFull(unsafe bytes.span.bytes)
  }

  /// Writes `n` zero bytes into the cursor (clamped to ``count``).
  ///
  /// - Returns: The number of bytes zeroed.
  /// - Throws: ``IterError/negativeCount(argument:value:)`` for a negative `n`;
  ///   ``IterError/wrongDirection(operation:direction:)`` on a source cursor
  ///   (the kernel does not check; writing into a source is the misuse
  ///   `copy_to_iter` refuses).
  /// - Complexity: O(*n* + *s*).
  ///
  /// The corresponding kernel function is `iov_iter_zero`.
  @inlinable
  @discardableResult
  public mutating func zero(_ n: Int) throws(IterError) -> Int {
    guard n >= 0 else { throw .negativeCount(argument: "n", value: n) }
    try _requireDirection(.destination, "iov_iter_zero")
    return try unsafe _walkChecked(n) { (to, n, _) throws(Never) -> Int in
      if let to = unsafe to { unsafe to.initializeMemory(as: UInt8.self, repeating: 0, count: n) }
      return n
    }
  }
}

// MARK: - Copy out of the iterator (copy_from_iter)

extension IovIter {
  /// Copies bytes out of the cursor's segments into `buffer` and moves past them.
  ///
  /// Copies `min(buffer.count, count)` bytes to the front of `buffer`.
  ///
  /// - Returns: The number of bytes copied.
  /// - Throws: ``IterError/wrongDirection(operation:direction:)`` on a
  ///   ``IterDirection/destination`` cursor (the kernel warns and returns 0);
  ///   ``IterError/sourceChanged(segmentIndex:remaining:reason:)`` when the
  ///   source's segments no longer hold the cursor's count (the cursor is
  ///   unchanged).
  /// - Complexity: O(*m* + *s*).
  ///
  /// The corresponding kernel function is `copy_from_iter`.
  @inlinable
  @discardableResult
  public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(IterError) -> Int {
    try _requireDirection(.source, "copy_from_iter")
    guard let to = buffer.baseAddress else { return 0 }
    return try unsafe _copyWalkChecked(buffer.count, to, intoSegments: false)
  }

  /// Copies bytes out of the cursor into the front of `span`; see
  /// ``read(into:)-(UnsafeMutableRawBufferPointer)``.
  ///
  /// The corresponding kernel function is `copy_from_iter`.
  @inlinable
  @discardableResult
  public mutating func read(into span: inout MutableRawSpan) throws(IterError) -> Int {
    try unsafe span.withUnsafeMutableBytes { (buffer) throws(IterError) -> Int in
      try unsafe read(into: buffer)
    }
  }

  /// Appends bytes out of the cursor to `output`, up to its free capacity.
  ///
  /// Only initialised bytes are ever exposed: the bytes copied become
  /// `output`'s newly initialised bytes.
  ///
  /// - Returns: The number of bytes appended.
  /// - Throws: ``IterError/wrongDirection(operation:direction:)`` on a destination cursor.
  /// - Complexity: O(*m* + *s*).
  ///
  /// The corresponding kernel function is `copy_from_iter`.
  @inlinable
  @discardableResult
  public mutating func read(into output: inout OutputRawSpan) throws(IterError) -> Int {
    try _requireDirection(.source, "copy_from_iter")
    var failure: IterError? = nil
    let n = unsafe output.withUnsafeMutableBytes { (buffer, initialized) -> Int in
      let free = unsafe UnsafeMutableRawBufferPointer(rebasing: buffer[initialized...])
      do throws(IterError) {
        let n = try unsafe read(into: free)
        initialized += n
        return n
      } catch {
        failure = error
        return 0
      }
    }
    if let failure { throw failure }
    return n
  }

  /// Copies up to `n` bytes out of the cursor into a new array.
  ///
  /// - Returns: The bytes copied: `min(n, count)` of them.
  /// - Throws: ``IterError/negativeCount(argument:value:)`` for a negative `n`;
  ///   ``IterError/wrongDirection(operation:direction:)`` on a destination cursor.
  /// - Complexity: O(*n* + *s*).
  ///
  /// The corresponding kernel function is `copy_from_iter`.
  @inlinable
  public mutating func read(upTo n: Int) throws(IterError) -> [UInt8] {
    guard n >= 0 else { throw .negativeCount(argument: "n", value: n) }
    try _requireDirection(.source, "copy_from_iter")
    let wanted = Swift.min(n, _count)
    var failure: IterError? = nil
    let bytes = unsafe [UInt8](unsafeUninitializedCapacity: wanted) { buffer, initialized in
      do throws(IterError) {
        initialized = try unsafe read(into: UnsafeMutableRawBufferPointer(buffer))
      } catch {
        failure = error
        initialized = 0
      }
    }
    if let failure { throw failure }
    return bytes
  }

  /// Fills all of `buffer` from the cursor, or copies nothing.
  ///
  /// Unlike the kernel, which copies what there is and reverts the cursor,
  /// this checks first and leaves `buffer` untouched when too few bytes remain.
  ///
  /// - Throws: ``IterError/insufficientBytes(requested:remaining:)`` when
  ///   ``count`` is less than `buffer.count`;
  ///   ``IterError/wrongDirection(operation:direction:)`` on a destination cursor.
  /// - Complexity: O(*m* + *s*).
  ///
  /// The corresponding kernel function is `copy_from_iter_full`.
  @inlinable
  public mutating func readFull(into buffer: UnsafeMutableRawBufferPointer) throws(IterError) {
    try _requireDirection(.source, "copy_from_iter_full")
    guard buffer.count <= _count else {
      throw .insufficientBytes(requested: buffer.count, remaining: _count)
    }
    try unsafe read(into: buffer)
  }

  /// Fills all of `span` from the cursor, or copies nothing; see
  /// ``readFull(into:)-(UnsafeMutableRawBufferPointer)``.
  ///
  /// The corresponding kernel function is `copy_from_iter_full`.
  @inlinable
  public mutating func readFull(into span: inout MutableRawSpan) throws(IterError) {
    try unsafe span.withUnsafeMutableBytes { (buffer) throws(IterError) in
      try unsafe readFull(into: buffer)
    }
  }

  /// Copies exactly `n` bytes out of the cursor into a new array, or nothing.
  ///
  /// - Throws: ``IterError/insufficientBytes(requested:remaining:)``,
  ///   ``IterError/negativeCount(argument:value:)`` or
  ///   ``IterError/wrongDirection(operation:direction:)``.
  /// - Complexity: O(*n* + *s*).
  ///
  /// The corresponding kernel function is `copy_from_iter_full`.
  @inlinable
  public mutating func readFull(count n: Int) throws(IterError) -> [UInt8] {
    guard n >= 0 else { throw .negativeCount(argument: "count", value: n) }
    try _requireDirection(.source, "copy_from_iter_full")
    guard n <= _count else { throw .insufficientBytes(requested: n, remaining: _count) }
    return try read(upTo: n)
  }
}

// MARK: - Iterator to iterator

extension IovIter {
  /// Copies bytes from a source cursor into this destination cursor; the two
  /// may cut the bytes at different segment boundaries.
  ///
  /// Copies `min(maxCount, count, other.count)` bytes and moves both cursors
  /// past them. Into a segment without memory (discard) the bytes are consumed.
  ///
  /// - Parameters:
  ///   - other: A ``IterDirection/source`` cursor of any kind.
  ///   - maxCount: At most this many bytes; the default is no limit.
  /// - Returns: The number of bytes copied.
  /// The two cursors must not share memory: when any byte of the source lies
  /// in the destination's memory the copy is refused with
  /// ``IterError/overlappingCopy(destinationAddress:sourceAddress:count:)``
  /// and nothing is written. (A piecewise copy over shared memory could read
  /// bytes it had already overwritten; copy through a buffer of your own to
  /// move bytes within one buffer.) Telling costs two passes over the
  /// segments' addresses, and a sort only when their address hulls meet.
  ///
  /// - Throws: ``IterError/wrongDirection(operation:direction:)`` unless this
  ///   cursor is a destination and `other` a source;
  ///   ``IterError/negativeCount(argument:value:)`` for a negative `maxCount`;
  ///   ``IterError/overlappingCopy(destinationAddress:sourceAddress:count:)``;
  ///   ``IterError/sourceChanged(segmentIndex:remaining:reason:)`` when
  ///   either side's segments no longer hold its count.
  ///   Neither cursor changes when it throws.
  /// - Complexity: O(*m* + *s* + *t*) for *m* bytes over *s* and *t* segments.
  ///
  /// The kernel has no such call; SPDK's `spdk_iovcpy` and Rust `bytes`'
  /// `BufMut::put` do the same.
  @inlinable
  @discardableResult
  public mutating func copy<Other: IterSegmentSource>(
    from other: inout IovIter<Other>, maxCount: Int = .max
  ) throws(IterError) -> Int {
    guard maxCount >= 0 else { throw .negativeCount(argument: "maxCount", value: maxCount) }
    try _requireDirection(.destination, "copy to iterator")
    try other._requireDirection(.source, "copy from iterator")
    let n = Swift.min(maxCount, _count, other._count)
    guard n > 0 else { return 0 }
    if let overlap = _overlap(with: other, count: n) { throw overlap }
    let savedSelf = (_index, _offset, _count, _consumed)
    let savedOther = (other._index, other._offset, other._count, other._consumed)
    let done = _copyRuns(from: &other, n)
    if _slowPath(done < n) {
      // One side's segments no longer hold its count: undo both moves, then
      // find which side it was.
      (_index, _offset, _count, _consumed) = savedSelf
      (other._index, other._offset, other._count, other._consumed) = savedOther
      var probe = other
      let theirs = unsafe probe._walk(n) { (_, length, _) throws(Never) -> Int in length }
      if theirs < n { throw other._sourceChanged(at: probe._index, remaining: n &- theirs) }
      var mine = self
      let walked = unsafe mine._walk(n) { (_, length, _) throws(Never) -> Int in length }
      throw _sourceChanged(at: mine._index, remaining: n &- walked)
    }
    return done
  }

  /// Copies `n` bytes from `other` into this cursor, walking both sides'
  /// runs at once, and moves both past what it copied: the same moves as a
  /// walk of `other` whose step walks this cursor (a side that ends a segment
  /// exactly stands at the start of the next one), without a walk per chunk.
  /// It stops early at a source segment without memory, or where either
  /// side's segments end or shrink under it, and returns fewer than `n` then.
  @inlinable @inline(__always)
  internal mutating func _copyRuns<Other: IterSegmentSource>(from other: inout IovIter<Other>, _ n: Int) -> Int {
    var left = n
    var (si, so) = (other._index, other._offset)
    var (di, doff) = (_index, _offset)
    let send = other._source.segmentCount
    let dend = _source.segmentCount
    var going = true
    while going && si < send && di < dend {
      going = unsafe other._source._withRun(at: si, end: send) { (sources, sn) throws(Never) -> Bool in
        unsafe _source._withRun(at: di, end: dend) { (destinations, dn) throws(Never) -> Bool in
          // Each side's piece as a pointer (nil without memory) and the bytes
          // left in it; the offsets are worked out again where the walk stops.
          var (a, b) = (0, 0)
          var (fromCount, toCount) = unsafe (sources[0].count, destinations[0].count)
          var (sourceLeft, destinationLeft) = (fromCount &- so, toCount &- doff)
          var from = unsafe sources[0].base.map { unsafe UnsafeRawPointer($0) + so }
          var to = unsafe destinations[0].base.map { unsafe $0 + doff }
          var more = false
          while true {
            if _fastPath(sourceLeft > 0 && destinationLeft > 0) {
              guard let source = unsafe from else { break }
              let m = Swift.min(left, sourceLeft, destinationLeft)
              if let target = unsafe to {
                unsafe _iterCopy(target, source, m)
                unsafe to = target + m
              }
              unsafe from = source + m
              sourceLeft &-= m
              destinationLeft &-= m
              left &-= m
              if sourceLeft == 0 { a &+= 1 }
              if destinationLeft == 0 { b &+= 1 }
              if left == 0 { break }
              // Whole segments of one side that fit inside the other side's
              // piece (and leave bytes in it, and to copy) go in a loop of their
              // own: one unsigned compare takes a length in 1 ..< room, and a
              // segment that does not fit, or has no memory, goes back to the
              // step above.
              if sourceLeft == 0, destinationLeft > 0, var target = unsafe to {
                let taken = unsafe _wholeSegments(sources, at: &a, end: sn, room: Swift.min(destinationLeft, left)) {
                  unsafe _iterCopy(target, $0, $1)
                  unsafe target += $1
                }
                destinationLeft &-= taken
                left &-= taken
                unsafe to = target
              } else if destinationLeft == 0, sourceLeft > 0 {
                var at = unsafe source + m
                let taken = unsafe _wholeSegments(destinations, at: &b, end: dn, room: Swift.min(sourceLeft, left)) {
                  unsafe _iterCopy($0, at, $1)
                  unsafe at += $1
                }
                sourceLeft &-= taken
                left &-= taken
                unsafe from = at
              }
            } else {
              if sourceLeft < 0 || destinationLeft < 0 { break }  // changed underneath
              if sourceLeft == 0 { a &+= 1 }
              if destinationLeft == 0 { b &+= 1 }
            }
            if a == sn || b == dn {
              more = true
              break
            }
            if sourceLeft == 0 {
              let next = unsafe sources[a]
              (fromCount, sourceLeft) = (next.count, next.count)
              unsafe from = UnsafeRawPointer(next.base)
            }
            if destinationLeft == 0 {
              let next = unsafe destinations[b]
              (toCount, destinationLeft) = (next.count, next.count)
              unsafe to = unsafe next.base
            }
          }
          // A side that ended its piece stands at the start of the next one.
          (so, doff) = (
            sourceLeft == 0 ? 0 : fromCount &- sourceLeft, destinationLeft == 0 ? 0 : toCount &- destinationLeft
          )
          (si, di) = (si &+ a, di &+ b)
          return more
        }
      }
    }
    let done = n &- left
    (other._index, other._offset) = (si, so)
    (other._count, other._consumed) = (other._count &- done, other._consumed &+ done)
    (_index, _offset, _count, _consumed) = (di, doff, _count &- done, _consumed &+ done)
    return done
  }

  /// The memory ranges, as `(start, end)` addresses, of the next `n` bytes,
  /// without moving; segments without memory give none.
  @inlinable
  internal func _ranges(_ n: Int, _ body: (UInt, UInt) -> Void) {
    var probe = self
    _ = unsafe probe._walk(n) { (base, length, _) throws(Never) -> Int in
      if let base = unsafe base {
        let start = UInt(bitPattern: base)
        body(start, start &+ UInt(length))
      }
      return length
    }
  }

  /// The error for copying `n` bytes from `other` into this cursor when some
  /// byte of one lies in the memory of the other, or `nil`.
  ///
  /// Two passes find the address hulls of both sides; only when the hulls
  /// meet are the ranges compared one by one (sorted, then swept).
  @inlinable
  internal func _overlap<Other: IterSegmentSource>(with other: IovIter<Other>, count n: Int) -> IterError? {
    let (mine, theirs) = (_hull(n), other._hull(n))
    guard mine.low < theirs.high && theirs.low < mine.high else { return nil }
    return _overlapExactly(with: other, count: n)
  }

  /// The lowest and one past the highest address of the memory the next `n`
  /// bytes lie in, without moving; `(UInt.max, 0)` when none has memory.
  ///
  /// The first and last pieces are cut to the bytes; whole segments between
  /// them go in a loop of their own, with the bounds updated without a branch.
  /// It stops at a segment that changed underneath (the copy then finds it).
  @inlinable
  internal func _hull(_ n: Int) -> (low: UInt, high: UInt) {
    var low = UInt.max
    var high: UInt = 0
    var remaining = Swift.min(n, _count)
    var index = _index
    var skip = _offset
    let end = _source.segmentCount
    var going = remaining > 0
    while going && index < end {
      going = unsafe _source._withRun(at: index, end: end) { (run, count) throws(Never) -> Bool in
        var k = 0
        while k < count {
          if skip == 0 {
            // Whole segments with memory, not the last: a length in 1 ..< remaining.
            var p = unsafe run + k
            let last = unsafe run + count
            var (lowest, highest, left) = (low, high, remaining)
            while unsafe p < last {
              let length = unsafe p.pointee.count
              let address = UInt(bitPattern: unsafe p.pointee.base)
              guard UInt(bitPattern: length &- 1) < UInt(bitPattern: left &- 1), address != 0 else { break }
              lowest = Swift.min(lowest, address)
              highest = Swift.max(highest, address &+ UInt(bitPattern: length))
              left &-= length
              unsafe p += 1
            }
            (low, high, remaining) = (lowest, highest, left)
            k = unsafe p - run
            guard k < count else { break }
          }
          // The general step: the offset into the first, the last, an empty or
          // memoryless segment, or one that changed underneath.
          let segment = unsafe run[k]
          let part = Swift.min(remaining, segment.count &- skip)
          if part < 0 { return false }
          if part > 0, let base = unsafe segment.base {
            let start = UInt(bitPattern: base) &+ UInt(bitPattern: skip)
            low = Swift.min(low, start)
            high = Swift.max(high, start &+ UInt(bitPattern: part))
          }
          remaining &-= part
          skip = 0
          k &+= 1
          if remaining == 0 { return false }
        }
        index &+= count
        return true
      }
    }
    return (low, high)
  }

  /// ``_overlap(with:count:)`` once the hulls meet: the ranges of both sides,
  /// sorted, then swept.
  @inlinable
  internal func _overlapExactly<Other: IterSegmentSource>(with other: IovIter<Other>, count n: Int) -> IterError? {
    var mine: [(UInt, UInt)] = []
    var theirs: [(UInt, UInt)] = []
    _ranges(n) { mine.append(($0, $1)) }
    other._ranges(n) { theirs.append(($0, $1)) }
    mine.sort { $0.0 < $1.0 }
    theirs.sort { $0.0 < $1.0 }
    var i = 0
    var j = 0
    while i < mine.count && j < theirs.count {
      let (a, b) = (mine[i], theirs[j])
      if a.0 < b.1 && b.0 < a.1 {
        return .overlappingCopy(destinationAddress: a.0, sourceAddress: b.0, count: n)
      }
      if a.1 <= b.1 { i += 1 } else { j += 1 }
    }
    return nil
  }
}

/// Hands `body` the segments from `run[index]` on, advancing `index`, while
/// each has memory and a length in 1 ..< the room left (one unsigned compare:
/// an empty or negative length fails it); returns the bytes handed over.
@inlinable @inline(__always)
internal func _wholeSegments(
  _ run: UnsafePointer<IterSegment>, at index: inout Int, end: Int, room: Int,
  _ body: (UnsafeMutableRawPointer, Int) -> Void
) -> Int {
  var left = room
  while index < end {
    let next = unsafe run[index]
    guard UInt(bitPattern: next.count &- 1) < UInt(bitPattern: left &- 1), let base = unsafe next.base else { break }
    unsafe body(base, next.count)
    left &-= next.count
    index &+= 1
  }
  return room &- left
}
