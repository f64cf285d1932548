//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterTestSupport
import IterTypes
import Synchronization
import Testing

@testable import IterIO

// MARK: - Bytes

/// Bytes that make a lost, duplicated or misplaced byte visible.
func pattern(_ count: Int, seed: UInt64) -> [UInt8] {
  var rng = SeededGenerator(seed: seed)
  return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}

/// Every byte a cursor has left, read through a copy (no direction check).
func bytesLeft<S>(_ iter: IovIter<S>, max: Int = .max) -> [UInt8] {
  var out: [UInt8] = []
  iter.forEachChunk(maxCount: max) { span in
    span.withUnsafeBytes { out.append(contentsOf: $0) }
    return true
  }
  return out
}

/// A source cursor over `memory`, cut into `sizes`.
func sourceList(_ memory: TestMemory, sizes: [Int]) -> UnsafeSegmentList {
  var at = 0
  var segments: [IterSegment] = []
  for s in sizes {
    segments.append(IterSegment(base: memory.base + at, count: s))
    at += s
  }
  return UnsafeSegmentList(segments)
}

func fill(_ memory: TestMemory, with bytes: [UInt8], at offset: Int = 0) {
  _ = bytes.withUnsafeBytes { memcpy(memory.base + offset, $0.baseAddress!, $0.count) }
}

func contents(_ memory: TestMemory, _ range: Range<Int>) -> [UInt8] {
  Array(UnsafeRawBufferPointer(start: memory.base + range.lowerBound, count: range.count))
}

// MARK: - Descriptors

struct Pipe {
  let read: CInt
  let write: CInt
  init(size: Int? = nil) {
    var fds: [CInt] = [0, 0]
    precondition(pipe(&fds) == 0, "pipe failed: \(errno)")
    read = fds[0]
    write = fds[1]
    if let size { _ = fcntl(write, 1031, CInt(size)) }  // 1031: F_SETPIPE_SZ
  }
  func close() {
    _ = Glibc.close(read)
    _ = Glibc.close(write)
  }
}

func socketPair(_ type: Int32 = Int32(SOCK_STREAM.rawValue)) -> (CInt, CInt) {
  var fds: [CInt] = [0, 0]
  precondition(socketpair(AF_UNIX, type, 0, &fds) == 0, "socketpair failed: \(errno)")
  return (fds[0], fds[1])
}

func setNonBlocking(_ fd: CInt) {
  _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
}

/// A connected TCP pair on 127.0.0.1.
func tcpPair() -> (CInt, CInt) {
  let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  address.sin_port = 0
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      precondition(bind(listener, $0, length) == 0, "bind failed: \(errno)")
      precondition(getsockname(listener, $0, &length) == 0)
    }
  }
  precondition(listen(listener, 1) == 0)
  let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      precondition(connect(client, $0, length) == 0, "connect failed: \(errno)")
    }
  }
  let server = accept(listener, nil, nil)
  close(listener)
  return (client, server)
}

/// A temporary file on tmpfs (so sparse holes cost no memory), unlinked on creation.
func temporaryFile() -> CInt {
  var template = Array("/dev/shm/iter-io-XXXXXX".utf8CString)
  let fd = mkstemp(&template)
  precondition(fd >= 0, "mkstemp failed: \(errno)")
  unlink(template)
  return fd
}

// MARK: - Threads

private final class _ThreadBody {
  let body: () -> Void
  init(_ body: @escaping () -> Void) { self.body = body }
}

/// A POSIX thread (so that a signal can be sent to it with `pthread_kill`).
final class TestThread: @unchecked Sendable {  // Safe because: joined before its result is read.
  private(set) var handle = pthread_t()

  init(_ body: @escaping @Sendable () -> Void) {
    let box = Unmanaged.passRetained(_ThreadBody(body)).toOpaque()
    let rc = pthread_create(
      &handle, nil,
      { raw in
        let box = Unmanaged<_ThreadBody>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
      }, box)
    precondition(rc == 0, "pthread_create failed: \(rc)")
  }

  func join() { pthread_join(handle, nil) }
}

/// A value set on one thread and read on another after a join.
final class Box<T>: @unchecked Sendable {  // Safe because: guarded by the mutex.
  private let lock = Mutex(())
  private var _value: T
  init(_ value: T) { _value = value }
  var value: T {
    get { lock.withLock { _ in _value } }
    set { lock.withLock { _ in _value = newValue } }
  }
}

// MARK: - Faults

/// Answers each system call from a script, then with `fallback`; records
/// every request it saw.
final class ScriptedFaults: IOFaultInjector {
  struct State {
    var script: [IOFaultAction]
    var requests: [IOSyscallRequest] = []
  }
  let state: Mutex<State>
  let fallback: @Sendable (IOSyscallRequest) -> IOFaultAction

  init(
    _ script: [IOFaultAction] = [],
    fallback: @escaping @Sendable (IOSyscallRequest) -> IOFaultAction = { _ in .proceed }
  ) {
    state = Mutex(State(script: script))
    self.fallback = fallback
  }

  func action(for request: IOSyscallRequest) -> IOFaultAction {
    let scripted: IOFaultAction? = state.withLock {
      $0.requests.append(request)
      return $0.script.isEmpty ? nil : $0.script.removeFirst()
    }
    return scripted ?? fallback(request)
  }

  var requests: [IOSyscallRequest] { state.withLock { $0.requests } }
  var calls: [IOSystemCall] { requests.map(\.call) }
}
