//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// How an IterIO call or loop ended, when it did not throw.
///
/// Sendable: a plain value.
public enum IOStatus: Hashable, Sendable {
  /// The bytes moved. For one call they may be fewer than the iterator
  /// holds (a short transfer is normal); for `IovIter.writeAll(to:offset:flags:)`
  /// and `IovIter.readAll(from:offset:flags:)` it means the iterator is
  /// now empty.
  case transferred
  /// The descriptor is non-blocking (or `RWF_NOWAIT`/`MSG_DONTWAIT` was given)
  /// and had no room or no data: `EAGAIN`/`EWOULDBLOCK`. The bytes moved
  /// before it are in ``IOResult/byteCount``; wait for readiness and call again.
  case wouldBlock
  /// A read returned 0 while the iterator still had room: the end of the file,
  /// or the peer closed its end of a pipe or a stream socket.
  case endOfFile
}

/// What an IterIO call or loop moved: the iterator has advanced by exactly
/// ``byteCount`` bytes.
///
/// Sendable: plain values.
public struct IOResult: Hashable, Sendable {
  /// The bytes moved, and advanced over.
  public var byteCount: Int
  /// Why the call or loop returned.
  public var status: IOStatus

  /// Creates a result.
  @inlinable
  public init(byteCount: Int, status: IOStatus) {
    self.byteCount = byteCount
    self.status = status
  }
}

/// What `IovIter.recvmsg(from:flags:control:address:)` received.
///
/// Sendable: plain values.
public struct IOMessageResult: Hashable, Sendable {
  /// The bytes received, and advanced over, and why the call returned.
  public var result: IOResult
  /// The `msg_flags` the kernel handed back (``IOMessageFlags/truncated``,
  /// ``IOMessageFlags/controlTruncated``, …).
  public var messageFlags: IOMessageFlags
  /// The bytes of control data written to the `control` buffer.
  public var controlCount: Int
  /// The bytes of the sender's address written to the `address` buffer.
  public var addressCount: Int

  /// Creates a result.
  @inlinable
  public init(result: IOResult, messageFlags: IOMessageFlags, controlCount: Int, addressCount: Int) {
    self.result = result
    self.messageFlags = messageFlags
    self.controlCount = controlCount
    self.addressCount = addressCount
  }
}
