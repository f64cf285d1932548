//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// A contiguous run of bytes that a buffer kind describes.
///
/// A segment is the unit a ``IterSegmentSource`` hands to a cursor: where the
/// bytes start and how many there are. Segments of length zero are legal and
/// are skipped by every cursor operation, as the kernel skips empty `iovec`s.
///
/// A segment whose ``base`` is `nil` has no memory behind it: writing into it
/// consumes bytes and keeps none (the kernel's `ITER_DISCARD`). A cursor refuses
/// to read from such a segment.
///
/// A segment only describes memory; it never reads or writes it. The source
/// that hands it out vouches for the memory (see ``IterSegmentSource``).
///
/// The corresponding C structure is `struct iovec` (and `struct kvec`).
///
/// Sendable: an address and a length; it never reads or writes the memory, and who does is the caller's business, as
/// with an `iovec` handed to another thread.
@safe
public struct IterSegment: Hashable {
  /// The address of the first byte, or `nil` for a segment that keeps no bytes.
  public var base: UnsafeMutableRawPointer?

  /// The number of bytes in the segment. Never negative in a valid source.
  public var count: Int

  /// Creates a segment of `count` bytes starting at `base`.
  ///
  /// - Parameters:
  ///   - base: The first byte, or `nil` for a segment that discards what is written into it.
  ///   - count: The number of bytes.
  /// - Complexity: O(1).
  @inlinable
  public init(base: UnsafeMutableRawPointer?, count: Int) {
    unsafe self.base = unsafe base
    self.count = count
  }

  /// Creates a segment that covers `buffer`.
  ///
  /// - Complexity: O(1).
  @inlinable
  public init(_ buffer: UnsafeMutableRawBufferPointer) {
    unsafe self.base = buffer.baseAddress
    self.count = buffer.count
  }

  /// Creates a segment that covers `buffer`, which the cursor may only read.
  ///
  /// Writing through a cursor built over such a segment is undefined; give the
  /// cursor the ``IterDirection/source`` direction.
  ///
  /// - Complexity: O(1).
  @inlinable
  public init(readOnly buffer: UnsafeRawBufferPointer) {
    unsafe self.base = unsafe UnsafeMutableRawPointer(mutating: buffer.baseAddress)
    self.count = buffer.count
  }

  /// The address of the first byte as an integer, or 0 when there is no memory.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var address: UInt {
    guard let base = unsafe base else { return 0 }
    return UInt(bitPattern: base)
  }

  /// Whether the segment has memory behind it (``base`` is not `nil`).
  ///
  /// - Complexity: O(1).
  @inlinable
  public var hasMemory: Bool { unsafe base != nil }
}

extension IterSegment {
  /// Two segments are equal when they start at the same address (or both
  /// have no memory) and have the same length.
  @inlinable
  public static func == (a: IterSegment, b: IterSegment) -> Bool {
    a.address == b.address && a.hasMemory == b.hasMemory && a.count == b.count
  }

  /// Hashes the address and the length.
  @inlinable
  public func hash(into hasher: inout Hasher) {
    hasher.combine(address)
    hasher.combine(count)
  }
}

extension IterSegment: CustomStringConvertible {
  /// A textual form: `0x7f00…+4096`, or `discard+4096`.
  public var description: String {
    if !hasMemory { return "discard+\(count)" }
    return "0x\(String(address, radix: 16))+\(count)"
  }
}

/// Which way data moves through a cursor.
///
/// The kernel's `ITER_SOURCE` (data is read *out of* the iterator, as by
/// `write(2)`) and `ITER_DEST` (data is written *into* it, as by `read(2)`).
///
/// Sendable: a plain value.
public enum IterDirection: Hashable, Sendable, CustomStringConvertible {
  /// Data is copied out of the iterator (`ITER_SOURCE`, the kernel's `WRITE`).
  case source
  /// Data is copied into the iterator (`ITER_DEST`, the kernel's `READ`).
  case destination

  /// `source` or `destination`.
  public var description: String {
    switch self {
    case .source: "source"
    case .destination: "destination"
    }
  }
}

/// The set of directions a buffer kind supports.
///
/// Sendable: a plain bit set.
public struct IterDirections: OptionSet, Hashable, Sendable {
  /// The raw bits.
  public var rawValue: UInt8

  /// Creates a set from raw bits.
  @inlinable
  public init(rawValue: UInt8) { self.rawValue = rawValue }

  /// The kind can be read from.
  public static let source = IterDirections(rawValue: 1 << 0)
  /// The kind can be written into.
  public static let destination = IterDirections(rawValue: 1 << 1)
  /// Both directions.
  public static let both: IterDirections = [.source, .destination]

  /// Whether `direction` is in the set.
  ///
  /// - Complexity: O(1).
  @inlinable
  public func supports(_ direction: IterDirection) -> Bool {
    switch direction {
    case .source: contains(.source)
    case .destination: contains(.destination)
    }
  }
}

/// The kind of memory a source's segments live in.
///
/// The four built-in kinds mirror the kernel's iterator types; a buffer kind
/// written outside the package names its own with ``init(_:)``.
///
/// Sendable: a plain value.
public struct IterMemoryKind: Hashable, Sendable, CustomStringConvertible {
  /// The kind's name.
  public let name: String

  /// Creates a memory kind with a name of your choosing.
  public init(_ name: String) { self.name = name }

  /// Memory lent by the application (the kernel's `ITER_UBUF` and `ITER_IOVEC`).
  public static let user = IterMemoryKind("user")
  /// Pages and folios from a page pool (`ITER_BVEC`, `ITER_FOLIOQ`).
  public static let pageFragment = IterMemoryKind("page-fragment")
  /// Memory owned by the library's allocators (`ITER_KVEC`).
  public static let kernelVirtual = IterMemoryKind("kernel-virtual")
  /// A sink that keeps nothing (`ITER_DISCARD`).
  public static let discard = IterMemoryKind("discard")

  /// The kind's name.
  public var description: String { name }
}

extension IterSegment: @unchecked Sendable {}
