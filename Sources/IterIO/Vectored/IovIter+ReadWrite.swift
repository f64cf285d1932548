//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import Glibc
public import IterCore

// MARK: - One call

extension IovIter {
  /// Writes the iterator's next bytes to `descriptor` with one `writev(2)`
  /// (or `write(2)` when they lie in one piece of memory), and advances by the
  /// bytes written.
  ///
  /// At most `IterLimits.maxIOVectorCount` segments and `IterLimits.maxReadWriteCount` bytes
  /// go in one call; empty segments are skipped. A short write is normal:
  /// ``IOResult/byteCount`` says how far it got, and the iterator stands
  /// there. `EINTR` is retried. An iterator with nothing left makes no call.
  ///
  /// - Parameter descriptor: An open file, pipe or socket.
  /// - Returns: The bytes written, with ``IOStatus/transferred``, or 0 with
  ///   ``IOStatus/wouldBlock`` (`EAGAIN` on a non-blocking descriptor).
  /// - Throws: ``IterIOError`` with ``IterIOError/Reason/wrongDirection(required:actual:)``
  ///   for a destination iterator, or ``IterIOError/Reason/systemCall(_:)``
  ///   with the error; the iterator has not moved.
  /// - Complexity: O(*s*) for the segments described, plus the call.
  ///
  /// The corresponding C function is `writev(2)`.
  @inlinable
  public mutating func writev(to descriptor: CInt) throws(IterIOError) -> IOResult {
    try _transferOnce(read: false, descriptor, offset: nil, flags: 0, progress: 0)
  }

  /// Reads from `descriptor` into the iterator's next bytes with one
  /// `readv(2)` (or `read(2)` when they lie in one piece of memory), and
  /// advances by the bytes read.
  ///
  /// At most `IterLimits.maxIOVectorCount` entries and `IterLimits.maxReadWriteCount` bytes go in
  /// one call; empty segments are skipped. Bytes that land in a segment
  /// without memory (a discard segment) are read into a scratch page and
  /// dropped, in the same call. A short read is normal. `EINTR` is retried.
  ///
  /// - Parameter descriptor: An open file, pipe or socket.
  /// - Returns: The bytes read with ``IOStatus/transferred``; 0 with
  ///   ``IOStatus/endOfFile`` when the call returned 0 (the end of a file, or
  ///   the writer closed); 0 with ``IOStatus/wouldBlock`` on `EAGAIN`.
  /// - Throws: ``IterIOError``: a source iterator is
  ///   ``IterIOError/Reason/wrongDirection(required:actual:)``, a failed
  ///   call is ``IterIOError/Reason/systemCall(_:)``; the iterator has not moved.
  /// - Complexity: O(*s*) for the segments described, plus the call.
  ///
  /// The corresponding C function is `readv(2)`.
  @inlinable
  public mutating func readv(from descriptor: CInt) throws(IterIOError) -> IOResult {
    try _transferOnce(read: true, descriptor, offset: nil, flags: 0, progress: 0)
  }

  /// Writes the iterator's next bytes at file offset `offset` with one
  /// `pwritev(2)` (or `pwrite(2)`), without moving the file position, and
  /// advances by the bytes written.
  ///
  /// As ``writev(to:)`` otherwise.
  ///
  /// - Parameters:
  ///   - descriptor: An open, seekable file.
  ///   - offset: Where in the file the first byte goes, from 0 up to
  ///     `Int64.max` minus ``IovIter/count``.
  /// - Returns: As ``writev(to:)``.
  /// - Throws: As ``writev(to:)``, and ``IterIOError/Reason/invalidOffset(_:)``.
  /// - Complexity: O(*s*) for the segments described, plus the call.
  ///
  /// The corresponding C function is `pwritev(2)`.
  @inlinable
  public mutating func pwritev(to descriptor: CInt, offset: Int64) throws(IterIOError) -> IOResult {
    try _checkOffset(offset, read: false, positional: true)
    return try _transferOnce(read: false, descriptor, offset: offset, flags: 0, progress: 0)
  }

  /// Reads from file offset `offset` into the iterator's next bytes with one
  /// `preadv(2)` (or `pread(2)`), without moving the file position, and
  /// advances by the bytes read.
  ///
  /// As ``readv(from:)`` otherwise: discard segments read into a scratch page.
  ///
  /// - Parameters:
  ///   - descriptor: An open, seekable file.
  ///   - offset: Where in the file to start, from 0 up to `Int64.max` minus
  ///     ``IovIter/count``.
  /// - Returns: As ``readv(from:)``.
  /// - Throws: As ``readv(from:)``, and ``IterIOError/Reason/invalidOffset(_:)``.
  /// - Complexity: O(*s*) for the segments described, plus the call.
  ///
  /// The corresponding C function is `preadv(2)`.
  @inlinable
  public mutating func preadv(from descriptor: CInt, offset: Int64) throws(IterIOError) -> IOResult {
    try _checkOffset(offset, read: true, positional: true)
    return try _transferOnce(read: true, descriptor, offset: offset, flags: 0, progress: 0)
  }

