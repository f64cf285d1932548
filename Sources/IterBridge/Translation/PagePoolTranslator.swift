//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterPageFragment

/// A page pool's frame numbers as physical addresses: frame *f* is at
/// `base + f × pageSize`.
///
/// Deterministic, needs no privilege, and its inverse is exact, so tests can
/// read a request's bytes back through it. The whole arena is one contiguous
/// run, as one physically contiguous allocation would be.
///
/// Sendable: it holds `Sendable` pools.
public struct PagePoolTranslator: ReversiblePhysicalTranslator, Sendable {
  /// The pool whose frames are translated.
  public let pool: PagePool
  /// The physical address of frame 0.
  public let base: UInt64
  // The arena's bounds, copied out of the pool: no load through the class
  // reference a piece.
  private let _start: UInt
  private let _size: UInt

  /// Creates a translator over `pool`'s arena.
  ///
  /// - Parameters:
  ///   - pool: The pool.
  ///   - base: The physical address of frame 0 (default 0).
  /// - Complexity: O(1).
  public init(pool: PagePool, base: UInt64 = 0) {
    self.pool = pool
    self.base = base
    self._start = pool.address
    self._size = UInt(pool.byteCount)
  }

  /// The frame address of `address`, contiguous to the end of the arena.
  ///
  /// - Throws: ``DMAError/notTranslatable(address:)`` outside the arena.
  /// - Complexity: O(1).
  public func translate(_ address: UInt, length: Int) throws(DMAError) -> PhysicalRun {
    let offset = address &- _start
    guard address >= _start, offset < _size else {
      throw .notTranslatable(address: address)
    }
    let room = _size &- offset
    return PhysicalRun(address: base &+ UInt64(offset), length: Swift.min(length, Int(bitPattern: room)))
  }

  /// The whole arena, at ``base``: the mapper translates its pieces without
  /// a call.
  ///
  /// - Complexity: O(1).
  public var translationWindow: TranslationWindow? {
    TranslationWindow(virtualAddress: _start, count: _size, deviceAddress: base)
  }

  /// The arena address of the byte at frame address `address`.
  ///
  /// - Complexity: O(1).
  public func virtualAddress(of address: UInt64) -> UInt? {
    guard address >= base, address - base < UInt64(pool.byteCount) else { return nil }
    return pool.address + UInt(address - base)
  }
}
