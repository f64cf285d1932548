//===----------------------------------------------------------------------===//
// swift-iov-iter fuzzing
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterTypes

/// Real memory for one fuzzer input: heap buffers (allocated at their exact
/// size, so the address sanitizer sees any byte outside them), folios from a
/// page pool, slab objects and virtual regions. Everything is given back when
/// the arena goes, and ``checkClean()`` then checks that no extraction left a
/// pin, a page reference or an owner reference behind.
public final class Arena {
  public static let pool: PagePool = try! PagePool(pageCount: 64, maxOrder: 3)
  public static let slabs: [SlabAllocator] = [1, 8, 24, 64, 100, 256, 2048].map {
    try! SlabAllocator(objectSize: $0)
  }
  public static let regions = VirtualAllocator()

  public private(set) var buffers: [UnsafeMutableRawBufferPointer] = []
  public private(set) var folios: [Folio] = []
  public private(set) var owners: [KernelVirtualAllocation] = []

  public init() {}

  deinit {
    for b in buffers { b.deallocate() }
    for f in folios { try? f.put() }
  }

  /// A heap buffer of `size` bytes (at least 1) filled with a pattern.
  public func buffer(_ size: Int) -> UnsafeMutableRawBufferPointer {
    let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 1)
    for i in 0..<b.count { b[i] = UInt8(truncatingIfNeeded: i &* 29 &+ buffers.count &* 71) }
    buffers.append(b)
    return b
  }

  /// A slice of one of the arena's buffers (a new one when there is none).
  public func carve(_ input: inout FuzzInput) -> UnsafeMutableRawBufferPointer {
    if buffers.isEmpty || input.u8() % 4 == 0 { _ = buffer(input.below(4096) + 1) }
    let b = buffers[input.below(buffers.count)]
    let offset = input.below(b.count + 1)
    let length = input.below(b.count - offset + 1)
    return UnsafeMutableRawBufferPointer(rebasing: b[offset..<(offset + length)])
  }

  /// A folio of an input-chosen order, filled with a pattern; nil when the
  /// pool has no room.
  public func folio(_ input: inout FuzzInput) -> Folio? {
    guard let f = try? Arena.pool.allocateFolio(order: input.below(4)) else { return nil }
    f.withUnsafeMutableBytes { raw in
      for i in 0..<raw.count { raw[i] = UInt8(truncatingIfNeeded: i &* 17 &+ f.frame) }
    }
    folios.append(f)
    return f
  }

  /// A slab object or a virtual region of an input-chosen size.
  public func allocation(_ input: inout FuzzInput) -> KernelVirtualAllocation? {
    let owner: KernelVirtualAllocation?
    if input.u8() % 3 == 0 {
      owner = try? Arena.regions.allocate(byteCount: 1 + input.below(3 * IterPage.size))
    } else {
      owner = try? Arena.slabs[input.below(Arena.slabs.count)].allocate()
    }
    guard let owner else { return nil }
    owner.withUnsafeMutableBytes { raw in
      for i in 0..<raw.count { raw[i] = UInt8(truncatingIfNeeded: i &* 5 &+ 1) }
    }
    owners.append(owner)
    return owner
  }

  /// Every retention held now: pins, page references (the folios' own
  /// among them) and owner references. A replay's retention probe: no step
  /// may change it.
  public static func retentionsHeld() -> Int {
    UserPinRegistry.shared.totalPinCount + pool.outstandingReferences + regions.extractionRetentionCount
      + slabs.reduce(0) { $0 + $1.extractionRetentionCount }
  }

  /// Checks that nothing is held after every extraction was released: no
  /// pins, no page references beyond the folios' own, no owner references.
  public func checkClean() {
    check(UserPinRegistry.shared.totalPinCount == 0, "pins left: \(UserPinRegistry.shared.totalPinCount)")
    check(
      Arena.pool.outstandingReferences == folios.count,
      "page references left: \(Arena.pool.outstandingReferences) for \(folios.count) folios")
    check(Arena.regions.extractionRetentionCount == 0, "region owner references left")
    for s in Arena.slabs { check(s.extractionRetentionCount == 0, "slab owner references left") }
  }
}