  /// Writes the iterator's next bytes with one `pwritev2(2)` and per-call
  /// flags, and advances by the bytes written.
  ///
  /// As ``pwritev(to:offset:)``, but the call is always `pwritev2`, even for
  /// one piece of memory, so that the flags apply.
  ///
  /// - Parameters:
  ///   - descriptor: An open file, pipe or socket.
  ///   - offset: The file offset, or `nil` for the file position (which then
  ///     moves, as `writev` moves it).
  ///   - flags: `RWF_*` flags; ``IORWFlags/noWait`` turns a wait into
  ///     ``IOStatus/wouldBlock``.
  /// - Returns: As ``writev(to:)``.
  /// - Throws: As ``pwritev(to:offset:)``; a flag the file does not take
  ///   is `EOPNOTSUPP`.
  /// - Complexity: O(*s*) for the segments described, plus the call.
  ///
  /// The corresponding C function is `pwritev2(2)`.
  @inlinable
  public mutating func pwritev2(
    to descriptor: CInt, offset: Int64?, flags: IORWFlags
  ) throws(IterIOError) -> IOResult {
    if let offset { try _checkOffset(offset, read: false, positional: true, call: .pwritev2) }
    return try _transferOnce(
      read: false, descriptor, offset: offset ?? -1, flags: flags.rawValue, v2: true, progress: 0)
  }

  /// Reads into the iterator's next bytes with one `preadv2(2)` and per-call
  /// flags, and advances by the bytes read.
  ///
  /// As ``preadv(from:offset:)``, but the call is always `preadv2`.
  ///
  /// - Parameters:
  ///   - descriptor: An open file, pipe or socket.
  ///   - offset: The file offset, or `nil` for the file position.
  ///   - flags: `RWF_*` flags; ``IORWFlags/noWait`` turns a wait for data that
  ///     is not cached into ``IOStatus/wouldBlock``.
  /// - Returns: As ``readv(from:)``.
  /// - Throws: As ``preadv(from:offset:)``.
  /// - Complexity: O(*s*) for the segments described, plus the call.
  ///
  /// The corresponding C function is `preadv2(2)`.
  @inlinable
  public mutating func preadv2(
    from descriptor: CInt, offset: Int64?, flags: IORWFlags
  ) throws(IterIOError) -> IOResult {
    if let offset { try _checkOffset(offset, read: true, positional: true, call: .preadv2) }
    return try _transferOnce(
      read: true, descriptor, offset: offset ?? -1, flags: flags.rawValue, v2: true, progress: 0)
  }
}

// MARK: - Loops

extension IovIter {
  /// Writes every byte the iterator has left, call after call, resuming
  /// after each short write.
  ///
  /// Each call is ``writev(to:)``, ``pwritev(to:offset:)`` (with `offset` plus
  /// the bytes written so far) or, with flags, ``pwritev2(to:offset:flags:)``.
  /// `EINTR` is retried; `EAGAIN` ends the loop with the progress so far.
  ///
  /// - Parameters:
  ///   - descriptor: An open file, pipe or socket.
  ///   - offset: The file offset of the first byte, or `nil` for the file position.
  ///   - flags: `RWF_*` flags for every call (none by default).
  /// - Returns: The bytes written and ``IOStatus/transferred`` (the iterator
  ///   is empty), or ``IOStatus/wouldBlock`` with the bytes written before it.
  /// - Throws: ``IterIOError`` whose ``IterIOError/progress`` is the bytes
  ///   written before the failing call (the iterator has advanced by them);
  ///   a call that writes 0 bytes is ``IterIOError/Reason/writeMadeNoProgress``.
  /// - Complexity: O(*s*) for *s* segments, plus one call per `IterLimits.maxIOVectorCount`
  ///   segments, `IterLimits.maxReadWriteCount` bytes or short write.
  @inlinable
  public mutating func writeAll(
    to descriptor: CInt, offset: Int64? = nil, flags: IORWFlags = []
  ) throws(IterIOError) -> IOResult {
    try _transferAll(read: false, descriptor, offset: offset, flags: flags)
  }

  /// Fills every byte the iterator has left, call after call, resuming after
  /// each short read.
  ///
  /// Each call is ``readv(from:)``, ``preadv(from:offset:)`` or, with flags,
  /// ``preadv2(from:offset:flags:)``. `EINTR` is retried; `EAGAIN` and the end
  /// of the file end the loop with the progress so far.
  ///
  /// - Parameters:
  ///   - descriptor: An open file, pipe or socket.
  ///   - offset: The file offset of the first byte, or `nil` for the file position.
  ///   - flags: `RWF_*` flags for every call (none by default).
  /// - Returns: The bytes read and ``IOStatus/transferred`` (the iterator is
  ///   full), ``IOStatus/endOfFile`` or ``IOStatus/wouldBlock``.
  /// - Throws: ``IterIOError`` whose ``IterIOError/progress`` is the bytes
  ///   read before the failing call (the iterator has advanced by them).
  /// - Complexity: O(*s*) for *s* segments, plus one call per `IterLimits.maxIOVectorCount`
  ///   entries, `IterLimits.maxReadWriteCount` bytes or short read.
  @inlinable
  public mutating func readAll(
    from descriptor: CInt, offset: Int64? = nil, flags: IORWFlags = []
  ) throws(IterIOError) -> IOResult {
    try _transferAll(read: true, descriptor, offset: offset, flags: flags)
  }
}

