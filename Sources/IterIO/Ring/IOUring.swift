//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

internal import Glibc
internal import Synchronization

/// The features the kernel reported at ``IOUring/init(queueDepth:)``: its
/// `IORING_FEAT_*` bits.
///
/// Sendable: a plain bit set.
public struct IOUringFeatures: OptionSet, Hashable, Sendable {
  /// The `IORING_FEAT_*` bits.
  public var rawValue: UInt32
  /// Wraps `IORING_FEAT_*` bits.
  @inlinable
  public init(rawValue: UInt32) { self.rawValue = rawValue }
  /// `IORING_FEAT_SINGLE_MMAP`: both rings share one mapping.
  public static let singleMapping = IOUringFeatures(rawValue: 1 << 0)
  /// `IORING_FEAT_NODROP`: completions are never dropped on overflow.
  public static let noDrop = IOUringFeatures(rawValue: 1 << 1)
  /// `IORING_FEAT_SUBMIT_STABLE`: submitted data is copied at submission.
  public static let submitStable = IOUringFeatures(rawValue: 1 << 2)
}

/// An io_uring instance, set up with raw system calls (no liburing): the
/// submission and completion rings mapped into the process, and the
/// transfers in flight.
///
/// ```swift
/// var ring = try IOUring(queueDepth: 32)
/// let transfer = IOUringTransfer(iterator, descriptor: fd, offset: 0)
/// try ring.submit(transfer)
/// try ring.drain()                 // transfer.byteCount, transfer.error
/// ```
///
/// At most ``queueDepth`` requests are in flight; ``submit(_:linkedToNext:)``
/// waits for a completion when the ring is full. Completions are reaped by
/// the thread that calls ``wait(minimumCompletions:)`` or ``drain()``: each
/// one advances its iterator, resubmits the rest of a short transfer, and on
/// the last one releases what the request holds. The ring is `~Copyable` and
/// used from one thread at a time; it unmaps and closes when it goes away.
///
/// Where io_uring is not available (the kernel lacks it, a seccomp filter or
/// the `kernel.io_uring_disabled` sysctl refuses it), the initializer throws
/// ``IterIOError/Reason/ioUringUnavailable(_:)``; the system-call path
/// (`IovIter.writeAll(to:offset:flags:)` and the rest) works regardless.
///
/// The corresponding C functions are `io_uring_setup(2)`, `io_uring_enter(2)`
/// and `io_uring_register(2)`.
///
/// Not Sendable: its submission queue has one producer, so one task owns the ring; move it (`consume`), do not share
/// it.
@safe
public struct IOUring: ~Copyable {
  private let _fd: CInt
  private let _ringBase: UnsafeMutableRawPointer
  private let _ringLength: Int
  private let _cqBase: UnsafeMutableRawPointer
  private let _cqLength: Int  // 0 with a single mapping
  private let _sqes: UnsafeMutableRawPointer
  private let _sqesLength: Int
  private let _sqHead: UnsafeMutablePointer<Atomic<UInt32>>
  private let _sqTail: UnsafeMutablePointer<Atomic<UInt32>>
  private let _sqMask: UInt32
  private let _cqHead: UnsafeMutablePointer<Atomic<UInt32>>
  private let _cqTail: UnsafeMutablePointer<Atomic<UInt32>>
  private let _cqMask: UInt32
  private let _cqes: UnsafeMutableRawPointer
  private var _localTail: UInt32
  private var _unsubmitted = 0
  private var _inFlight = 0
  private var _registered: [(start: UInt, end: UInt)] = []
  private var _resubmit: [IOUringRequest] = []

  /// The most requests in flight at once (the submission ring's size).
  public let queueDepth: Int
  /// What the kernel supports.
  public let features: IOUringFeatures

