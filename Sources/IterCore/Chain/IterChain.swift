//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// One member of a chain, as the chain keeps it.
@usableFromInline
internal struct _IterChainMember {
  /// The member's own source, for extraction.
  let source: any IterSegmentSource
  /// The index of the member's first segment in the chain.
  let firstSegment: Int
  /// The index, in the member's source, of that segment.
  let sourceFirstIndex: Int
  /// Where in that segment of the source the chain's first byte of the member is.
  let sourceFirstOffset: Int
  /// The chain's byte offset of the member's first byte.
  let startByte: Int
  /// The member's bytes in the chain.
  let byteCount: Int
}

/// The shared, append-only storage of a chain: the members' segments laid end
/// to end, so that a cursor steps through a chain as fast as through an array.
@usableFromInline
internal final class _IterChainStorage {
  @usableFromInline var segments: ContiguousArray<IterSegment> = []
  /// The chain's byte offset of each segment's first byte.
  var segmentStarts: ContiguousArray<Int> = []
  /// The member each segment belongs to.
  var memberOfSegment: ContiguousArray<Int> = []
  var members: [_IterChainMember] = []
  var byteCount = 0

  init() {}
}

/// A buffer made of members of any kinds, mixed freely: the kernel's proposed
/// `ITER_ITERLIST`, without its limits.
///
/// A chain is itself an ``IterSegmentSource``, so an ``IovIter`` over it has
/// the whole operation set across member boundaries, both ways: copies,
/// advance and revert into earlier members, truncate and reexpand, O(1) save
/// and restore, counts, alignment, npages, gather export (in member order:
/// a later member's bytes never come out before an earlier member's), split
/// and the chunk walker.
///
/// ```swift
/// let chain = IterChain(direction: .source)
/// try chain.append(headerKVecs)          // kernel-virtual memory
/// try chain.append(payloadBioVecs)       // page fragments
/// try chain.append(trailerCursor)        // what is left of a user-buffer cursor
/// var iter = try IovIter(chain, direction: .source)
/// ```
///
/// **A chain is a handle.** `IterChain` is a struct that holds a reference to
/// one shared, append-only storage, and ``append(_:)-(S)`` is not `mutating`:
/// every copy of a chain value, and every cursor built over it, sees what any
/// of them appends, as a `let` holding a class instance would. Make a new
/// chain (``init(direction:)``) for an independent one. This is what lets a
/// producer append while consumers walk, as the kernel's netfs grows a folio
/// queue under a live iterator.
///
/// - Members are sources of any kind (including kinds from outside the
///   package, and other chains: nesting and the same member twice are both
///   allowed, unlike `ITER_ITERLIST`), or cursors, whose remaining bytes (from
///   their position, up to their count) become the member. A chain appended
///   to a chain adds the members it holds over the appended range, so chains
///   never hold each other and no reference cycle can form.
/// - Every member must support the chain's direction; one that does not is
///   refused when it is appended, so a chain's members never disagree.
/// - The chain takes a member's segments when the member is appended; it does
///   not see a member grow later.
/// - Members can be appended while cursors walk the chain: the storage is
///   shared. A cursor takes the new bytes in with ``IovIter/extend(by:)``, or
///   append through the cursor with ``IovIter/append(_:)-(S)``.
/// - Extraction never returns a run that spans two members; each run carries
///   its member's retention (``retention(for:at:)`` says which), and the
///   caller releases each one: a mixed chain gives mixed retentions.
///
/// The segments are copied into the chain's own array when a member is
/// appended, so stepping costs what it costs over an array, whatever the mix:
/// no dynamic dispatch per segment step. Only extraction calls the member's
/// own code, once per run.
///
/// Not Sendable: its storage is shared by every copy and cursor and grows in place when anything appends, so two
/// tasks could see a half-appended member; use a chain and its cursors from one task at a time.
public struct IterChain: IterSegmentSource {
  @usableFromInline internal let _storage: _IterChainStorage

  /// The direction every member supports and every cursor over the chain uses.
  public let direction: IterDirection

  /// Creates an empty chain for cursors of `direction`.
  ///
  /// - Complexity: O(1).
  public init(direction: IterDirection) {
    self._storage = _IterChainStorage()
    self.direction = direction
  }

  /// Creates a chain of `members`, in order.
  ///
  /// - Throws: What ``append(_:)-(S)`` throws for the first member refused.
  /// - Complexity: O(*n*) for *n* segments in all.
  public init(direction: IterDirection, members: [any IterSegmentSource]) throws(IterError) {
    self.init(direction: direction)
    for member in members { try _append(member) }
  }

  /// The number of members.
  public var memberCount: Int { _storage.members.count }

