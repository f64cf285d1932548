//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

// swift-format-ignore-file: AlwaysUseLowerCamelCase
// The system_* names follow swift-system's wrappers of C calls.

// The one layer every system call of IterIO goes through (swift-system's
// `system_*` wrappers). Each wrapper is the C call, unless a test has armed a
// fault injector (IOFaultInjection.swift): then the injector sees the request
// first and may shorten it, fail it or answer it.

public import Glibc
public import Synchronization

// MARK: - Fast check

/// How many fault injectors are armed anywhere in the process. While it is 0,
/// a wrapper costs one relaxed load more than the C call.
@usableFromInline
package let _ioInjectorsArmed = Atomic<Int>(0)

// MARK: - Transfers

/// A read or write over `count` entries of `vectors`, as `call` says:
/// `read`/`write`/`pread`/`pwrite` take the first entry only.
///
/// Returns the call's result, or -1 with `errno` set.
@inlinable
package func system_transfer(
  _ call: IOSystemCall, _ fd: CInt, _ vectors: UnsafeMutablePointer<iovec>, _ count: Int,
  offset: Int64, flags: Int32
) -> Int {
  if _ioInjectorsArmed.load(ordering: .relaxed) != 0 {
    return unsafe _injectedTransfer(call, fd, vectors, count, offset: offset, flags: flags)
  }
  return unsafe _realTransfer(call, fd, vectors, count, offset: offset, flags: flags)
}

/// The C call itself.
@inlinable
package func _realTransfer(
  _ call: IOSystemCall, _ fd: CInt, _ vectors: UnsafeMutablePointer<iovec>, _ count: Int,
  offset: Int64, flags: Int32
) -> Int {
  let n = CInt(truncatingIfNeeded: count)
  switch call {
  case .read: return unsafe Glibc.read(fd, vectors[0].iov_base, vectors[0].iov_len)
  case .write: return unsafe Glibc.write(fd, vectors[0].iov_base, vectors[0].iov_len)
  case .pread: return unsafe Glibc.pread(fd, vectors[0].iov_base, vectors[0].iov_len, Int(offset))
  case .pwrite: return unsafe Glibc.pwrite(fd, vectors[0].iov_base, vectors[0].iov_len, Int(offset))
  case .readv: return unsafe Glibc.readv(fd, vectors, n)
  case .writev: return unsafe Glibc.writev(fd, vectors, n)
  case .preadv: return unsafe Glibc.preadv(fd, vectors, n, Int(offset))
  case .pwritev: return unsafe Glibc.pwritev(fd, vectors, n, Int(offset))
  case .preadv2: return unsafe _libc.preadv2(fd, vectors, n, Int(offset), flags)
  case .pwritev2: return unsafe _libc.pwritev2(fd, vectors, n, Int(offset), flags)
  default:
    errno = EINVAL
    return -1
  }
}

/// `sendmsg(2)` or `recvmsg(2)`. Returns the result, or -1 with `errno` set.
@inlinable
package func system_message(
  _ call: IOSystemCall, _ fd: CInt, _ message: UnsafeMutablePointer<msghdr>, flags: Int32
) -> Int {
  if _ioInjectorsArmed.load(ordering: .relaxed) != 0 {
    return unsafe _injectedMessage(call, fd, message, flags: flags)
  }
  return unsafe _realMessage(call, fd, message, flags: flags)
}

@inlinable
package func _realMessage(
  _ call: IOSystemCall, _ fd: CInt, _ message: UnsafeMutablePointer<msghdr>, flags: Int32
) -> Int {
  call == .sendmsg
    ? unsafe Glibc.sendmsg(fd, message, flags) : unsafe Glibc.recvmsg(fd, message, flags)
}

// MARK: - io_uring and its memory

/// `io_uring_setup(2)`: returns the ring's descriptor, or -1 with `errno` set.
package func system_io_uring_setup(_ entries: UInt32, _ params: UnsafeMutableRawPointer) -> Int {
  if let result = _injectedControl(.ioUringSetup, -1) { return result }
  return _libc.syscall(425, Int(entries), Int(bitPattern: params), 0, 0, 0, 0)
}

/// `io_uring_enter(2)` without a signal mask.
@inlinable
package func system_io_uring_enter(
  _ fd: CInt, toSubmit: UInt32, minComplete: UInt32, flags: UInt32
) -> Int {
  if _ioInjectorsArmed.load(ordering: .relaxed) != 0,
    let result = _injectedControl(.ioUringEnter, fd, byteCount: Int(toSubmit))
  {
    return result
  }
  return _libc.syscall(426, Int(fd), Int(toSubmit), Int(minComplete), Int(flags), 0, 0)
}

/// `io_uring_register(2)`.
package func system_io_uring_register(
  _ fd: CInt, _ opcode: UInt32, _ argument: UnsafeMutableRawPointer?, _ count: UInt32
) -> Int {
  if let result = _injectedControl(.ioUringRegister, fd, byteCount: Int(count)) {
    return result
  }
  return _libc.syscall(
    427, Int(fd), Int(opcode), Int(bitPattern: argument), Int(count), 0, 0)
}

/// `mmap(2)` of `length` bytes of a descriptor, shared, read and write.
/// Returns `nil` with `errno` set on failure.
package func system_mmap(_ fd: CInt, length: Int, offset: Int64) -> UnsafeMutableRawPointer? {
  if let result = _injectedControl(.mmap, fd, byteCount: length), result < 0 {
    return nil
  }
  let p = unsafe Glibc.mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, Int(offset))
  return unsafe p == MAP_FAILED ? nil : p
}

/// `munmap(2)`.
package func system_munmap(_ address: UnsafeMutableRawPointer, _ length: Int) -> Int {
  Int(unsafe Glibc.munmap(address, length))
}

/// `close(2)`.
package func system_close(_ fd: CInt) -> Int {
  if let result = _injectedControl(.close, fd) { return result }
  return Int(Glibc.close(fd))
}

// MARK: - Symbols Swift does not import

/// C entry points the Glibc module does not import: the variadic `syscall`
/// (called through a fixed-arity pointer, which the x86-64 and AArch64 Linux
/// calling conventions pass identically for integer arguments) and
/// `preadv2`/`pwritev2` (declared only under `_GNU_SOURCE`).
@usableFromInline
@safe package struct _LibC: @unchecked Sendable {  // Safe because: immutable C function pointers.
  @usableFromInline
  package typealias Syscall = @convention(c) (Int, Int, Int, Int, Int, Int, Int) -> Int
  @usableFromInline
  package typealias Vectored2 =
    @convention(c) (
      CInt, UnsafePointer<iovec>?, CInt, Int, CInt
    ) -> Int

  @usableFromInline package let syscall: Syscall
  @usableFromInline package let preadv2: Vectored2
  @usableFromInline package let pwritev2: Vectored2

  init() {
    let handle = unsafe dlopen(nil, RTLD_NOW)
    func symbol<T>(_ name: String, as type: T.Type) -> T {
      guard let p = unsafe dlsym(handle, name) else {
        fatalError("IterIO: the C library has no \(name)")  // glibc has had all three since 2.26
      }
      return unsafe unsafeBitCast(p, to: type)
    }
    syscall = symbol("syscall", as: Syscall.self)
    unsafe preadv2 = unsafe symbol("preadv2", as: Vectored2.self)
    unsafe pwritev2 = unsafe symbol("pwritev2", as: Vectored2.self)
  }
}

@usableFromInline
package let _libc = _LibC()
