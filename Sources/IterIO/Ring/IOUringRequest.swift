//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

internal import Glibc
public import IterCore

/// One transfer in flight on an ``IOUring``: what it has done so far, and the
/// holds it releases when it finishes.
///
/// Submit it with ``IOUring/submit(_:linkedToNext:)``; completions are reaped
/// by ``IOUring/wait(minimumCompletions:)`` and ``IOUring/drain()``. While it
/// is in flight the ring keeps it (and the `iovec` entries the kernel reads)
/// alive. Use ``IOUringTransfer`` for a transfer from an iterator.
///
/// Not Sendable: the ring that owns it writes its status in place when the completion arrives.
public class IOUringRequest {
  /// The bytes moved so far, over every completion.
  public internal(set) var byteCount = 0
  /// Whether the request is done: every byte moved, the end of the file
  /// reached, or an error.
  public internal(set) var isFinished = false
  /// Why it finished: ``IOStatus/transferred`` or ``IOStatus/endOfFile``.
  public internal(set) var status: IOStatus = .transferred
  /// The error it finished with, if any; its ``IterIOError/progress`` is
  /// ``byteCount``.
  public internal(set) var error: IterIOError? = nil
  /// How many completions it took (more than one after short transfers).
  public internal(set) var completionCount = 0

  internal var _releases: [@Sendable () -> Void] = []
  internal var _retentions: [_RetentionBox] = []
  internal var _linked = false

  internal init() {}

  /// Keeps `retention` until the request finishes, then releases it (on the
  /// thread that reaps the completion).
  ///
  /// - Parameter retention: An extraction's hold on the memory being moved.
  /// - Complexity: O(1).
  public func hold(_ retention: consuming IterRetention) {
    _retentions.append(_RetentionBox(retention))
  }

  /// Runs `release` once when the request finishes (completion, error or
  /// cancellation), on the thread that reaps the completion.
  ///
  /// - Parameter release: Gives back a hold on the memory being moved.
  /// - Complexity: O(1).
  public func hold(release: @escaping @Sendable () -> Void) {
    _releases.append(release)
  }

  /// Fills `sqe` (zeroed) for the next part of the request.
  internal func _prepare(
    _ sqe: UnsafeMutableRawPointer, registered: [(start: UInt, end: UInt)]
  ) throws(IterIOError) {
    fatalError("IOUringRequest is abstract")
  }

  /// Takes one completion. Returns whether the request must be submitted again.
  internal func _complete(_ result: Int32) -> Bool {
    fatalError("IOUringRequest is abstract")
  }

  internal func _finish(_ status: IOStatus, error: IterIOError? = nil) {
    isFinished = true
    self.status = status
    self.error = error
    for release in _releases { release() }
    _releases.removeAll(keepingCapacity: true)
    for box in _retentions { box.release() }
    _retentions.removeAll(keepingCapacity: true)
  }
}

/// Holds a `~Copyable` retention in a class so that a list can keep it.
internal final class _RetentionBox {
  var retention: IterRetention?
  init(_ retention: consuming IterRetention) { self.retention = consume retention }
  func release() { retention.take()?.release() }
}

/// A read or write between an iterator and a descriptor, carried out by an
/// ``IOUring``: READV/WRITEV with the iterator's `iovec` entries, or
/// READ_FIXED/WRITE_FIXED over registered buffers.
///
/// A `IterDirection.source` iterator is written to the descriptor, a
/// `IterDirection.destination` one is filled from it. Each completion
/// advances ``iterator`` by what it moved; a short transfer is submitted
/// again for the rest (at the file offset moved on by as much), so a finished
/// transfer has moved everything, reached the end of the file, or failed.
/// The `iovec` storage is allocated once per transfer and reused across
/// resubmissions and ``reset(_:offset:)``.
///
/// Not supported: a destination with discard segments (io_uring needs memory
/// to read into), and a fixed transfer whose memory is not inside one
/// registered buffer; both are typed errors at submission.
///
/// Not Sendable: as ``IOUringRequest``, and it owns the iovec array the kernel reads.
@safe
public final class IOUringTransfer<Source: IterSegmentSource>: IOUringRequest {
  /// The iterator, advanced by every completion.
  public private(set) var iterator: IovIter<Source>
  /// The descriptor.
  public let descriptor: CInt
  /// The file offset of the next byte, or `nil` for the file position (pipes, sockets).
  public private(set) var offset: Int64?
  /// Whether to use READ_FIXED/WRITE_FIXED (registered buffers), one
  /// contiguous piece per submission.
  public let fixed: Bool
  private var _vectors: UnsafeMutableBufferPointer<iovec>
  private var _inFlightBytes = 0

  /// Creates a transfer.
  ///
  /// - Parameters:
  ///   - iterator: What to write (a source) or fill (a destination).
  ///   - descriptor: An open file, pipe or socket.
  ///   - offset: The file offset of the first byte, or `nil` for the file position.
  ///   - fixed: Use registered buffers (``IOUring/registerBuffers(_:)``).
  /// - Complexity: O(1); the `iovec` storage is allocated here.
  public init(_ iterator: IovIter<Source>, descriptor: CInt, offset: Int64? = nil, fixed: Bool = false) {
    self.iterator = iterator
    self.descriptor = descriptor
    self.offset = offset
    self.fixed = fixed
    let capacity = fixed ? 1 : Swift.min(IterLimits.maxIOVectorCount, Swift.max(1, iterator.segmentsRemaining))
    unsafe _vectors = UnsafeMutableBufferPointer<iovec>.allocate(capacity: capacity)
    super.init()
  }