  /// One member of a chain: the source it came from, and where its bytes
  /// and segments sit in the chain.
  ///
  /// Not Sendable: it holds the member's source, which may not be.
  public struct Member {
    /// The member's own source (for a cursor that was appended, the
    /// cursor's source; a chain that was appended gave its own members).
    public let source: any IterSegmentSource
    /// Where in ``source`` the chain's first byte of the member is.
    public let sourceStart: IterPosition
    /// The chain's byte offsets of the member's bytes.
    public let bytes: Range<Int>
    /// The indices of the member's segments among the chain's.
    public let segments: Range<Int>

    /// The member's kind of memory (its source's).
    public var memoryKind: IterMemoryKind { source.memoryKind }
  }

  /// The members, in order, as they are now (a member appended later is not
  /// in the array).
  ///
  /// ```swift
  /// for member in chain.members {
  ///   print(member.memoryKind, member.bytes, member.segments)
  /// }
  /// ```
  ///
  /// - Complexity: O(*m*) for *m* members.
  public var members: [Member] {
    let storage = _storage
    let all = storage.members
    var result: [Member] = []
    result.reserveCapacity(all.count)
    for (k, member) in all.enumerated() {
      let end = k + 1 < all.count ? all[k + 1].firstSegment : storage.segments.count
      result.append(
        Member(
          source: member.source,
          sourceStart: IterPosition(segmentIndex: member.sourceFirstIndex, offset: member.sourceFirstOffset),
          bytes: member.startByte..<(member.startByte + member.byteCount),
          segments: member.firstSegment..<end))
    }
    return result
  }

  /// The number of bytes the members hold.
  public var byteCount: Int { _storage.byteCount }

  // MARK: - IterSegmentSource

  /// The number of segments of all members.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var segmentCount: Int { _storage.segments.count }

  /// The segment at `index`, counting through the members in order.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func segment(at index: Int) -> IterSegment { _storage.segments[index] }

  /// The segments from `index` on, straight from the chain's array: bulk
  /// access for the cursor's hot loops, whatever the members' kinds.
  ///
  /// The run is the array as it is now; the chain holds it for the call, so
  /// a member appended meanwhile (from inside a walk's closure, say) goes
  /// into a new array and the run stays valid.
  ///
  /// - Complexity: O(1), plus `body`'s cost.
  @inlinable
  public func withContiguousSegments<R, E: Error>(
    from index: Int, _ body: (UnsafeBufferPointer<IterSegment>) throws(E) -> R
  ) throws(E) -> R? {
    let segments = _storage.segments
    return try unsafe segments.withContiguousSegments(from: index, body)
  }

  /// `chain`.
  public var memoryKind: IterMemoryKind { IterMemoryKind("chain") }

  /// The chain's ``direction``.
  public var supportedDirections: IterDirections {
    direction == .source ? .source : .destination
  }

  /// What the first member holds on extraction with `options`, or
  /// ``IterRetentionKind/none`` for an empty chain; use
  /// ``retention(for:at:)`` for the member at a position.
  public func retention(for options: IterExtractionOptions) -> IterRetentionKind {
    guard let first = _storage.members.first else { return .none }
    return
      (try? first.source.retention(
        for: options, at: _sourcePosition(of: first, index: first.firstSegment, offset: 0))) ?? .none
  }

  /// What extraction at `position` holds: the answer of the member there,
  /// or ``IterRetentionKind/none`` at the end of the chain.
  ///
  /// - Throws: ``IterError/invalidArgument(argument:value:reason:)`` for a
  ///   negative segment index or offset, or an offset past its segment's end.
  /// - Complexity: O(1), plus the empty segments stepped over.
  public func retention(
    for options: IterExtractionOptions, at position: IterPosition
  ) throws(IterError) -> IterRetentionKind {
    guard try IterExtraction.validateArguments(of: self, at: position, maxBytes: 1, maxPages: 1),
      let (member, index, offset) = _locate(position)
    else { return .none }
    return try member.source.retention(
      for: options, at: _sourcePosition(of: member, index: index, offset: offset))
  }

  /// Lists the pages under the next run, asking the member at `position`; the
  /// run stops at the member's end.
  ///
  /// - Complexity: The member's extraction cost.
  public func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction {
    guard
      try IterExtraction.validateArguments(
        of: self, at: position, maxBytes: maxBytes, maxPages: maxPages),
      let (member, index, offset) = _locate(position)
    else { return .empty }
    let here = _storage.segmentStarts[index] + offset
    let left = member.startByte + member.byteCount - here
    return try member.source.extractPages(
      at: _sourcePosition(of: member, index: index, offset: offset),
      maxBytes: Swift.min(maxBytes, left), maxPages: maxPages, options: options)
  }