  /// Sets up a ring for `queueDepth` requests.
  ///
  /// - Parameter queueDepth: From 1 to 4096 (rounded up to a power of two by the kernel).
  /// - Throws: ``IterIOError/Reason/ioUringUnavailable(_:)`` when the kernel
  ///   lacks io_uring (`ENOSYS`), refuses it (`EPERM`) or the rings cannot
  ///   be mapped; ``IterIOError/Reason/invalidArgument(name:value:reason:)``
  ///   for a depth out of range; ``IterIOError/Reason/systemCall(_:)`` otherwise.
  /// - Complexity: O(`queueDepth`).
  public init(queueDepth: Int) throws(IterIOError) {
    guard (1...4096).contains(queueDepth) else {
      throw IterIOError(
        .invalidArgument(name: "queueDepth", value: queueDepth, reason: "must be 1...4096"),
        call: .ioUringSetup)
    }
    var params = [UInt8](repeating: 0, count: 120)  // struct io_uring_params
    let fd = unsafe params.withUnsafeMutableBytes {
      unsafe system_io_uring_setup(UInt32(queueDepth), $0.baseAddress!)
    }
    if fd < 0 {
      let code = errno
      if code == ENOSYS || code == EPERM {
        throw IterIOError(.ioUringUnavailable(IOErrno(code)), call: .ioUringSetup)
      }
      throw IterIOError(.systemCall(IOErrno(code)), call: .ioUringSetup)
    }
    func u32(_ at: Int) -> UInt32 {
      unsafe params.withUnsafeBytes { unsafe $0.loadUnaligned(fromByteOffset: at, as: UInt32.self) }
    }
    let sqEntries = Int(u32(0))
    let cqEntries = Int(u32(4))
    let features = IOUringFeatures(rawValue: u32(20))
    // sq_off at 40: head, tail, ring_mask, ring_entries, flags, dropped, array.
    // cq_off at 80: head, tail, ring_mask, ring_entries, overflow, cqes.
    let sqLength = Int(u32(40 + 24)) + sqEntries * 4
    let cqLength = Int(u32(80 + 20)) + cqEntries * 16
    let single = features.contains(.singleMapping)
    let ringLength = single ? Swift.max(sqLength, cqLength) : sqLength
    let sqesLength = sqEntries * 64
    func unavailable(_ what: IOSystemCall) -> IterIOError {
      IterIOError(.ioUringUnavailable(IOErrno(errno)), call: what)
    }
    guard let ring = unsafe system_mmap(CInt(fd), length: ringLength, offset: 0) else {
      let error = unavailable(.mmap)
      _ = system_close(CInt(fd))
      throw error
    }
    var cq = unsafe ring
    if !single {
      guard let mapped = unsafe system_mmap(CInt(fd), length: cqLength, offset: 0x800_0000) else {
        let error = unavailable(.mmap)
        _ = unsafe system_munmap(ring, ringLength)
        _ = system_close(CInt(fd))
        throw error
      }
      unsafe cq = mapped
    }
    guard let sqes = unsafe system_mmap(CInt(fd), length: sqesLength, offset: 0x1000_0000) else {
      let error = unavailable(.mmap)
      _ = unsafe system_munmap(ring, ringLength)
      if !single { _ = unsafe system_munmap(cq, cqLength) }
      _ = system_close(CInt(fd))
      throw error
    }
    _fd = CInt(fd)
    unsafe _ringBase = ring
    _ringLength = ringLength
    unsafe _cqBase = cq
    _cqLength = single ? 0 : cqLength
    unsafe _sqes = sqes
    _sqesLength = sqesLength
    unsafe _sqHead = (ring + Int(u32(40))).assumingMemoryBound(to: Atomic<UInt32>.self)
    unsafe _sqTail = (ring + Int(u32(44))).assumingMemoryBound(to: Atomic<UInt32>.self)
    _sqMask = unsafe (ring + Int(u32(48))).load(as: UInt32.self)
    unsafe _cqHead = (cq + Int(u32(80))).assumingMemoryBound(to: Atomic<UInt32>.self)
    unsafe _cqTail = (cq + Int(u32(84))).assumingMemoryBound(to: Atomic<UInt32>.self)
    _cqMask = unsafe (cq + Int(u32(88))).load(as: UInt32.self)
    unsafe _cqes = cq + Int(u32(100))
    // The index array maps ring slot i to SQE i, once and for all.
    let array = unsafe (ring + Int(u32(64))).assumingMemoryBound(to: UInt32.self)
    for i in 0..<sqEntries { unsafe array[i] = UInt32(i) }
    _localTail = unsafe _sqTail.pointee.load(ordering: .relaxed)
    self.queueDepth = sqEntries
    self.features = features
    _resubmit.reserveCapacity(sqEntries)
  }