  deinit { unsafe _vectors.deallocate() }

  /// Starts over with another iterator (same descriptor), keeping the
  /// `iovec` storage when it is large enough. Only for a transfer not in flight.
  ///
  /// - Parameters:
  ///   - iterator: The next iterator.
  ///   - offset: Its file offset, or `nil`.
  /// - Complexity: O(1).
  public func reset(_ iterator: IovIter<Source>, offset: Int64? = nil) {
    precondition(isFinished || completionCount == 0, "IOUringTransfer.reset while in flight")
    self.iterator = iterator
    self.offset = offset
    byteCount = 0
    isFinished = false
    status = .transferred
    error = nil
    completionCount = 0
    let need = fixed ? 1 : Swift.min(IterLimits.maxIOVectorCount, Swift.max(1, iterator.segmentsRemaining))
    if unsafe _vectors.count < need {
      unsafe _vectors.deallocate()
      unsafe _vectors = UnsafeMutableBufferPointer<iovec>.allocate(capacity: need)
    }
  }

  private var _isRead: Bool { iterator.direction == .destination }

  private var _call: IOSystemCall { _isRead ? .readv : .writev }

  override internal func _prepare(
    _ sqe: UnsafeMutableRawPointer, registered: [(start: UInt, end: UInt)]
  ) throws(IterIOError) {
    let limit = Swift.min(iterator.count, IterLimits.maxReadWriteCount)
    let capacity = fixed ? 1 : unsafe _vectors.count
    let exported: IterGather
    do {
      exported = try unsafe iterator.gather(
        into: UnsafeMutableBufferPointer(rebasing: _vectors[..<capacity]), maxBytes: limit)
    } catch {
      throw IterIOError(.iterator(error), call: _call, progress: byteCount)
    }
    if exported.byteCount == 0 && limit > 0 {
      throw IterIOError(
        .invalidArgument(
          name: "segment", value: iterator.position.segmentIndex,
          reason: "a segment without memory cannot be read into by io_uring"),
        call: _call, progress: byteCount)
    }
    _inFlightBytes = exported.byteCount
    let opcode: UInt8
    var bufferIndex: UInt16 = 0
    let address: UInt64
    let length: UInt32
    if fixed {
      let start = UInt(bitPattern: unsafe _vectors[0].iov_base)
      let end = start + UInt(exported.byteCount)
      guard let index = registered.firstIndex(where: { $0.start <= start && end <= $0.end }) else {
        throw IterIOError(
          .invalidArgument(
            name: "address", value: Int(bitPattern: start),
            reason: "not inside a registered buffer"),
          call: _isRead ? .readv : .writev, progress: byteCount)
      }
      opcode = _isRead ? 4 : 5  // IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED
      bufferIndex = UInt16(index)
      address = UInt64(start)
      length = UInt32(exported.byteCount)
    } else {
      opcode = _isRead ? 1 : 2  // IORING_OP_READV, IORING_OP_WRITEV
      address = UInt64(UInt(bitPattern: unsafe _vectors.baseAddress))
      length = UInt32(exported.vectorCount)
    }
    unsafe sqe.storeBytes(of: opcode, toByteOffset: 0, as: UInt8.self)
    unsafe sqe.storeBytes(of: descriptor, toByteOffset: 4, as: Int32.self)
    unsafe sqe.storeBytes(of: UInt64(bitPattern: offset ?? -1), toByteOffset: 8, as: UInt64.self)
    unsafe sqe.storeBytes(of: address, toByteOffset: 16, as: UInt64.self)
    unsafe sqe.storeBytes(of: length, toByteOffset: 24, as: UInt32.self)
    unsafe sqe.storeBytes(of: bufferIndex, toByteOffset: 40, as: UInt16.self)
  }

  override internal func _complete(_ result: Int32) -> Bool {
    completionCount += 1
    if result < 0 {
      let code = -result
      // A short transfer earlier in a linked chain cancels the rest; an
      // interrupted or would-block request is simply tried again.
      if code == ECANCELED || code == EINTR || code == EAGAIN { return true }
      _finish(.transferred, error: IterIOError(.systemCall(IOErrno(code)), call: _call, progress: byteCount))
      return false
    }
    let moved = Swift.min(Int(result), _inFlightBytes)
    if moved == 0 {
      if _isRead {
        _finish(.endOfFile)
      } else {
        _finish(.transferred, error: IterIOError(.writeMadeNoProgress, call: _call, progress: byteCount))
      }
      return false
    }
    do { try iterator.advance(by: moved) } catch {
      // The iterator's source changed under it while the kernel moved bytes.
      byteCount += moved
      _finish(.transferred, error: IterIOError(.iterator(error), call: _call, progress: byteCount))
      return false
    }
    byteCount += moved
    if let offset { self.offset = offset + Int64(moved) }
    if iterator.isEmpty {
      _finish(.transferred)
      return false
    }
    return true
  }
}

@available(*, unavailable, message: "the ring that owns it writes its status in place when the completion arrives")
extension IOUringRequest: Sendable {}