// MARK: - The core

extension IovIter {
  /// The call a transfer of `vectorCount` entries makes.
  @inlinable
  internal static func _call(
    read: Bool, vectorCount: Int, positional: Bool, flags: Int32, v2: Bool = false
  ) -> IOSystemCall {
    if v2 || flags != 0 { return read ? .preadv2 : .pwritev2 }
    if vectorCount == 1 {
      return positional ? (read ? .pread : .pwrite) : (read ? .read : .write)
    }
    return positional ? (read ? .preadv : .pwritev) : (read ? .readv : .writev)
  }

  @inlinable
  internal func _checkOffset(
    _ offset: Int64, read: Bool, positional: Bool, call: IOSystemCall? = nil
  ) throws(IterIOError) {
    if offset < 0 || Int64.max - offset < Int64(count) {
      let c = call ?? Self._call(read: read, vectorCount: 2, positional: positional, flags: 0)
      throw IterIOError(.invalidOffset(offset), call: c)
    }
  }

  @inlinable
  internal func _checkDirection(read: Bool, call: IOSystemCall) throws(IterIOError) {
    let required: IterDirection = read ? .destination : .source
    if direction != required {
      throw IterIOError(.wrongDirection(required: required, actual: direction), call: call)
    }
  }

  /// One call (retried on `EINTR`). `offset` is `nil` for the file position;
  /// with `v2` (`preadv2`/`pwritev2`, implied by flags), -1 means the same.
  /// `progress` goes into a thrown error.
  @inlinable
  internal mutating func _transferOnce(
    read: Bool, _ fd: CInt, offset: Int64?, flags: Int32, v2: Bool = false, progress: Int
  ) throws(IterIOError) -> IOResult {
    let v2 = v2 || flags != 0
    let positional = offset != nil && !v2
    try _checkDirection(
      read: read,
      call: Self._call(read: read, vectorCount: 2, positional: positional, flags: flags, v2: v2))
    if count == 0 { return IOResult(byteCount: 0, status: .transferred) }
    let firstCall = Self._call(read: read, vectorCount: 2, positional: positional, flags: flags, v2: v2)
    let moved = try unsafe _withIOVectors(call: firstCall, discardsToScratch: read) {
      (vectors, bytes) throws(IterIOError) -> Int in
      let call = Self._call(
        read: read, vectorCount: vectors.count, positional: positional, flags: flags, v2: v2)
      while true {
        let n = unsafe system_transfer(
          call, fd, vectors.baseAddress!, vectors.count, offset: offset ?? -1, flags: flags)
        if n >= 0 { return Swift.min(n, bytes) }
        let code = errno
        if code == EINTR { continue }
        if code == EAGAIN || code == EWOULDBLOCK { return -1 }
        throw IterIOError(.systemCall(IOErrno(code)), call: call, progress: progress)
      }
    }
    if moved < 0 { return IOResult(byteCount: 0, status: .wouldBlock) }
    if moved == 0 && read { return IOResult(byteCount: 0, status: .endOfFile) }
    try _advanceMoved(moved, call: firstCall, progress: progress)
    return IOResult(byteCount: moved, status: .transferred)
  }

  /// Advances by bytes a call moved, which are never more than the iterator
  /// held. Only a source whose segments changed under the cursor during the
  /// call makes the advance fail; the error then carries the bytes moved.
  @inlinable
  internal mutating func _advanceMoved(_ n: Int, call: IOSystemCall, progress: Int = 0) throws(IterIOError) {
    do { try advance(by: n) } catch {
      throw IterIOError(.iterator(error), call: call, progress: progress &+ n)
    }
  }

  @inlinable
  internal mutating func _transferAll(
    read: Bool, _ fd: CInt, offset: Int64?, flags: IORWFlags
  ) throws(IterIOError) -> IOResult {
    let raw = flags.rawValue
    if let offset {
      try _checkOffset(
        offset, read: read, positional: true, call: raw != 0 ? (read ? .preadv2 : .pwritev2) : nil)
    }
    var done = 0
    while true {
      let at: Int64? = offset.map { $0 + Int64(done) } ?? (raw != 0 ? -1 : nil)
      let step = try _transferOnce(read: read, fd, offset: at, flags: raw, progress: done)
      done += step.byteCount
      switch step.status {
      case .wouldBlock, .endOfFile:
        return IOResult(byteCount: done, status: step.status)
      case .transferred:
        if count == 0 { return IOResult(byteCount: done, status: .transferred) }
        if step.byteCount == 0 {
          throw IterIOError(
            .writeMadeNoProgress,
            call: Self._call(read: read, vectorCount: 2, positional: at != nil, flags: raw),
            progress: done)
        }
      }
    }
  }
}
