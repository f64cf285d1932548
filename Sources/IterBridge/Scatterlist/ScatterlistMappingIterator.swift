//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// What a ``ScatterlistMappingIterator`` is for.
///
/// The corresponding kernel flags are `SG_MITER_*`.
///
/// Sendable: a plain bit set.
public struct ScatterlistMappingFlags: OptionSet, Hashable, Sendable {
  /// The raw bits.
  public var rawValue: UInt32

  /// Creates flags from raw bits.
  ///
  /// - Complexity: O(1).
  @inlinable
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// Map with `kmap_atomic` (`SG_MITER_ATOMIC`, `1 << 0`). Accepted; user
  /// space maps nothing.
  public static let atomic = ScatterlistMappingFlags(rawValue: 1 << 0)
  /// Bytes are written into the list (`SG_MITER_TO_SG`, `1 << 1`).
  public static let toScatterlist = ScatterlistMappingFlags(rawValue: 1 << 1)
  /// Bytes are read out of the list (`SG_MITER_FROM_SG`, `1 << 2`).
  public static let fromScatterlist = ScatterlistMappingFlags(rawValue: 1 << 2)
  /// Map with `kmap_local_page` (`SG_MITER_LOCAL`, `1 << 3`). Accepted;
  /// user space maps nothing.
  public static let local = ScatterlistMappingFlags(rawValue: 1 << 3)
}

/// Walks a scatterlist one page-bounded piece at a time, with partial
/// consumption.
///
/// ```swift
/// var miter = try ScatterlistMappingIterator(table, flags: .fromScatterlist)
/// while try miter.next() {
///   let used = parse(miter.address, miter.length)  // look at the piece
///   miter.consumed = used                           // the rest comes again
/// }
/// miter.stop()
/// ```
///
/// ``next()`` maps the next piece: at most the rest of the current page of
/// the current entry. Lowering ``consumed`` before the next call to
/// ``next()``, ``skip(_:)`` or ``stop()`` consumes only part of the piece;
/// the rest is where the following piece starts. Zero-length entries are
/// stepped over (the kernel may hand out a 0-byte piece for an empty entry
/// with a non-zero offset).
///
/// The walk checks each entry when it reaches it and throws a typed error
/// for a malformed one, a cycle, a missing end marker or a bad link; a list
/// that ends before `nents` entries simply ends, as in the kernel.
///
/// The corresponding kernel structure is `struct sg_mapping_iter`, with
/// `sg_miter_start`, `sg_miter_next`, `sg_miter_skip` and `sg_miter_stop`.
///
/// Not Sendable: it walks arrays of entries that are shared and written in place (``ScatterlistArray``).
public struct ScatterlistMappingIterator {
  private var _walker: _ScatterlistWalker
  private var _entry: ScatterlistEntry? = nil
  private var _entryStart: UInt = 0
  /// Bytes of the current entry already passed.
  private var _done = 0
  private var _mapped = false
  private var _consumed = 0

  /// The flags the iterator was started with.
  public let flags: ScatterlistMappingFlags
  /// The page of the current piece (`page`), or `nil` when none is mapped.
  public private(set) var page: IterPage? = nil
  /// The address of the current piece's first byte (`addr`), or 0.
  public private(set) var address: UInt = 0
  /// The number of bytes in the current piece (`length`), or 0.
  public private(set) var length: Int = 0

  /// The bytes of the current piece that count as used (`consumed`):
  /// ``length`` after ``next()``. Lower it to use fewer; values are
  /// clamped to `0...length` (the kernel warns and corrupts its position).
  public var consumed: Int {
    get { _consumed }
    set { _consumed = Swift.min(Swift.max(newValue, 0), length) }
  }

