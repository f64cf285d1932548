//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// A system call that IterIO makes, by its C name.
///
/// Every system call IterIO makes goes through one internal layer, and
/// ``IterIOError/call`` names the one that failed (or, for a check made before
/// any call, the one that would have been made).
///
/// Sendable: a plain value.
public enum IOSystemCall: String, Hashable, Sendable, CustomStringConvertible {
  /// `read(2)`: a destination with one piece of memory.
  case read
  /// `write(2)`: a source with one piece of memory.
  case write
  /// `pread(2)`.
  case pread
  /// `pwrite(2)`.
  case pwrite
  /// `readv(2)`.
  case readv
  /// `writev(2)`.
  case writev
  /// `preadv(2)`.
  case preadv
  /// `pwritev(2)`.
  case pwritev
  /// `preadv2(2)`: a read with ``IORWFlags``.
  case preadv2
  /// `pwritev2(2)`: a write with ``IORWFlags``.
  case pwritev2
  /// `sendmsg(2)`.
  case sendmsg
  /// `recvmsg(2)`.
  case recvmsg
  /// `io_uring_setup(2)`.
  case ioUringSetup = "io_uring_setup"
  /// `io_uring_enter(2)`.
  case ioUringEnter = "io_uring_enter"
  /// `io_uring_register(2)`.
  case ioUringRegister = "io_uring_register"
  /// `mmap(2)` of an io_uring's rings.
  case mmap
  /// `munmap(2)` of an io_uring's rings.
  case munmap
  /// `close(2)` of an io_uring's descriptor.
  case close

  /// The C name, such as `"writev"`.
  public var description: String { rawValue }

  /// Whether the call moves bytes into memory (a read).
  @inlinable
  public var isRead: Bool {
    switch self {
    case .read, .pread, .readv, .preadv, .preadv2, .recvmsg: true
    default: false
    }
  }
}
