//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// Why a request ended where it did.
///
/// Sendable: a plain value.
public enum RequestEnd: Hashable, Sendable, CustomStringConvertible {
  /// The iterator had no more bytes.
  case endOfInput
  /// The next byte needed a segment past `max_segments`.
  case maxSegments
  /// The request reached `max_sectors` × 512 bytes.
  case maxBytes
  /// The next segment would leave a gap at the virt boundary (the kernel's
  /// `bvec_gap_to_prev`).
  case virtBoundaryGap

  /// `end`, `max_segments`, `max_sectors` or `virt_boundary`.
  public var description: String {
    switch self {
    case .endOfInput: "end"
    case .maxSegments: "max_segments"
    case .maxBytes: "max_sectors"
    case .virtBoundaryGap: "virt_boundary"
    }
  }
}

/// A caller-owned buffer that holds one request's ``BioVec``s.
///
/// Allocate it once with room for `max_segments` and reuse it for every
/// request: mapping into it allocates nothing.
///
/// ```swift
/// var request = BioVecRequest(for: limits)
/// while try mapper.mapNextRequest(from: &iter, into: &request) {
///   submit(request.bioVecs)
/// }
/// ```
///
/// The corresponding kernel structure is the `struct request` with its
/// `phys_vec`s (or the `scatterlist` of `blk_rq_map_sg`).
///
/// Not Sendable: it owns raw buffers that the mapper fills; move it to the task that submits it (`consume`), do not
/// share it.
@safe
public struct BioVecRequest: ~Copyable {
  @usableFromInline internal let _base: UnsafeMutablePointer<BioVec>
  /// The mapper's state while it builds a request into this buffer.
  @usableFromInline internal let _state: UnsafeMutablePointer<_RequestState>
  /// The most chunks the buffer holds.
  public let capacity: Int
  @usableFromInline internal var _count: Int
  @usableFromInline internal var _byteCount: Int
  @usableFromInline internal var _end: RequestEnd

  /// The chunks of the current request.
  @inlinable public var count: Int { _count }
  /// The bytes of the current request.
  @inlinable public var byteCount: Int { _byteCount }
  /// Why the current request ended.
  @inlinable public var end: RequestEnd { _end }

  /// A buffer with room for `capacity` chunks (clamped to `1...65535`).
  ///
  /// - Complexity: O(1) (two allocations).
  public init(capacity: Int) {
    let n = Swift.min(Swift.max(capacity, 1), DMALimits.maxSegmentsLimit)
    unsafe _base = .allocate(capacity: n)
    unsafe _state = .allocate(capacity: 1)
    unsafe _state.initialize(to: _RequestState())
    self.capacity = n
    self._count = 0
    self._byteCount = 0
    self._end = .endOfInput
  }

  /// A buffer with room for `limits.maxSegments` chunks.
  ///
  /// - Complexity: O(1) (two allocations).
  public init(for limits: DMALimits) {
    self.init(capacity: limits.maxSegments)
  }

  deinit {
    unsafe _base.deallocate()
    unsafe _state.deinitialize(count: 1)
    unsafe _state.deallocate()
  }

  /// Whether the request has no chunks.
  public var isEmpty: Bool { count == 0 }

  /// The chunk at `index`.
  ///
  /// - Precondition: `0 <= index < count`.
  /// - Complexity: O(1).
  @inlinable
  public subscript(index: Int) -> BioVec {
    precondition(index >= 0 && index < count, "BioVecRequest index \(index) out of range 0..<\(count)")
    return unsafe _base[index]
  }

  /// The chunks of the current request.
  ///
  /// - Complexity: O(1).
  public var bioVecs: Span<BioVec> {
    @_lifetime(borrow self)
    borrowing get {
      let span = unsafe Span(_unsafeStart: _base, count: count)
      return unsafe _overrideLifetime(span, borrowing: self)
    }
  }

  /// The chunks as an array (for tests and printing).
  ///
  /// - Complexity: O(*n*).
  public var array: [BioVec] {
    var out: [BioVec] = []
    out.reserveCapacity(count)
    for i in 0..<count { out.append(unsafe _base[i]) }
    return out
  }

  /// The number of chunks flagged ``BioVecFlags/needsBounce``.
  ///
  /// - Complexity: O(*n*).
  public var bounceCount: Int {
    var n = 0
    for i in 0..<count where unsafe _base[i].flags.contains(.needsBounce) { n += 1 }
    return n
  }

  /// The inner boundaries of the request ORed together: the end of every
  /// chunk but the last and the start of every chunk but the first. A request
  /// can be mapped as one IOVA range when this has no bit in the device's
  /// merge boundary.
  ///
  /// - Complexity: O(*n*).
  ///
  /// The corresponding kernel function is `req_phys_gap_mask`.
  public var gapMask: UInt64 {
    var mask: UInt64 = 0
    for i in 0..<count {
      let v = unsafe _base[i]
      if i > 0 { mask |= v.address }
      if i < count - 1 { mask |= v.endAddress }
    }
    return mask
  }

  /// Calls `body` with the chunks as a buffer pointer.
  ///
  /// - Complexity: O(1) plus `body`.
  public func withUnsafeBufferPointer<R, E: Error>(
    _ body: (UnsafeBufferPointer<BioVec>) throws(E) -> R
  ) throws(E) -> R {
    try unsafe body(UnsafeBufferPointer(start: _base, count: count))
  }

  // MARK: - Building (the mapper's)

  @inlinable
  internal mutating func _reset() {
    _count = 0
    _byteCount = 0
    _end = .endOfInput
  }

  @inlinable
  internal var _last: BioVec {
    get { unsafe _base[_count - 1] }
    nonmutating set { unsafe _base[_count - 1] = newValue }
  }

  @inlinable
  internal mutating func _append(_ v: BioVec) {
    unsafe (_base + _count).initialize(to: v)
    _count += 1
    _byteCount += Int(v.length)
  }
}

@available(*, unavailable, message: "it owns raw buffers that the mapper fills")
extension BioVecRequest: Sendable {}
