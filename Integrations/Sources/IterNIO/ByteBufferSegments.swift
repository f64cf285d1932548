//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore
public import IterKernelVirtual
public import NIOCore

/// A buffer kind over SwiftNIO `ByteBuffer`s: the readable bytes of one or
/// more buffers as a source, or their writable capacity as a destination, one
/// segment per buffer, in order.
///
/// Each buffer's storage is held as a `ForeignAllocation` whose owner is the
/// buffer, so the storage stays alive while the kind, any cursor over it, or
/// any extraction's retention exists: an extraction holds
/// `IterRetentionKind.ownerReference` on the buffer it lists, as a kvec
/// extraction holds its slab object.
///
/// **Copy-on-write.** A `ByteBuffer` is a value with shared storage, so
/// writing through a pointer must not reach a copy someone else holds:
///
/// - A source (``init(readableBytesOf:)-(ByteBuffer)``) only ever reads: its
///   direction is `.source`, so no cursor writes through it, and the caller's
///   buffers and their copies are never changed.
/// - A destination (``init(writableBytesOf:)-(ByteBuffer)``) takes the buffers
///   by value and makes each one's storage its own first (NIO copies storage
///   that is shared, as any mutation does). The caller's copies never see the
///   writes; the written bytes come back from
///   ``buffers(afterWriting:)``, which moves each buffer's writer index over
///   what the cursor wrote. A copy may have more capacity than the buffer
///   given (NIO rounds it up); the segments keep to the writable bytes the
///   buffers had when they were given. (NIO's copy carries the buffer's whole
///   slice, so bytes already beyond the writer index are still there.)
///
/// ```swift
/// var buffer = allocator.buffer(capacity: 4096)
/// let space = ByteBufferSegments(writableBytesOf: buffer)
/// var iter = try IovIter(space, direction: .destination)
/// let n = try iter.readv(from: fd).byteCount                  // IterIO, straight into the storage
/// buffer = try space.buffers(afterWriting: n)[0]              // the bytes, readable
/// ```
///
/// A value of the kind is a snapshot: after the buffers change, make a new one.
public struct ByteBufferSegments: IterSegmentSource {
  /// The buffers the segments describe (for a destination, with storage of
  /// their own), in segment order, with their indices as given.
  public let buffers: [ByteBuffer]

  @usableFromInline
  internal let _kvecs: KVecArray

  @usableFromInline
  internal let _allocations: [ForeignAllocation]

  /// The bytes each buffer's segment covers, in buffer order (0 for a buffer without one).
  private let _writable: [Int]

  /// `.source` for readable bytes, `.destination` for writable capacity.
  public let supportedDirections: IterDirections

  /// The readable bytes of `buffer`, as a source.
  ///
  /// - Complexity: O(1).
  public init(readableBytesOf buffer: ByteBuffer) {
    self.init(readableBytesOf: CollectionOfOne(buffer))
  }

  /// The readable bytes of each buffer in `buffers`, in order, as a source.
  ///
  /// - Complexity: O(*n*) for *n* buffers.
  public init<S: Sequence<ByteBuffer>>(readableBytesOf buffers: S) {
    // Reading takes no copy: the pointers are into the buffers' own storage,
    // which the kind's copies keep alive and no cursor over it writes.
    let buffers = Array(buffers)
    let spans = buffers.map { buffer in
      buffer.withUnsafeReadableBytes { bytes in
        bytes.baseAddress.map { (UnsafeMutableRawPointer(mutating: $0), bytes.count) }
      }
    }
    self.init(buffers, spans: spans, directions: .source)
  }

  /// The writable capacity of `buffer` (its bytes from the writer index to
  /// the capacity), as a destination, on storage of its own.
  ///
  /// - Complexity: O(1), or a copy of the storage when it is shared.
  public init(writableBytesOf buffer: ByteBuffer) {
    self.init(writableBytesOf: [buffer])
  }

  /// The writable capacity of each buffer in `buffers`, in order, as a
  /// destination, each on storage of its own.
  ///
  /// - Complexity: O(*n*) for *n* buffers, plus a copy of each storage that is shared.
  public init<S: Sequence<ByteBuffer>>(writableBytesOf buffers: S) {
    // A mutable access makes each storage unique (NIO's copy-on-write) and
    // gives its address in the same step. Nothing mutates these buffers or
    // their copies afterwards, so the storage stays where the pointer says.
    // A copy may round the capacity up, so each segment keeps to the
    // writable bytes the buffer had when it was given.
    var owned = Array(buffers)
    var spans: [(UnsafeMutableRawPointer, Int)?] = []
    for i in owned.indices {
      let given = owned[i].writableBytes
      spans.append(
        owned[i].withUnsafeMutableWritableBytes { bytes in bytes.baseAddress.map { ($0, min(given, bytes.count)) } })
    }
    self.init(owned, spans: spans, directions: .destination)
  }