  /// The first non-empty segment at or after `position` with a byte left, its
  /// member, and the offset into it.
  private func _locate(_ position: IterPosition) -> (_IterChainMember, Int, Int)? {
    var index = position.segmentIndex
    var offset = position.offset
    let segments = _storage.segments
    while index < segments.count && offset >= segments[index].count {
      index += 1
      offset = 0
    }
    guard index < segments.count else { return nil }
    return (_storage.members[_storage.memberOfSegment[index]], index, offset)
  }

  /// The position in a member's own source of the chain's segment `index`, `offset`.
  private func _sourcePosition(of member: _IterChainMember, index: Int, offset: Int) -> IterPosition {
    let local = index - member.firstSegment
    return IterPosition(
      segmentIndex: member.sourceFirstIndex + local,
      offset: offset + (local == 0 ? member.sourceFirstOffset : 0))
  }

  // MARK: - Appending

  /// Appends all of `source`'s bytes as a new member.
  ///
  /// - Throws: ``IterError/unsupportedDirection(_:kind:)`` if the member
  ///   cannot be used in the chain's direction;
  ///   ``IterError/invalidSegment(index:count:reason:)`` for a negative length
  ///   or, in a source chain, a segment without memory;
  ///   ``IterError/lengthOverflow(total:limit:)``. The chain is unchanged
  ///   when it throws.
  /// - Complexity: O(*n*) for the member's *n* segments.
  public func append<S: IterSegmentSource>(_ source: S) throws(IterError) {
    try _append(source)
  }

  /// Appends what is left of `cursor` (from its position, up to its count)
  /// as a new member. The cursor itself is not changed.
  ///
  /// - Throws: ``IterError/wrongDirection(operation:direction:)`` if the
  ///   cursor's direction is not the chain's; otherwise as ``append(_:)-(S)``.
  /// - Complexity: O(*n*) for the segments the cursor's bytes cover.
  public func append<S: IterSegmentSource>(_ cursor: IovIter<S>) throws(IterError) {
    guard cursor.direction == direction else {
      throw .wrongDirection(operation: "append to a \(direction) chain", direction: cursor.direction)
    }
    try _append(cursor.source, from: cursor.position, count: cursor.count)
  }

  private func _append(_ source: any IterSegmentSource) throws(IterError) {
    try _append(source, from: IterPosition(segmentIndex: 0, offset: 0), count: nil)
  }

  /// Appends the bytes of `source` from `start`, at most `count` of them (all
  /// when nil). A chain is appended as the members it holds over that range,
  /// so a chain never holds another chain: no reference cycle can form, even
  /// when a chain appends itself, and extraction is one call deep.
  private func _append(
    _ source: any IterSegmentSource, from start: IterPosition, count: Int?
  ) throws(IterError) {
    guard source.supportedDirections.supports(direction) else {
      throw .unsupportedDirection(direction, kind: source.memoryKind)
    }
    if let inner = source as? IterChain {
      // Work out every piece first: `inner` may be this very chain.
      let pieces = inner._members(from: start, count: count)
      let before = (_storage.members.count, _storage.segments.count, _storage.byteCount)
      do {
        for piece in pieces { try _appendLeaf(piece.source, from: piece.start, count: piece.count) }
      } catch {
        _truncate(members: before.0, segments: before.1, bytes: before.2)
        throw error
      }
      return
    }
    try _appendLeaf(source, from: start, count: count)
  }

  /// The members of this chain over the bytes from `start` (at most `count`),
  /// each as its own source, the position in it and the byte count.
  private func _members(
    from start: IterPosition, count: Int?
  ) -> [(source: any IterSegmentSource, start: IterPosition, count: Int)] {
    let storage = _storage
    let segments = storage.segments
    let first: Int
    if start.segmentIndex < segments.count {
      first = storage.segmentStarts[start.segmentIndex] + start.offset
    } else {
      first = storage.byteCount
    }
    let end = count.map { Swift.min(storage.byteCount, first + $0) } ?? storage.byteCount
    var pieces: [(source: any IterSegmentSource, start: IterPosition, count: Int)] = []
    for member in storage.members {
      let from = Swift.max(first, member.startByte)
      let to = Swift.min(end, member.startByte + member.byteCount)
      guard from < to else { continue }
      var index = member.firstSegment
      while storage.segmentStarts[index] + segments[index].count <= from { index += 1 }
      pieces.append(
        (
          member.source, _sourcePosition(of: member, index: index, offset: from - storage.segmentStarts[index]),
          to - from
        ))
    }
    return pieces
  }

  /// Drops the members, segments and bytes appended after the given counts.
  fileprivate func _truncate(members: Int, segments: Int, bytes: Int) {
    let storage = _storage
    storage.members.removeSubrange(members...)
    storage.segments.removeSubrange(segments...)
    storage.segmentStarts.removeSubrange(segments...)
    storage.memberOfSegment.removeSubrange(segments...)
    storage.byteCount = bytes
  }