  deinit {
    // Requests still in flight would complete into freed memory: wait for them.
    // Queued submissions go in first, or the wait would never end.
    var left = _inFlight
    var queued = _unsubmitted
    while left > 0 {
      let n = system_io_uring_enter(
        _fd, toSubmit: UInt32(queued), minComplete: UInt32(left), flags: 1)
      if n < 0 && errno != EINTR { break }
      if n > 0 { queued -= Swift.min(n, queued) }
      left -= _reap { request, result in
        if request._complete(result) { request._finish(.transferred, error: Self._abandoned) }
      }
    }
    for request in _resubmit { request._finish(.transferred, error: Self._abandoned) }
    _ = unsafe system_munmap(_sqes, _sqesLength)
    if _cqLength > 0 { _ = unsafe system_munmap(_cqBase, _cqLength) }
    _ = unsafe system_munmap(_ringBase, _ringLength)
    _ = system_close(_fd)
  }

  /// The requests submitted whose last completion has not been reaped.
  public var inFlightCount: Int { _inFlight }

  // MARK: - Registered buffers

  /// Registers `buffers` for READ_FIXED/WRITE_FIXED (the kernel pins their
  /// pages, charged to `RLIMIT_MEMLOCK` unless the process has
  /// `CAP_IPC_LOCK`). A ``IOUringTransfer`` made with `fixed: true` then
  /// reads and writes memory inside them without per-request page mapping.
  ///
  /// A page pool's arena is one buffer: `PagePool.address` and
  /// `PagePool.byteCount` describe it.
  ///
  /// - Parameter buffers: At most 16,384 regions of at most 1 GiB each.
  /// - Throws: ``IterIOError/Reason/systemCall(_:)`` from `io_uring_register`
  ///   (`EBUSY` when buffers are already registered, `ENOMEM` past the memlock limit).
  /// - Complexity: O(*n*) for *n* buffers, plus the kernel's pinning.
  public mutating func registerBuffers(_ buffers: [UnsafeMutableRawBufferPointer]) throws(IterIOError) {
    var vectors = unsafe buffers.map { unsafe iovec(iov_base: $0.baseAddress, iov_len: $0.count) }
    let result = unsafe vectors.withUnsafeMutableBytes {
      unsafe system_io_uring_register(_fd, 0, $0.baseAddress, UInt32(buffers.count))  // IORING_REGISTER_BUFFERS
    }
    if result < 0 { throw IterIOError(.systemCall(IOErrno(errno)), call: .ioUringRegister) }
    _registered = unsafe buffers.map {
      let start = UInt(bitPattern: $0.baseAddress)
      return (start, start + UInt($0.count))
    }
  }

  /// Unregisters the buffers of ``registerBuffers(_:)``. Only with nothing in flight.
  ///
  /// - Throws: ``IterIOError/Reason/systemCall(_:)`` from `io_uring_register`.
  /// - Complexity: O(1) plus the kernel's unpinning.
  public mutating func unregisterBuffers() throws(IterIOError) {
    if system_io_uring_register(_fd, 1, nil, 0) < 0 {  // IORING_UNREGISTER_BUFFERS
      throw IterIOError(.systemCall(IOErrno(errno)), call: .ioUringRegister)
    }
    _registered = []
  }

  // MARK: - Submitting and reaping

  /// Queues `request`'s next part on the submission ring. It reaches the
  /// kernel at the next ``flush()``, ``wait(minimumCompletions:)`` or
  /// ``drain()`` (or when the ring fills), so consecutive submissions go
  /// in one batch.
  ///
  /// - Parameters:
  ///   - request: A request not already in flight.
  ///   - linkedToNext: `IOSQE_IO_LINK`: the next submission starts only after
  ///     this one completes in full. A short transfer breaks the chain; the
  ///     rest are cancelled and resubmitted, so order holds only while no
  ///     transfer comes up short (use file offsets).
  /// - Throws: ``IterIOError`` when the request cannot be described (a
  ///   discard segment, fixed memory outside every registered buffer) or a
  ///   call to make room fails; the request is then not in flight.
  /// - Complexity: O(*s*) for the segments described.
  public mutating func submit(_ request: IOUringRequest, linkedToNext: Bool = false) throws(IterIOError) {
    while _inFlight >= queueDepth { try _enter(minimumCompletions: 1) }
    request._linked = linkedToNext
    try _push(request)
  }

  private mutating func _push(_ request: IOUringRequest) throws(IterIOError) {
    let slot = Int(_localTail & _sqMask)
    let sqe = unsafe _sqes + slot * 64
    unsafe sqe.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
    try unsafe request._prepare(sqe, registered: _registered)
    if request._linked { unsafe sqe.storeBytes(of: UInt8(4), toByteOffset: 1, as: UInt8.self) }  // IOSQE_IO_LINK
    let token = unsafe UInt64(UInt(bitPattern: Unmanaged.passRetained(request).toOpaque()))
    unsafe sqe.storeBytes(of: token, toByteOffset: 32, as: UInt64.self)
    _localTail &+= 1
    unsafe _sqTail.pointee.store(_localTail, ordering: .releasing)
    _unsubmitted += 1
    _inFlight += 1
  }