  /// Starts an iterator over the first `nents` entries of the list that
  /// begins at `first`.
  ///
  /// - Throws: `IterError.invalidArgument(argument:value:reason:)` when
  ///   `flags` has neither ``ScatterlistMappingFlags/toScatterlist`` nor
  ///   ``ScatterlistMappingFlags/fromScatterlist`` (the kernel warns);
  ///   `IterError.negativeCount(argument:value:)` for a negative `nents`;
  ///   `IterError.invalidSegment(index:count:reason:)` when `first` is a link.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `sg_miter_start`.
  public init(first: ScatterlistSlot?, nents: Int, flags: ScatterlistMappingFlags) throws(IterError) {
    guard !flags.isDisjoint(with: [.toScatterlist, .fromScatterlist]) else {
      throw .invalidArgument(
        argument: "flags", value: Int(flags.rawValue), reason: "needs toScatterlist or fromScatterlist")
    }
    _walker = try _ScatterlistWalker(first: first, limit: nents)
    self.flags = flags
  }

  /// Starts an iterator over a table's ``ScatterlistTable/origNents`` entries.
  ///
  /// - Throws: As ``init(first:nents:flags:)``.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `sg_miter_start`.
  public init(_ table: ScatterlistTable, flags: ScatterlistMappingFlags) throws(IterError) {
    try self.init(first: table.first, nents: table.origNents, flags: flags)
  }

  /// Whether a piece is mapped.
  public var isMapped: Bool { _mapped }

  /// Calls `body` with the current piece's bytes (empty when none is
  /// mapped). Do not let the pointer escape `body`.
  ///
  /// - Complexity: O(1), plus `body`'s cost.
  public func withUnsafeMutableBytes<R, E: Error>(
    _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
  ) throws(E) -> R {
    let base = unsafe UnsafeMutableRawPointer(bitPattern: address)
    return try unsafe body(UnsafeMutableRawBufferPointer(start: base, count: _mapped ? length : 0))
  }

  /// Finds the piece after the current position, stepping over exhausted
  /// and empty entries: its start and length, or `nil` at the end.
  private mutating func _nextPiece() throws(IterError) -> (start: UInt, runOffset: Int, count: Int)? {
    while true {
      if let e = _entry, _done < e.length {
        let runOffset = e.offset + _done
        let inPage = runOffset % IterPage.size
        let count = Swift.min(e.length - _done, IterPage.size - inPage)
        return (_entryStart &+ UInt(_done), runOffset, count)
      }
      guard let slot = try _walker.next() else {
        _entry = nil
        return nil
      }
      let e = slot.entry
      _entryStart = try e._validatedStart(index: _walker.position)
      _entry = e
      _done = 0
    }
  }

  /// Ends the current piece (moving past the ``consumed`` bytes) and maps
  /// the next one.
  ///
  /// - Returns: `false` at the end of the list.
  /// - Throws: `IterError.invalidSegment(index:count:reason:)` for a
  ///   malformed entry, a cycle, a missing end marker or a bad link; the
  ///   iterator is stopped then.
  /// - Complexity: O(1) amortised, plus the empty entries stepped over.
  ///
  /// The corresponding kernel function is `sg_miter_next`.
  public mutating func next() throws(IterError) -> Bool {
    stop()
    guard let piece = try _nextPiece() else { return false }
    page = _entry!._page(atRunOffset: piece.runOffset)
    address = piece.start
    length = piece.count
    _consumed = piece.count
    _mapped = true
    return true
  }

  /// Ends the current piece and moves `count` bytes further.
  ///
  /// - Returns: `false` when the list ended first.
  /// - Throws: `IterError.negativeCount(argument:value:)` for a negative
  ///   `count` (nothing moves); the walk's errors as ``next()``.
  /// - Complexity: O(*p*) for the *p* pieces skipped.
  ///
  /// The corresponding kernel function is `sg_miter_skip`.
  public mutating func skip(_ count: Int) throws(IterError) -> Bool {
    guard count >= 0 else { throw .negativeCount(argument: "count", value: count) }
    stop()
    var left = count
    while left > 0 {
      guard let piece = try _nextPiece() else { return false }
      let step = Swift.min(left, piece.count)
      _done += step
      left -= step
    }
    return true
  }

