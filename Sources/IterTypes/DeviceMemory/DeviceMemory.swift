//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

internal import Glibc
public import IterCore
import Synchronization

/// A device's memory aperture: a BAR-like window that the CPU reaches through
/// a shared mapping and a device reaches at a bus address.
///
/// The CPU side is a `MAP_SHARED` mapping of whole pages: of an anonymous
/// shared-memory file that ``init(byteCount:busAddress:)`` creates (it stands
/// in for the device's memory), or of a file descriptor the caller opened
/// (``init(mapping:offset:byteCount:busAddress:)``: a PCI `resource` file, a
/// UIO or VFIO region, or a shared-memory file another process also maps).
/// The device side is ``busAddress``: byte *k* of the aperture is at bus
/// address `busAddress + k`.
///
/// ```swift
/// let bar = try DeviceMemory(byteCount: 1 << 20, busAddress: 0xF000_0000)
/// let ranges = try DeviceRangeArray([DeviceRange(bar, offset: 4096, count: 8192)])
/// var iter = try IovIter(ranges, direction: .destination)
/// ```
///
/// The aperture owns its mapping: it is unmapped with `munmap(2)` when the last
/// strong reference goes away. A ``DeviceRangeArray`` holds every aperture it
/// describes; page extraction holds nothing (see
/// ``DeviceRangeArray/retention(for:)``), so keep the aperture alive while a
/// page list or a DMA request made from it is in use.
///
/// The corresponding kernel objects are a PCI BAR mapped with `pci_iomap`
/// (the CPU side) and its `pci_bus_address` (the device side), as a P2PDMA
/// provider exposes them (`pci_p2pdma_add_resource`).
///
/// Sendable (checked by hand): the mapping's address, size and bus address are constants set once, and its counter is
/// atomic.
@safe
public final class DeviceMemory {
  @usableFromInline
  internal let _base: UnsafeMutableRawPointer

  @usableFromInline
  internal let _count: Int

  /// The bus address of the aperture's first byte: where a device finds it.
  public let busAddress: UInt64

  /// The largest byte count the initialisers accept before rounding to whole
  /// pages. The address space runs out long before this; `mmap(2)` reports that.
  public static let maximumByteCount: Int = Int.max & ~(IterPage.size - 1)

  /// Creates an aperture of at least `byteCount` bytes, rounded up to whole
  /// pages and zero-filled, backed by a new shared-memory file (created in
  /// `/dev/shm` with `shm_open(3)` and unlinked at once, so nothing is left
  /// behind) and mapped `MAP_SHARED`.
  ///
  /// - Parameters:
  ///   - byteCount: The bytes wanted; at least 1.
  ///   - busAddress: The bus address of the first byte; a multiple of the
  ///     page size (a BAR is aligned to its size), and the aperture must not
  ///     run past the top of the 64-bit bus address space.
  /// - Throws: `IterError.negativeCount(argument:value:)` for a negative
  ///   count; `IterError.invalidArgument(argument:value:reason:)` for a count
  ///   of 0, a bus address that is not page-aligned, or an aperture that wraps
  ///   the bus address space; `IterError.lengthOverflow(total:limit:)` above
  ///   ``maximumByteCount``; `IterError.systemCall(name:errno:)` when
  ///   `shm_open`, `ftruncate` or `mmap` fails. Nothing stays mapped or
  ///   created then.
  /// - Complexity: O(1) system calls; pages are allocated on first touch.
  public convenience init(byteCount: Int, busAddress: UInt64) throws(IterError) {
    let rounded = try Self._checkedSize(byteCount, busAddress: busAddress)
    let fd = try _SharedMemoryFile.create(byteCount: rounded)
    defer { _ = close(fd) }
    let base = try unsafe Self._map(fd, offset: 0, byteCount: rounded)
    unsafe self.init(_base: base, count: rounded, busAddress: busAddress)
  }

  /// Maps `byteCount` bytes of the file `descriptor` from `offset`, shared,
  /// as an aperture at `busAddress`.
  ///
  /// The mapping keeps its own reference to the file: close `descriptor`
  /// whenever you like. Writes through the aperture go to the file (and so to
  /// every other mapping of it), as writes through a BAR mapping reach the
  /// device.
  ///
  /// - Parameters:
  ///   - descriptor: An open file descriptor, readable and writable.
  ///   - offset: Where the aperture starts in the file; a multiple of the
  ///     page size, as `mmap(2)` requires.
  ///   - byteCount: The bytes to map; at least 1, rounded up to whole pages.
  ///     The file should be that long: touching a page past its end raises
  ///     `SIGBUS`, as it would with any file mapping.
  ///   - busAddress: As in ``init(byteCount:busAddress:)``.
  /// - Throws: As ``init(byteCount:busAddress:)``, plus
  ///   `IterError.negativeCount(argument:value:)` for a negative offset and
  ///   `IterError.invalidArgument(argument:value:reason:)` for one that is not
  ///   page-aligned; `IterError.systemCall(name: "mmap", errno:)` for a bad
  ///   descriptor or one that cannot be mapped shared.
  /// - Complexity: O(1) system calls.
  public convenience init(
    mapping descriptor: Int32, offset: Int, byteCount: Int, busAddress: UInt64
  ) throws(IterError) {
    guard offset >= 0 else { throw .negativeCount(argument: "offset", value: offset) }
    guard offset & (IterPage.size - 1) == 0 else {
      throw .invalidArgument(
        argument: "offset", value: offset, reason: "not a multiple of the page size \(IterPage.size)")
    }
    let rounded = try Self._checkedSize(byteCount, busAddress: busAddress)
    let base = try unsafe Self._map(descriptor, offset: offset, byteCount: rounded)
    unsafe self.init(_base: base, count: rounded, busAddress: busAddress)
  }

