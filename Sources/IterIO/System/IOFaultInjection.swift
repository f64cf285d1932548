//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

// Test hooks (package, not API): a fault injector armed for one task sees
// every system call IterIO makes on that task's thread and decides what it
// does. Tests use it to make short transfers, EINTR, EAGAIN and errors happen
// exactly where they want them.

public import Glibc
internal import Synchronization

/// One system call as the seam sees it, before it is made.
package struct IOSyscallRequest: Hashable, Sendable {
  /// Which call.
  package var call: IOSystemCall
  /// The descriptor.
  package var descriptor: CInt
  /// The `iovec` entries passed (1 for `read`/`write`, 0 for control calls).
  package var vectorCount: Int
  /// The bytes the call would move at most (for io_uring control calls, its count argument).
  package var byteCount: Int
  /// The file offset (-1 when there is none).
  package var offset: Int64
  /// The `RWF_*` or `MSG_*` flags.
  package var flags: Int32
}

/// What an armed injector makes a system call do.
package enum IOFaultAction: Hashable, Sendable {
  /// Make the call as asked.
  case proceed
  /// Make the call, but over at most this many bytes (a short transfer at a
  /// byte the test picks). A limit of 0 makes no call and returns 0.
  case limit(Int)
  /// Make no call; fail with this `errno`.
  case fail(Int32)
  /// Make no call; return this value.
  case answer(Int)
}

/// Decides what each system call does while armed with ``withIOFaultInjector(_:_:)``.
/// Called on the thread making the call.
package protocol IOFaultInjector: Sendable {
  func action(for request: IOSyscallRequest) -> IOFaultAction
}

package enum _IOSeam {
  @TaskLocal package static var injector: (any IOFaultInjector)? = nil
}

/// Runs `body` with `injector` deciding every system call IterIO makes from
/// this task (and its child tasks). Other tasks and threads are not affected.
package func withIOFaultInjector<R>(
  _ injector: any IOFaultInjector, _ body: () throws -> R
) rethrows -> R {
  _ioInjectorsArmed.add(1, ordering: .relaxed)
  defer { _ioInjectorsArmed.subtract(1, ordering: .relaxed) }
  return try _IOSeam.$injector.withValue(injector, operation: body)
}

/// The async form of ``withIOFaultInjector(_:_:)``.
package func withIOFaultInjector<R>(
  _ injector: any IOFaultInjector, _ body: () async throws -> R
) async rethrows -> R {
  _ioInjectorsArmed.add(1, ordering: .relaxed)
  defer { _ioInjectorsArmed.subtract(1, ordering: .relaxed) }
  return try await _IOSeam.$injector.withValue(injector, operation: body)
}

// MARK: - Applying an action

@usableFromInline
package func _injectedTransfer(
  _ call: IOSystemCall, _ fd: CInt, _ vectors: UnsafeMutablePointer<iovec>, _ count: Int,
  offset: Int64, flags: Int32
) -> Int {
  guard let injector = _IOSeam.injector else {
    return unsafe _realTransfer(call, fd, vectors, count, offset: offset, flags: flags)
  }
  let used = call == .read || call == .write || call == .pread || call == .pwrite ? 1 : count
  var bytes = 0
  for i in 0..<used { bytes += unsafe vectors[i].iov_len }
  let request = IOSyscallRequest(
    call: call, descriptor: fd, vectorCount: used, byteCount: bytes, offset: offset, flags: flags)
  return unsafe _apply(injector.action(for: request), vectors, used) { (v, n) in
    unsafe _realTransfer(call, fd, v, n, offset: offset, flags: flags)
  }
}

@usableFromInline
package func _injectedMessage(
  _ call: IOSystemCall, _ fd: CInt, _ message: UnsafeMutablePointer<msghdr>, flags: Int32
) -> Int {
  guard let injector = _IOSeam.injector else {
    return unsafe _realMessage(call, fd, message, flags: flags)
  }
  let count = Int(unsafe message.pointee.msg_iovlen)
  var bytes = 0
  for i in 0..<count { bytes += unsafe message.pointee.msg_iov[i].iov_len }
  let request = IOSyscallRequest(
    call: call, descriptor: fd, vectorCount: count, byteCount: bytes, offset: -1, flags: flags)
  let saved = unsafe message.pointee.msg_iovlen
  defer { unsafe message.pointee.msg_iovlen = saved }
  return unsafe _apply(injector.action(for: request), message.pointee.msg_iov, count) { (_, n) in
    unsafe message.pointee.msg_iovlen = n
    return unsafe _realMessage(call, fd, message, flags: flags)
  }
}

/// Does what `action` says to a call over the first `count` entries of
/// `vectors`; `perform` makes the real call over the first `n` of them.
internal func _apply(
  _ action: IOFaultAction, _ vectors: UnsafeMutablePointer<iovec>, _ count: Int,
  _ perform: (UnsafeMutablePointer<iovec>, Int) -> Int
) -> Int {
  switch action {
  case .proceed:
    return unsafe perform(vectors, count)
  case .fail(let code):
    errno = code
    return -1
  case .answer(let value):
    return value
  case .limit(let limit):
    if limit <= 0 { return 0 }
    return unsafe _withVectorsLimited(vectors, count, to: limit, perform)
  }
}

/// Shortens the first `count` entries of `vectors` to `limit` bytes for the
/// length of `body`, then puts them back.
internal func _withVectorsLimited(
  _ vectors: UnsafeMutablePointer<iovec>, _ count: Int, to limit: Int,
  _ body: (UnsafeMutablePointer<iovec>, Int) -> Int
) -> Int {
  var left = limit
  var n = 0
  while n < count && left > 0 {
    let length = unsafe vectors[n].iov_len
    if length >= left {
      let saved = length
      unsafe vectors[n].iov_len = left
      defer { unsafe vectors[n].iov_len = saved }
      return unsafe body(vectors, n + 1)
    }
    left -= length
    n += 1
  }
  return unsafe body(vectors, n)
}

/// For the control calls: `nil` to make the real call, or the injected result.
@usableFromInline
package func _injectedControl(_ call: IOSystemCall, _ fd: CInt, byteCount: Int = 0) -> Int? {
  guard _ioInjectorsArmed.load(ordering: .relaxed) != 0, let injector = _IOSeam.injector else {
    return nil
  }
  let request = IOSyscallRequest(
    call: call, descriptor: fd, vectorCount: 0, byteCount: byteCount, offset: -1, flags: 0)
  switch injector.action(for: request) {
  case .proceed, .limit: return nil
  case .fail(let code):
    errno = code
    return -1
  case .answer(let value): return value
  }
}
