//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// Why an IterIO operation stopped: the system call, the error, and how far
/// it had got.
///
/// Progress is never lost. When an error is thrown, the iterator has already
/// advanced by exactly the bytes moved before it, and ``progress`` says how
/// many that is (for a single call it is 0; for `IovIter.writeAll(to:offset:flags:)`
/// and `IovIter.readAll(from:offset:flags:)` it is the bytes moved by the
/// calls that succeeded first).
///
/// Sendable: plain values, as every `Error` is.
public struct IterIOError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What went wrong.
  ///
  /// Sendable: a plain value.
  public enum Reason: Hashable, Sendable {
    /// The system call failed with this error.
    case systemCall(IOErrno)
    /// The iterator points the wrong way: writing to a descriptor needs a
    /// `IterDirection.source` iterator (data leaves its memory), reading
    /// needs a `IterDirection.destination`. Nothing was called.
    case wrongDirection(required: IterDirection, actual: IterDirection)
    /// A file offset below 0, or one that the bytes to move would take past
    /// `Int64.max`. Nothing was called.
    case invalidOffset(Int64)
    /// A write returned 0 while bytes remained, so a loop would never end
    /// (Go reports this as `io.ErrUnexpectedEOF`).
    case writeMadeNoProgress
    /// io_uring cannot be used here: the kernel lacks it (`ENOSYS`), a
    /// seccomp filter or the `kernel.io_uring_disabled` sysctl refuses it
    /// (`EPERM`), or the ring could not be mapped. Use the system-call path.
    case ioUringUnavailable(IOErrno)
    /// An argument IterIO itself refuses, with the reason.
    case invalidArgument(name: String, value: Int, reason: String)
    /// The iterator refused an operation.
    case iterator(IterError)
  }

  /// What went wrong.
  public var reason: Reason
  /// The system call that failed, or that would have been made.
  public var call: IOSystemCall
  /// The bytes moved (and advanced over) before the failure.
  public var progress: Int

  /// Creates an error.
  @inlinable
  public init(_ reason: Reason, call: IOSystemCall, progress: Int = 0) {
    self.reason = reason
    self.call = call
    self.progress = progress
  }

  /// The error number, when a system call reported one.
  public var errno: IOErrno? {
    switch reason {
    case .systemCall(let e), .ioUringUnavailable(let e): e
    default: nil
    }
  }

  /// A one-line explanation: `"writev failed: EPIPE (32): Broken pipe, after 4096 bytes"`.
  public var description: String {
    let after = progress > 0 ? ", after \(progress) bytes" : ""
    switch reason {
    case .systemCall(let e):
      return "\(call) failed: \(e)\(after)"
    case .wrongDirection(let required, let actual):
      return "\(call) needs a \(required) iterator, not a \(actual) one"
    case .invalidOffset(let offset):
      return "\(call): offset \(offset) is out of range\(after)"
    case .writeMadeNoProgress:
      return "\(call) wrote 0 bytes with bytes remaining\(after)"
    case .ioUringUnavailable(let e):
      return "io_uring is unavailable (\(call): \(e)); use the system-call path"
    case .invalidArgument(let name, let value, let reason):
      return "\(call): \(name) = \(value) is invalid: \(reason)"
    case .iterator(let error):
      return "\(call): \(error)\(after)"
    }
  }
}