  /// Appends the bytes of a source that is not a chain.
  private func _appendLeaf(
    _ source: any IterSegmentSource, from start: IterPosition, count: Int?
  ) throws(IterError) {
    guard source.supportedDirections.supports(direction) else {
      throw .unsupportedDirection(direction, kind: source.memoryKind)
    }
    let storage = _storage
    // Read the member's segments first: the member may be this very chain.
    var taken: [IterSegment] = []
    var left = count ?? Int.max
    var index = start.segmentIndex
    var skip = start.offset
    let end = source.segmentCount
    var bytes = 0
    while index < end && left > 0 {
      let segment = source.segment(at: index)
      // `&-`: a negative length is refused just below, before it is used.
      let length = Swift.min(Swift.max(0, segment.count &- skip), left)
      bytes = try IterError._addingSegment(segment, at: index, using: length, direction: direction, to: bytes)
      let base = unsafe segment.base.map { unsafe $0 + skip }
      taken.append(unsafe IterSegment(base: base, count: length))
      if count != nil { left -= length }
      index += 1
      skip = 0
    }
    let (total, overflow) = storage.byteCount.addingReportingOverflow(bytes)
    guard !overflow else { throw .lengthOverflow(total: storage.byteCount, limit: Int.max) }
    let memberIndex = storage.members.count
    storage.members.append(
      _IterChainMember(
        source: source, firstSegment: storage.segments.count, sourceFirstIndex: start.segmentIndex,
        sourceFirstOffset: start.offset, startByte: storage.byteCount, byteCount: bytes))
    var at = storage.byteCount
    for segment in taken {
      storage.segments.append(segment)
      storage.segmentStarts.append(at)
      storage.memberOfSegment.append(memberIndex)
      at += segment.count
    }
    storage.byteCount = total
  }
}

extension IovIter where Source == IterChain {
  /// Builds a cursor over `chain` in the chain's direction.
  ///
  /// - Complexity: O(*n*) for *n* segments.
  public init(_ chain: IterChain) throws(IterError) {
    try self.init(chain, direction: chain.direction)
  }

  /// Appends all of `source` to the chain this cursor walks and takes its
  /// bytes into the cursor's range and count.
  ///
  /// - Throws: ``IterError/invalidArgument(argument:value:reason:)`` when the
  ///   cursor's range does not reach the end of the chain (a split piece, or a
  ///   cursor built with a smaller count): the new bytes would not follow its
  ///   range. Otherwise as ``IterChain/append(_:)-(S)``. The cursor and the
  ///   chain are unchanged when it throws.
  /// - Complexity: O(*n*) for the member's segments, plus those from the
  ///   cursor's position.
  public mutating func append<S: IterSegmentSource>(_ source: S) throws(IterError) {
    try _grow { chain throws(IterError) in try chain.append(source) }
  }

  /// Appends what is left of `cursor` to the chain this cursor walks and takes
  /// its bytes into this cursor's range and count.
  ///
  /// - Throws: As ``IterChain/append(_:)-(IovIter<S>)``, and as ``append(_:)-(S)``.
  /// - Complexity: As ``append(_:)-(S)``.
  public mutating func append<S: IterSegmentSource>(_ cursor: IovIter<S>) throws(IterError) {
    try _grow { chain throws(IterError) in try chain.append(cursor) }
  }

  /// Runs `append` on the chain this cursor walks under the rule of
  /// `_growSource`: the cursor's range must reach the chain's end, and the
  /// chain is cut back to what it held if the cursor cannot take the bytes.
  private mutating func _grow(_ append: (IterChain) throws(IterError) -> Void) throws(IterError) {
    let chain = source
    let storage = chain._storage
    let here = _index < storage.segments.count ? storage.segmentStarts[_index] + _offset : storage.byteCount
    let before = (storage.members.count, storage.segments.count, storage.byteCount)
    let rangeEnd = here + reexpandLimit
    try _growSource(
      bytesToEnd: before.2 - here,
      shortRange: {
        .invalidArgument(
          argument: "range end", value: rangeEnd,
          reason: "the cursor's range ends before the chain's \(before.2) bytes do; "
            + "append to the chain and extend a cursor whose range reaches its end")
      },
      append: { () throws(IterError) in
        try append(chain)
        return storage.byteCount - before.2
      },
      undo: { chain._truncate(members: before.0, segments: before.1, bytes: before.2) })
  }
}

@available(*, unavailable, message: "its storage is shared by every copy and cursor and grows in place on append")
extension IterChain: Sendable {}
