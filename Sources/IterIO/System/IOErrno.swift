//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

internal import Glibc

/// An error number a system call reported, with its name.
///
/// The value is the kernel's (`errno`); ``name`` is the C macro's name
/// (`"EAGAIN"`, `"EINTR"`), so a failure reads the same in a log as in the
/// man page.
///
/// Sendable: an integer.
public struct IOErrno: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  /// The error number.
  public var rawValue: Int32

  /// Wraps an error number.
  @inlinable
  public init(rawValue: Int32) { self.rawValue = rawValue }

  /// Wraps an error number.
  @inlinable
  public init(_ rawValue: Int32) { self.rawValue = rawValue }

  /// The C name of the error (`"EAGAIN"`), or `"errno N"` for a number this
  /// type has no name for. `EWOULDBLOCK` is `EAGAIN` on Linux.
  public var name: String {
    IOErrno._names.first { $0.0 == rawValue }?.1 ?? "errno \(rawValue)"
  }

  /// The name, the number and the C library's message:
  /// `"EAGAIN (11): Resource temporarily unavailable"`.
  public var description: String {
    let message = unsafe strerror(rawValue).map { unsafe String(cString: $0) } ?? ""
    return "\(name) (\(rawValue)): \(message)"
  }

  /// `EPERM`: not permitted (for io_uring, refused by a seccomp filter or the sysctl).
  public static var notPermitted: IOErrno { IOErrno(EPERM) }
  /// `EINTR`: a signal arrived before any byte moved.
  public static var interrupted: IOErrno { IOErrno(EINTR) }
  /// `EIO`: an I/O error.
  public static var ioError: IOErrno { IOErrno(EIO) }
  /// `EBADF`: not an open descriptor, or not open for this direction.
  public static var badFileDescriptor: IOErrno { IOErrno(EBADF) }
  /// `EAGAIN` (also `EWOULDBLOCK`): a non-blocking descriptor has no room or no data.
  public static var wouldBlock: IOErrno { IOErrno(EAGAIN) }
  /// `ENOMEM`: out of memory.
  public static var noMemory: IOErrno { IOErrno(ENOMEM) }
  /// `EFAULT`: a buffer is outside the address space.
  public static var badAddress: IOErrno { IOErrno(EFAULT) }
  /// `EINVAL`: an argument the kernel refuses.
  public static var invalidArgument: IOErrno { IOErrno(EINVAL) }
  /// `ENOSPC`: no space left on the device.
  public static var noSpace: IOErrno { IOErrno(ENOSPC) }
  /// `EPIPE`: the reading end is closed.
  public static var brokenPipe: IOErrno { IOErrno(EPIPE) }
  /// `ENOSYS`: the kernel does not have this system call.
  public static var noSystemCall: IOErrno { IOErrno(ENOSYS) }
  /// `ECONNRESET`: the peer reset the connection.
  public static var connectionReset: IOErrno { IOErrno(ECONNRESET) }
  /// `EOPNOTSUPP`: not supported, for example a flag this file does not take.
  public static var notSupported: IOErrno { IOErrno(EOPNOTSUPP) }
  /// `ECANCELED`: an io_uring request cancelled because a linked one failed.
  public static var canceled: IOErrno { IOErrno(ECANCELED) }

  @usableFromInline
  internal static let _names: [(Int32, String)] = [
    (EPERM, "EPERM"), (ENOENT, "ENOENT"), (EINTR, "EINTR"), (EIO, "EIO"), (ENXIO, "ENXIO"),
    (EBADF, "EBADF"), (EAGAIN, "EAGAIN"), (ENOMEM, "ENOMEM"), (EACCES, "EACCES"),
    (EFAULT, "EFAULT"), (EBUSY, "EBUSY"), (EEXIST, "EEXIST"), (EISDIR, "EISDIR"),
    (EINVAL, "EINVAL"), (ENFILE, "ENFILE"), (EMFILE, "EMFILE"), (EFBIG, "EFBIG"),
    (ENOSPC, "ENOSPC"), (ESPIPE, "ESPIPE"), (EPIPE, "EPIPE"), (ENOSYS, "ENOSYS"),
    (EOVERFLOW, "EOVERFLOW"), (ENOTSOCK, "ENOTSOCK"), (EDESTADDRREQ, "EDESTADDRREQ"),
    (EMSGSIZE, "EMSGSIZE"), (EOPNOTSUPP, "EOPNOTSUPP"), (ENOBUFS, "ENOBUFS"),
    (ENOTCONN, "ENOTCONN"), (ECONNRESET, "ECONNRESET"), (ECONNREFUSED, "ECONNREFUSED"),
    (ETIMEDOUT, "ETIMEDOUT"), (ECANCELED, "ECANCELED"), (EDQUOT, "EDQUOT"),
    (EALREADY, "EALREADY"), (EBADFD, "EBADFD"), (ENODEV, "ENODEV"),
  ]
}
