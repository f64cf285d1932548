//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// One request of a ``BioVecRequestBatch``: its chunk and byte counts and why
/// it ended.
@usableFromInline
internal struct _BatchEntry {
  @usableFromInline internal var count: Int
  @usableFromInline internal var bytes: Int
  @usableFromInline internal var end: RequestEnd

  @inlinable
  internal init(count: Int, bytes: Int, end: RequestEnd) {
    self.count = count
    self.bytes = bytes
    self.end = end
  }
}

/// A caller-owned buffer for several requests, filled by one
/// ``BioVecMapper/mapNextRequests(from:into:)`` call.
///
/// A driver that submits requests in batches (an NVMe submission queue, an
/// `io_uring` ring) maps them in one call: the mapper keeps its state across
/// the requests instead of setting it up for each, and a run of memory that
/// opens the next request is not looked at twice. Each request is the one
/// ``BioVecMapper/mapNextRequest(from:into:)`` would have made.
///
/// ```swift
/// var batch = BioVecRequestBatch(requests: 32, for: limits)
/// while try mapper.mapNextRequests(from: &iter, into: &batch) > 0 {
///   for i in 0..<batch.count {
///     batch.withChunks(ofRequest: i) { submit($0) }
///   }
/// }
/// ```
///
/// Not Sendable: it owns raw buffers that the mapper fills; move it, do not
/// share it.
@safe
public struct BioVecRequestBatch: ~Copyable {
  /// The chunks: request `i` starts at `i * chunksPerRequest`.
  @usableFromInline internal let _base: UnsafeMutablePointer<BioVec>
  @usableFromInline internal let _entries: UnsafeMutablePointer<_BatchEntry>
  /// The request the last one of a batch is mapped into (the single-request path).
  @usableFromInline internal var _scratch: BioVecRequest
  /// The most requests the batch holds.
  public let capacity: Int
  /// The most chunks each request holds.
  public let chunksPerRequest: Int
  @usableFromInline internal var _count: Int

  /// A batch with room for `requests` requests (clamped to `1...4096`) of
  /// `limits.maxSegments` chunks each.
  ///
  /// - Complexity: O(1) (four allocations).
  public init(requests: Int, for limits: DMALimits) {
    let n = Swift.min(Swift.max(requests, 1), 4096)
    let per = limits.maxSegments
    unsafe _base = .allocate(capacity: n * per)
    unsafe _entries = .allocate(capacity: n)
    _scratch = BioVecRequest(capacity: per)
    capacity = n
    chunksPerRequest = per
    _count = 0
  }

  deinit {
    unsafe _base.deallocate()
    unsafe _entries.deallocate()
  }

  /// The requests in the batch.
  @inlinable public var count: Int { _count }

  /// Whether the batch holds no request.
  @inlinable public var isEmpty: Bool { _count == 0 }

  /// The bytes of every request in the batch.
  ///
  /// - Complexity: O(*n*) for the *n* requests.
  public var byteCount: Int {
    var total = 0
    for i in 0..<_count { total += unsafe _entries[i].bytes }
    return total
  }

  /// The bytes of request `index`.
  ///
  /// - Precondition: `0 <= index < count`.
  /// - Complexity: O(1).
  public func byteCount(ofRequest index: Int) -> Int {
    _check(index)
    return unsafe _entries[index].bytes
  }

  /// Why request `index` ended.
  ///
  /// - Precondition: `0 <= index < count`.
  /// - Complexity: O(1).
  public func end(ofRequest index: Int) -> RequestEnd {
    _check(index)
    return unsafe _entries[index].end
  }

  /// Calls `body` with the chunks of request `index`.
  ///
  /// - Precondition: `0 <= index < count`.
  /// - Complexity: O(1) plus `body`.
  public func withChunks<R, E: Error>(
    ofRequest index: Int, _ body: (UnsafeBufferPointer<BioVec>) throws(E) -> R
  ) throws(E) -> R {
    _check(index)
    return try unsafe body(UnsafeBufferPointer(start: _base + index * chunksPerRequest, count: _entries[index].count))
  }

  /// The chunks of request `index`, as an array (for tests and printing).
  ///
  /// - Precondition: `0 <= index < count`.
  /// - Complexity: O(*n*) for the *n* chunks.
  public func chunks(ofRequest index: Int) -> [BioVec] {
    unsafe withChunks(ofRequest: index) { unsafe Array($0) }
  }

  private func _check(_ index: Int) {
    precondition(index >= 0 && index < _count, "BioVecRequestBatch request \(index) out of range 0..<\(_count)")
  }

  /// Puts the request in `_scratch` into slot `_count`.
  @usableFromInline
  internal mutating func _appendScratch() {
    let slot = unsafe _base + _count * chunksPerRequest
    unsafe _scratch.withUnsafeBufferPointer { chunks in
      unsafe slot.initialize(from: chunks.baseAddress!, count: chunks.count)
    }
    unsafe (_entries + _count).initialize(
      to: _BatchEntry(count: _scratch.count, bytes: _scratch.byteCount, end: _scratch.end))
    _count += 1
  }
}

@available(*, unavailable, message: "it owns raw buffers that the mapper fills")
extension BioVecRequestBatch: Sendable {}