  /// Hands every queued submission to the kernel without waiting.
  ///
  /// - Returns: How many the kernel took.
  /// - Throws: ``IterIOError/Reason/systemCall(_:)`` from `io_uring_enter`.
  /// - Complexity: O(1) plus the kernel's work.
  @discardableResult
  public mutating func flush() throws(IterIOError) -> Int {
    let before = _unsubmitted
    try _enter(minimumCompletions: 0)
    return before - _unsubmitted
  }

  /// Submits what is queued, waits for at least `minimumCompletions`
  /// completions, and reaps every completion there is.
  ///
  /// - Parameter minimumCompletions: How many to wait for (0 to only reap).
  /// - Returns: How many completions were reaped.
  /// - Throws: ``IterIOError/Reason/systemCall(_:)`` from `io_uring_enter`.
  /// - Complexity: O(*c*) for *c* completions, plus resubmissions.
  @discardableResult
  public mutating func wait(minimumCompletions: Int = 1) throws(IterIOError) -> Int {
    try _enter(minimumCompletions: Swift.min(minimumCompletions, _inFlight))
  }

  /// Waits until nothing is in flight: every request submitted has finished.
  ///
  /// - Throws: ``IterIOError/Reason/systemCall(_:)`` from `io_uring_enter`.
  /// - Complexity: O(*c*) for *c* completions, plus resubmissions.
  public mutating func drain() throws(IterIOError) {
    while _inFlight > 0 || !_resubmit.isEmpty { try _enter(minimumCompletions: 1) }
  }

  /// What a request still unfinished when its ring goes away finishes with.
  private static var _abandoned: IterIOError {
    IterIOError(.systemCall(.canceled), call: .ioUringEnter)
  }

  /// Submits, waits, reaps, then queues the resubmissions.
  @discardableResult
  private mutating func _enter(minimumCompletions: Int) throws(IterIOError) -> Int {
    let wanted = Swift.min(minimumCompletions, _inFlight)
    if _unsubmitted > 0 || wanted > 0 {
      let flags: UInt32 = wanted > 0 ? 1 : 0  // IORING_ENTER_GETEVENTS
      while true {
        let n = system_io_uring_enter(
          _fd, toSubmit: UInt32(_unsubmitted), minComplete: UInt32(wanted), flags: flags)
        if n >= 0 {
          _unsubmitted -= Swift.min(n, _unsubmitted)
          break
        }
        let code = errno
        if code == EINTR { continue }
        if code == EAGAIN || code == EBUSY { break }  // reap below, then try again
        throw IterIOError(.systemCall(IOErrno(code)), call: .ioUringEnter)
      }
    }
    var resubmit: [IOUringRequest] = []
    swap(&resubmit, &_resubmit)
    let reaped = _reap { request, result in
      if request._complete(result) { resubmit.append(request) }
    }
    swap(&resubmit, &_resubmit)
    _inFlight -= reaped
    while !_resubmit.isEmpty && _inFlight < queueDepth {
      let request = _resubmit.removeFirst()
      do { try _push(request) } catch {
        request._finish(.transferred, error: error)
      }
    }
    return reaped
  }

  /// Hands every completion there is to `body`, and returns how many.
  private func _reap(_ body: (IOUringRequest, Int32) -> Void) -> Int {
    var head = unsafe _cqHead.pointee.load(ordering: .relaxed)
    let tail = unsafe _cqTail.pointee.load(ordering: .acquiring)
    var count = 0
    while head != tail {
      let cqe = unsafe _cqes + Int(head & _cqMask) * 16
      let token = unsafe cqe.load(as: UInt64.self)
      let result = unsafe cqe.load(fromByteOffset: 8, as: Int32.self)
      let request = unsafe Unmanaged<IOUringRequest>.fromOpaque(
        UnsafeRawPointer(bitPattern: UInt(token))!
      ).takeRetainedValue()
      body(request, result)
      head &+= 1
      count += 1
    }
    unsafe _cqHead.pointee.store(head, ordering: .releasing)
    return count
  }
}

@available(*, unavailable, message: "its submission queue has one producer, so one task owns the ring")
extension IOUring: Sendable {}