  internal init(_base base: UnsafeMutableRawPointer, count: Int, busAddress: UInt64) {
    unsafe self._base = unsafe base
    self._count = count
    self.busAddress = busAddress
  }

  deinit {
    let result = unsafe munmap(_base, _count)
    assert(result == 0, "munmap of \(_count) bytes failed with errno \(errno)")
  }

  /// The number of bytes in the aperture, a whole number of pages.
  ///
  /// - Complexity: O(1).
  @inlinable
  public var byteCount: Int { _count }

  /// The CPU address of the aperture's first byte (in the shared mapping).
  ///
  /// - Complexity: O(1).
  @inlinable
  public var address: UInt { UInt(bitPattern: unsafe _base) }

  /// The bus address of the byte at `offset`, or `nil` for an offset outside
  /// `0..<byteCount`.
  ///
  /// - Complexity: O(1).
  public func busAddress(atOffset offset: Int) -> UInt64? {
    guard offset >= 0 && offset < _count else { return nil }
    return busAddress + UInt64(offset)
  }

  /// Calls `body` with the aperture's bytes, through the CPU mapping, for
  /// reading and writing.
  ///
  /// The buffer must not escape `body`; the aperture stays mapped until `body`
  /// returns.
  ///
  /// - Parameter body: Gets the whole aperture.
  /// - Returns: What `body` returns.
  /// - Throws: What `body` throws.
  /// - Complexity: O(1) plus `body`.
  @inlinable
  public func withUnsafeMutableBytes<R, E: Error>(
    _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
  ) throws(E) -> R {
    defer { withExtendedLifetime(self) {} }
    return try unsafe body(UnsafeMutableRawBufferPointer(start: _base, count: _count))
  }

  /// A segment over `count` bytes at `offset`; ``DeviceRangeArray`` has
  /// checked the range.
  internal func _segment(offset: Int, count: Int) -> IterSegment {
    unsafe IterSegment(base: _base + offset, count: count)
  }

  /// The byte count rounded up to whole pages, after the checks both
  /// initialisers share.
  private static func _checkedSize(_ byteCount: Int, busAddress: UInt64) throws(IterError) -> Int {
    guard byteCount >= 0 else { throw .negativeCount(argument: "byteCount", value: byteCount) }
    guard byteCount > 0 else {
      throw .invalidArgument(argument: "byteCount", value: 0, reason: "an aperture holds at least one byte")
    }
    guard byteCount <= maximumByteCount else {
      throw .lengthOverflow(total: byteCount, limit: maximumByteCount)
    }
    let pageSize = IterPage.size
    let rounded = (byteCount + pageSize - 1) & ~(pageSize - 1)
    guard busAddress & UInt64(pageSize - 1) == 0 else {
      throw .invalidArgument(
        argument: "busAddress", value: Int(truncatingIfNeeded: busAddress),
        reason: "0x\(String(busAddress, radix: 16)) is not a multiple of the page size \(pageSize)")
    }
    guard UInt64.max - busAddress >= UInt64(rounded - 1) else {
      throw .invalidArgument(
        argument: "busAddress", value: Int(truncatingIfNeeded: busAddress),
        reason: "an aperture of \(rounded) bytes at 0x\(String(busAddress, radix: 16)) wraps the bus address space")
    }
    return rounded
  }

  private static func _map(
    _ descriptor: Int32, offset: Int, byteCount: Int
  ) throws(IterError) -> UnsafeMutableRawPointer {
    let raw = unsafe mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, off_t(offset))
    guard let base = unsafe raw, UInt(bitPattern: base) != UInt.max else {
      throw .systemCall(name: "mmap", errno: errno)
    }
    return unsafe base
  }
}

extension DeviceMemory: CustomStringConvertible {
  /// `device 0x…+4096 @bus 0x…`.
  public var description: String {
    "device 0x\(String(address, radix: 16))+\(byteCount) @bus 0x\(String(busAddress, radix: 16))"
  }
}

extension IterMemoryKind {
  /// Device memory: a BAR-like aperture reached through a CPU mapping, with a
  /// bus address and no pages to take references on (``DeviceRangeArray``).
  public static let deviceMemory = IterMemoryKind("device")
}

/// Anonymous shared-memory files: the stand-in for a device's memory.
internal enum _SharedMemoryFile {
  private static let _counter = _Counter()

  /// Creates a file of `byteCount` bytes in `/dev/shm`, unlinks it and returns
  /// its descriptor (close-on-exec).
  ///
  /// - Throws: `IterError.systemCall(name:errno:)` for `shm_open` or
  ///   `ftruncate`; nothing is left behind.
  static func create(byteCount: Int) throws(IterError) -> Int32 {
    var attempts = 0
    while true {
      let name = "/swift-iov-iter-device-\(getpid())-\(_counter.next())"
      let fd = unsafe shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
      if fd < 0 {
        let code = errno
        attempts += 1
        if code == EEXIST && attempts < 16 { continue }
        throw .systemCall(name: "shm_open", errno: code)
      }
      _ = unsafe shm_unlink(name)
      if ftruncate(fd, off_t(byteCount)) != 0 {
        let code = errno
        _ = close(fd)
        throw .systemCall(name: "ftruncate", errno: code)
      }
      return fd
    }
  }
}

/// A process-wide counter for unique file names.
internal final class _Counter: Sendable {
  private let _value = Atomic<Int>(0)

  func next() -> Int { _value.add(1, ordering: .relaxed).newValue }
}

extension DeviceMemory: @unchecked Sendable {}
