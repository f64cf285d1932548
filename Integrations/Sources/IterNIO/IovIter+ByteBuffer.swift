//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore
public import IterIO
public import NIOCore

extension IovIter {
  /// Copies the cursor's next bytes into `buffer`'s writable space and moves
  /// its writer index over them; the cursor advances by the same count.
  ///
  /// At most `min(count, buffer.writableBytes)` bytes are copied: the buffer
  /// does not grow (reserve capacity first for more). Writing into the buffer
  /// copies its storage first if it is shared, as any `ByteBuffer` write does.
  ///
  /// - Parameter buffer: The buffer to fill.
  /// - Returns: The number of bytes copied.
  /// - Throws: `IterError.wrongDirection(operation:direction:)` on a
  ///   destination cursor; the cursor's other typed errors. The buffer and the
  ///   cursor are unchanged then.
  /// - Complexity: O(*m* + *s*) for *m* bytes over *s* segments.
  ///
  /// The corresponding kernel function is `copy_from_iter`.
  @discardableResult
  public mutating func read(into buffer: inout ByteBuffer) throws(IterError) -> Int {
    try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) {
      (space: UnsafeMutableRawBufferPointer) throws(IterError) -> Int in
      try self.read(into: space)
    }
  }

  /// Copies `buffer`'s readable bytes into the cursor's next bytes; the
  /// cursor advances by the count copied, `buffer` (a value) is unchanged.
  ///
  /// - Parameter buffer: The bytes to copy; at most `count` of them are.
  /// - Returns: The number of bytes copied.
  /// - Throws: `IterError.wrongDirection(operation:direction:)` on a source
  ///   cursor; the cursor's other typed errors.
  /// - Complexity: O(*m* + *s*) for *m* bytes over *s* segments.
  ///
  /// The corresponding kernel function is `copy_to_iter`.
  @discardableResult
  public mutating func write(_ buffer: ByteBuffer) throws(IterError) -> Int {
    try buffer.withUnsafeReadableBytes { (bytes: UnsafeRawBufferPointer) throws(IterError) -> Int in
      try self.write(bytes)
    }
  }

  /// Writes the cursor's next bytes to the descriptor of `handle` with one
  /// `writev(2)`, through IterIO's `writev(to:)`, and advances by the bytes
  /// written.
  ///
  /// NIO lends a descriptor only through `NIOFileHandle`; a `Channel` keeps
  /// its socket to itself (see the Integrations README).
  ///
  /// - Parameter handle: An open NIO file handle.
  /// - Returns: What IterIO's `writev(to:)` returns.
  /// - Throws: NIO's error for a closed handle; otherwise IterIO's
  ///   `IterIOError`, with the cursor unmoved.
  /// - Complexity: That of `writev(to:)`.
  public mutating func writev(to handle: NIOFileHandle) throws -> IOResult {
    try handle.withUnsafeFileDescriptor { fd in try self.writev(to: fd) }
  }

  /// Reads from the descriptor of `handle` into the cursor's next bytes with
  /// one `readv(2)`, through IterIO's `readv(from:)`, and advances by the
  /// bytes read.
  ///
  /// - Parameter handle: An open NIO file handle.
  /// - Returns: What IterIO's `readv(from:)` returns.
  /// - Throws: NIO's error for a closed handle; otherwise IterIO's
  ///   `IterIOError`, with the cursor unmoved.
  /// - Complexity: That of `readv(from:)`.
  public mutating func readv(from handle: NIOFileHandle) throws -> IOResult {
    try handle.withUnsafeFileDescriptor { fd in try self.readv(from: fd) }
  }
}
