//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import Glibc
public import IterCore

extension IovIter {
  /// Sends the iterator's next bytes on socket `descriptor` with one
  /// `sendmsg(2)`, with optional control data and destination address, and
  /// advances by the bytes sent.
  ///
  /// The entries are built as for ``writev(to:)`` (at most `IterLimits.maxIOVectorCount`
  /// and `IterLimits.maxReadWriteCount` bytes; one datagram is one call, so a
  /// datagram larger than that is not split but cut short by these limits).
  /// `flags` go to the kernel unchanged. `EINTR` is retried.
  ///
  /// A stream socket whose peer has closed raises `SIGPIPE` unless the
  /// process ignores it or `flags` has ``IOMessageFlags/noSignal``.
  ///
  /// - Parameters:
  ///   - descriptor: A socket.
  ///   - flags: `MSG_*` flags, passed through.
  ///   - control: Ancillary data (`cmsghdr` records, such as `SCM_RIGHTS`), or `nil`.
  ///   - address: A `sockaddr` for an unconnected datagram socket, or `nil`.
  /// - Returns: As ``writev(to:)``.
  /// - Throws: As ``writev(to:)``.
  /// - Complexity: O(*s*) for the segments described, plus the call.
  ///
  /// The corresponding C function is `sendmsg(2)`.
  @inlinable
  public mutating func sendmsg(
    to descriptor: CInt, flags: IOMessageFlags = [], control: UnsafeRawBufferPointer? = nil,
    address: UnsafeRawBufferPointer? = nil
  ) throws(IterIOError) -> IOResult {
    try _checkDirection(read: false, call: .sendmsg)
    let moved = try unsafe _withIOVectors(call: .sendmsg, discardsToScratch: false) {
      (vectors, bytes) throws(IterIOError) -> Int in
      var message = unsafe msghdr()
      unsafe message.msg_name = UnsafeMutableRawPointer(mutating: address?.baseAddress)
      unsafe message.msg_namelen = socklen_t(address?.count ?? 0)
      unsafe message.msg_iov = vectors.baseAddress
      unsafe message.msg_iovlen = vectors.count
      unsafe message.msg_control = UnsafeMutableRawPointer(mutating: control?.baseAddress)
      unsafe message.msg_controllen = control?.count ?? 0
      return try unsafe Self._message(.sendmsg, descriptor, &message, flags: flags, bytes: bytes)
    }
    if moved < 0 { return IOResult(byteCount: 0, status: .wouldBlock) }
    try _advanceMoved(moved, call: .sendmsg)
    return IOResult(byteCount: moved, status: .transferred)
  }

  /// Receives from socket `descriptor` into the iterator's next bytes with one
  /// `recvmsg(2)`, with optional control data and sender address, and
  /// advances by the bytes received.
  ///
  /// The entries are built as for ``readv(from:)``: discard segments receive
  /// into a scratch page. `flags` go to the kernel unchanged and the
  /// `msg_flags` it returns come back in ``IOMessageResult/messageFlags``.
  /// `EINTR` is retried.
  ///
  /// - Parameters:
  ///   - descriptor: A socket.
  ///   - flags: `MSG_*` flags, passed through.
  ///   - control: Room for ancillary data, or `nil`; ``IOMessageResult/controlCount``
  ///     says how much was written.
  ///   - address: Room for the sender's `sockaddr`, or `nil`.
  /// - Returns: The bytes received with ``IOStatus/transferred``; 0 with
  ///   ``IOStatus/endOfFile`` when the call returned 0 (a stream's peer shut
  ///   down its writing side; on a datagram socket, also an empty datagram);
  ///   0 with ``IOStatus/wouldBlock`` on `EAGAIN`.
  /// - Throws: As ``readv(from:)``.
  /// - Complexity: O(*s*) for the segments described, plus the call.
  ///
  /// The corresponding C function is `recvmsg(2)`.
  @inlinable
  public mutating func recvmsg(
    from descriptor: CInt, flags: IOMessageFlags = [],
    control: UnsafeMutableRawBufferPointer? = nil, address: UnsafeMutableRawBufferPointer? = nil
  ) throws(IterIOError) -> IOMessageResult {
    try _checkDirection(read: true, call: .recvmsg)
    var out = (flags: Int32(0), control: 0, address: 0)
    let moved = try unsafe _withIOVectors(call: .recvmsg, discardsToScratch: true) {
      (vectors, bytes) throws(IterIOError) -> Int in
      var message = unsafe msghdr()
      unsafe message.msg_name = address?.baseAddress
      unsafe message.msg_namelen = socklen_t(address?.count ?? 0)
      unsafe message.msg_iov = vectors.baseAddress
      unsafe message.msg_iovlen = vectors.count
      unsafe message.msg_control = control?.baseAddress
      unsafe message.msg_controllen = control?.count ?? 0
      let n = try unsafe Self._message(.recvmsg, descriptor, &message, flags: flags, bytes: bytes)
      unsafe out = (message.msg_flags, message.msg_controllen, Int(message.msg_namelen))
      return n
    }
    let status: IOStatus
    if moved < 0 {
      status = .wouldBlock
    } else if moved == 0 && count > 0 {
      status = .endOfFile
    } else {
      status = .transferred
      try _advanceMoved(moved, call: .recvmsg)
    }
    return unsafe IOMessageResult(
      result: IOResult(byteCount: Swift.max(moved, 0), status: status),
      messageFlags: IOMessageFlags(rawValue: out.flags),
      controlCount: control == nil ? 0 : out.control,
      addressCount: address == nil ? 0 : out.address)
  }

  /// One `sendmsg`/`recvmsg`, retried on `EINTR`; -1 for `EAGAIN`.
  @inlinable
  internal static func _message(
    _ call: IOSystemCall, _ fd: CInt, _ message: UnsafeMutablePointer<msghdr>,
    flags: IOMessageFlags, bytes: Int
  ) throws(IterIOError) -> Int {
    while true {
      let n = unsafe system_message(call, fd, message, flags: flags.rawValue)
      if n >= 0 { return Swift.min(n, bytes) }
      let code = errno
      if code == EINTR { continue }
      if code == EAGAIN || code == EWOULDBLOCK { return -1 }
      throw IterIOError(.systemCall(IOErrno(code)), call: call)
    }
  }
}
