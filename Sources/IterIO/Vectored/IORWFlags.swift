//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// Per-call flags for `IovIter.preadv2(from:offset:flags:)` and
/// `IovIter.pwritev2(to:offset:flags:)`: the kernel's `RWF_*` values.
///
/// The raw value is passed to the kernel unchanged, so flags newer than this
/// type (such as `RWF_DONTCACHE`) can be given as `IORWFlags(rawValue:)`.
/// A flag the kernel or the file does not take fails with `EOPNOTSUPP`.
///
/// Sendable: a plain bit set.
public struct IORWFlags: OptionSet, Hashable, Sendable {
  /// The `RWF_*` bits.
  public var rawValue: Int32

  /// Wraps `RWF_*` bits.
  @inlinable
  public init(rawValue: Int32) { self.rawValue = rawValue }

  /// `RWF_HIPRI`: poll for completion (block devices opened with `O_DIRECT`).
  public static let highPriority = IORWFlags(rawValue: 0x01)
  /// `RWF_DSYNC`: this write is `O_DSYNC`.
  public static let dataSync = IORWFlags(rawValue: 0x02)
  /// `RWF_SYNC`: this write is `O_SYNC`.
  public static let sync = IORWFlags(rawValue: 0x04)
  /// `RWF_NOWAIT`: do not wait for data or for locks; such a wait is `EAGAIN`,
  /// reported as ``IOStatus/wouldBlock``.
  public static let noWait = IORWFlags(rawValue: 0x08)
  /// `RWF_APPEND`: this write appends, whatever the offset.
  public static let append = IORWFlags(rawValue: 0x10)
}

/// Per-call flags for `IovIter.sendmsg(to:flags:control:address:)` and
/// `IovIter.recvmsg(from:flags:control:address:)` (the kernel's `MSG_*`
/// values), and the `msg_flags` that `recvmsg(2)` hands back.
///
/// The raw value is passed through unchanged.
///
/// Sendable: a plain bit set.
public struct IOMessageFlags: OptionSet, Hashable, Sendable {
  /// The `MSG_*` bits.
  public var rawValue: Int32

  /// Wraps `MSG_*` bits.
  @inlinable
  public init(rawValue: Int32) { self.rawValue = rawValue }

  /// `MSG_DONTWAIT`: this call does not block; a wait is ``IOStatus/wouldBlock``.
  public static let dontWait = IOMessageFlags(rawValue: 0x40)
  /// `MSG_NOSIGNAL`: a send to a closed peer fails with `EPIPE` without raising `SIGPIPE`.
  public static let noSignal = IOMessageFlags(rawValue: 0x4000)
  /// `MSG_WAITALL`: a receive waits for the whole request (signals and errors still cut it short).
  public static let waitAll = IOMessageFlags(rawValue: 0x100)
  /// `MSG_MORE`: more data follows (TCP corks the segment).
  public static let more = IOMessageFlags(rawValue: 0x8000)
  /// `MSG_EOR`: ends a record.
  public static let endOfRecord = IOMessageFlags(rawValue: 0x80)
  /// `MSG_TRUNC` (returned): a datagram was longer than the iterator.
  public static let truncated = IOMessageFlags(rawValue: 0x20)
  /// `MSG_CTRUNC` (returned): the control data did not fit its buffer.
  public static let controlTruncated = IOMessageFlags(rawValue: 0x08)
}
