//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore
import IterIO
public import SystemPackage

/// Vectored I/O between a swift-system `FileDescriptor` and any cursor, built
/// on IterIO's calls (`IovIter.writev(to:)` and the rest): the cursor's
/// segments go to the kernel as `iovec`s, without a copy.
///
/// **Errors**, as swift-system's own `read` and `write` report them:
///
/// | IterIO | thrown here |
/// |---|---|
/// | a failed call, `IterIOError.Reason.systemCall(e)` | `Errno(rawValue: e.rawValue)` |
/// | `EAGAIN` on a non-blocking descriptor (IterIO's `IOStatus.wouldBlock`) | `Errno.wouldBlock` |
/// | `EINTR` | retried by IterIO, never thrown |
/// | a cursor of the wrong direction, a negative offset, or one that the bytes would take past `Int64.max` | the `IterIOError` itself: no call was made |
///
/// In every case the cursor has not moved when an error is thrown: each
/// function makes exactly one system call. A short transfer is normal and is
/// the return value; the cursor stands after the bytes moved. A read that
/// returns 0 while the cursor has room is the end of the file (or a closed
/// writer).
extension FileDescriptor {
  /// Writes the cursor's next bytes with one `writev(2)` at the file
  /// position, and advances the cursor by the bytes written.
  ///
  /// - Parameter iter: A source cursor.
  /// - Returns: The bytes written (fewer than `iter.count` on a short write).
  /// - Throws: `Errno` for a failed call (see the table above), `IterIOError`
  ///   for a cursor of the wrong direction.
  /// - Complexity: O(*s*) for the segments described, plus the call.
  @discardableResult
  public func writev<S: IterSegmentSource>(_ iter: inout IovIter<S>) throws -> Int {
    try Self._errno { () throws(IterIOError) in try iter.writev(to: rawValue) }
  }

  /// Reads into the cursor's next bytes with one `readv(2)` at the file
  /// position, and advances the cursor by the bytes read.
  ///
  /// - Parameter iter: A destination cursor.
  /// - Returns: The bytes read; 0 at the end of the file while the cursor has room.
  /// - Throws: `Errno` for a failed call (see the table above), `IterIOError`
  ///   for a cursor of the wrong direction.
  /// - Complexity: O(*s*) for the segments described, plus the call.
  @discardableResult
  public func readv<S: IterSegmentSource>(_ iter: inout IovIter<S>) throws -> Int {
    try Self._errno { () throws(IterIOError) in try iter.readv(from: rawValue) }
  }

  /// Writes the cursor's next bytes at file offset `offset` with one
  /// `pwritev(2)`, without moving the file position, and advances the cursor
  /// by the bytes written.
  ///
  /// - Parameters:
  ///   - iter: A source cursor.
  ///   - offset: The file offset of the first byte; at least 0.
  /// - Returns: The bytes written.
  /// - Throws: `Errno` for a failed call (`ESPIPE` on a pipe or socket),
  ///   `IterIOError` for a cursor of the wrong direction or an invalid offset.
  /// - Complexity: O(*s*) for the segments described, plus the call.
  @discardableResult
  public func pwritev<S: IterSegmentSource>(_ iter: inout IovIter<S>, at offset: Int64) throws -> Int {
    try Self._errno { () throws(IterIOError) in try iter.pwritev(to: rawValue, offset: offset) }
  }

  /// Reads into the cursor's next bytes from file offset `offset` with one
  /// `preadv(2)`, without moving the file position, and advances the cursor
  /// by the bytes read.
  ///
  /// - Parameters:
  ///   - iter: A destination cursor.
  ///   - offset: The file offset of the first byte; at least 0.
  /// - Returns: The bytes read; 0 at or past the end of the file.
  /// - Throws: `Errno` for a failed call (`ESPIPE` on a pipe or socket),
  ///   `IterIOError` for a cursor of the wrong direction or an invalid offset.
  /// - Complexity: O(*s*) for the segments described, plus the call.
  @discardableResult
  public func preadv<S: IterSegmentSource>(_ iter: inout IovIter<S>, at offset: Int64) throws -> Int {
    try Self._errno { () throws(IterIOError) in try iter.preadv(from: rawValue, offset: offset) }
  }

  /// Runs one IterIO call and reports its failure as swift-system does.
  private static func _errno(_ call: () throws(IterIOError) -> IOResult) throws -> Int {
    let result: IOResult
    do {
      result = try call()
    } catch {
      guard case .systemCall(let e) = error.reason else { throw error }
      throw Errno(rawValue: e.rawValue)
    }
    if result.status == .wouldBlock { throw Errno.wouldBlock }
    return result.byteCount
  }
}