  /// Ends the current piece: the position moves past the ``consumed``
  /// bytes and nothing is mapped. The iterator can go on with ``next()``.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `sg_miter_stop`.
  public mutating func stop() {
    guard _mapped else { return }
    _done += _consumed
    _mapped = false
    page = nil
    address = 0
    length = 0
    _consumed = 0
  }
}

extension ScatterlistTable {
  /// Copies `bytes` into the list, starting `skip` bytes into it, and
  /// returns how many were copied (fewer when the list ends first).
  ///
  /// - Throws: `IterError.negativeCount(argument:value:)` for a negative
  ///   `skip`; the walk's errors (bytes before the bad entry are copied).
  /// - Complexity: O(*n*) for *n* bytes, plus the entries walked.
  ///
  /// The corresponding kernel functions are `sg_pcopy_from_buffer` and
  /// (with `skip` 0) `sg_copy_from_buffer`.
  public func copy(from bytes: RawSpan, skip: Int = 0) throws(IterError) -> Int {
    let count = bytes.byteCount
    return try unsafe bytes.withUnsafeBytes { (buffer) throws(IterError) -> Int in
      try unsafe _copy(skip: skip, flags: .toScatterlist, count: count) { piece, done in
        unsafe piece.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[done..<(done + piece.count)]))
      }
    }
  }

  /// Copies bytes out of the list, starting `skip` bytes into it, into
  /// `bytes`, and returns how many were copied (fewer when the list ends
  /// first).
  ///
  /// - Throws: As ``copy(from:skip:)``.
  /// - Complexity: O(*n*) for *n* bytes, plus the entries walked.
  ///
  /// The corresponding kernel functions are `sg_pcopy_to_buffer` and
  /// (with `skip` 0) `sg_copy_to_buffer`.
  public func copy(into bytes: inout MutableRawSpan, skip: Int = 0) throws(IterError) -> Int {
    let count = bytes.byteCount
    return try unsafe bytes.withUnsafeMutableBytes { (buffer) throws(IterError) -> Int in
      try unsafe _copy(skip: skip, flags: .fromScatterlist, count: count) { piece, done in
        unsafe UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + piece.count)])
          .copyMemory(from: UnsafeRawBufferPointer(piece))
      }
    }
  }

  /// Fills `count` bytes of the list with zeros, starting `skip` bytes into
  /// it, and returns how many were filled.
  ///
  /// - Throws: As ``copy(from:skip:)``, and
  ///   `IterError.negativeCount(argument:value:)` for a negative `count`.
  /// - Complexity: O(*n*) for *n* bytes, plus the entries walked.
  ///
  /// The corresponding kernel function is `sg_zero_buffer`.
  public func zero(count: Int, skip: Int = 0) throws(IterError) -> Int {
    guard count >= 0 else { throw .negativeCount(argument: "count", value: count) }
    return try unsafe _copy(skip: skip, flags: .toScatterlist, count: count) { piece, _ in
      unsafe piece.initializeMemory(as: UInt8.self, repeating: 0)
    }
  }

  /// The walk behind the copies: `body` gets each piece (cut to what is
  /// left of `count`) and the bytes done before it.
  @unsafe
  private func _copy(
    skip: Int, flags: ScatterlistMappingFlags, count: Int,
    _ body: (UnsafeMutableRawBufferPointer, Int) -> Void
  ) throws(IterError) -> Int {
    guard skip >= 0 else { throw .negativeCount(argument: "skip", value: skip) }
    var miter = try ScatterlistMappingIterator(self, flags: flags.union(.atomic))
    guard try miter.skip(skip) else { return 0 }
    var done = 0
    while done < count, try miter.next() {
      let n = Swift.min(miter.length, count - done)
      miter.consumed = n
      let base = unsafe UnsafeMutableRawPointer(bitPattern: miter.address)
      unsafe body(UnsafeMutableRawBufferPointer(start: base, count: n), done)
      done += n
    }
    miter.stop()
    return done
  }
}

@available(*, unavailable, message: "it walks arrays of entries that are shared and written in place")
extension ScatterlistMappingIterator: Sendable {}