  private init(
    _ buffers: [ByteBuffer], spans: [(UnsafeMutableRawPointer, Int)?], directions: IterDirections
  ) {
    var kvecs = KVecArray()
    var allocations: [ForeignAllocation] = []
    var writable: [Int] = []
    for (buffer, span) in zip(buffers, spans) {
      writable.append(0)
      guard let (base, count) = span, count > 0 else { continue }
      // Neither can throw: the count is positive and the entry is the whole allocation.
      guard let allocation = try? ForeignAllocation(unsafeBase: base, count: count, owner: buffer),
        (try? kvecs.append(KVec(allocation))) != nil
      else { continue }
      allocations.append(allocation)
      writable[writable.count - 1] = count
    }
    self.buffers = buffers
    self._writable = writable
    self._kvecs = kvecs
    self._allocations = allocations
    self.supportedDirections = directions
  }

  /// Hands back the buffers after a destination cursor wrote `count` bytes
  /// from the start: each buffer's writer index moves over the bytes that
  /// landed in it, filling the buffers in order.
  ///
  /// - Parameter count: The bytes written, at most ``byteCount``.
  /// - Returns: The buffers, with the bytes readable.
  /// - Throws: `IterError.wrongDirection(operation:direction:)` on a source
  ///   (it wrote nothing); `IterError.invalidArgument(argument:value:reason:)`
  ///   for a count outside `0...byteCount`. Nothing changes then.
  /// - Complexity: O(*n*) for *n* buffers.
  public func buffers(afterWriting count: Int) throws(IterError) -> [ByteBuffer] {
    guard supportedDirections.contains(.destination) else {
      throw .wrongDirection(operation: "buffers(afterWriting:)", direction: .source)
    }
    guard count >= 0 && count <= byteCount else {
      throw .invalidArgument(argument: "count", value: count, reason: "outside 0...\(byteCount), the writable bytes")
    }
    var left = count
    return zip(buffers, _writable).map { buffer, writable in
      var buffer = buffer
      let n = min(left, writable)
      buffer.moveWriterIndex(forwardBy: n)
      left -= n
      return buffer
    }
  }

  /// The bytes the segments describe.
  ///
  /// - Complexity: O(1).
  public var byteCount: Int { _kvecs.byteCount }

  /// The extraction retentions that hold one of the buffers right now.
  ///
  /// - Complexity: O(*n*) for *n* buffers.
  public var heldExtractions: Int { _allocations.reduce(0) { $0 + $1.extractionRetentionCount } }

  // MARK: - IterSegmentSource

  /// One per buffer with bytes to describe (empty buffers have none).
  @inlinable public var segmentCount: Int { _kvecs.segmentCount }

  /// The bytes of the `index`th buffer with any.
  @inlinable public func segment(at index: Int) -> IterSegment { _kvecs.segment(at: index) }

  /// `nio-byte-buffer`.
  public var memoryKind: IterMemoryKind { IterMemoryKind("nio-byte-buffer") }

  /// `.ownerReference`, whatever the options: an extraction holds the buffer.
  public func retention(for options: IterExtractionOptions) -> IterRetentionKind { .ownerReference }

  /// Lists the pages under the rest of the next buffer's bytes (a run never
  /// leaves one buffer) and holds that buffer until the extraction is released.
  ///
  /// - Parameters:
  ///   - position: Where the run starts.
  ///   - maxBytes: At most this many bytes.
  ///   - maxPages: At most this many pages; at least 1.
  ///   - options: Ignored: the retention is the same for every option set.
  /// - Returns: The pages, the offset into the first, the length and an owner retention.
  /// - Throws: The typed errors of `IterExtraction.validateArguments(of:at:maxBytes:maxPages:)`.
  /// - Complexity: O(*p*) for *p* pages.
  public func extractPages(
    at position: IterPosition, maxBytes: Int, maxPages: Int, options: IterExtractionOptions
  ) throws(IterError) -> IterExtraction {
    try _kvecs.extractPages(at: position, maxBytes: maxBytes, maxPages: maxPages, options: options)
  }
}
