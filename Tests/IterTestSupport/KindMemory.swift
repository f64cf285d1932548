//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
public import IterTypes

/// Real memory of every built-in kind for the package's tests: a page pool
/// for folios, allocators for kvecs, and staccato memory for user iovecs. It
/// keeps everything it made alive for as long as it lives, and counts the
/// holds extractions take on it. The chain tests' member factory and the
/// bridge tests' scatterlist fixture are made on it.
///
/// Not Sendable-checked (`@unchecked`): it records what it made in plain
/// arrays, so one test uses it at a time.
open class KindMemory: @unchecked Sendable {
  /// The pool every folio comes from.
  public let pool: PagePool
  /// Slab objects of 256 bytes for small kvec entries.
  public let slabs: SlabAllocator
  /// Virtual regions for large kvec entries.
  public let regions = VirtualAllocator()
  /// Every folio allocated through ``folio(order:)``, held until
  /// ``releaseFolios()``.
  public private(set) var folios: [Folio] = []
  private var staccato: [StaccatoSource] = []

  /// A pool of `pageCount` pages with folios up to `maxOrder`, and a slab
  /// cache of 256-byte objects.
  public init(pageCount: Int, maxOrder: Int) throws {
    pool = try PagePool(pageCount: pageCount, maxOrder: maxOrder)
    slabs = try SlabAllocator(objectSize: 256)
  }

  /// Every hold an extraction can take: pins, page references beyond the
  /// folios' own, owner references.
  public var heldRetentions: Int {
    UserPinRegistry.shared.totalPinCount + pool.outstandingReferences - folios.count
      + slabs.extractionRetentionCount + regions.extractionRetentionCount
  }

  /// A folio of `order`, kept until ``releaseFolios()``.
  public func folio(order: Int) throws -> Folio {
    let f = try pool.allocateFolio(order: order)
    folios.append(f)
    return f
  }

  /// Puts every folio allocated here; the pool's audit is then empty.
  public func releaseFolios() throws {
    for f in folios { try f.put() }
    folios.removeAll()
  }

  /// Keeps `memory` alive as long as this object.
  public func keep(_ memory: StaccatoSource) {
    staccato.append(memory)
  }

  /// Imported user iovecs holding `bytes`, in up to 8 segments of random
  /// sizes with gaps between them.
  public func userIOVecs(_ bytes: [UInt8], _ rng: inout SeededGenerator) throws -> UserIOVecArray {
    let memory = StaccatoSource(
      contents: bytes, segmentSizes: randomSegmentSizes(total: bytes.count, maxSegments: 8, using: &rng), gaps: 24)
    keep(memory)
    return try UserIOVecArray(importing: (0..<memory.segmentCount).map { memory.segment(at: $0) })
  }

  /// A kvec array holding `bytes` in up to 8 entries: slab objects (at a
  /// random offset) for entries up to 256 bytes, virtual regions above.
  public func kvec(_ bytes: [UInt8], _ rng: inout SeededGenerator) throws -> KVecArray {
    var entries: [KVec] = []
    var consumed = 0
    for size in randomSegmentSizes(total: bytes.count, maxSegments: 8, using: &rng) {
      let owner: KernelVirtualAllocation
      let offset: Int
      if size <= 256 {
        owner = try slabs.allocate()
        offset = Int.random(in: 0...(256 - size), using: &rng)
      } else {
        offset = Int.random(in: 0...64, using: &rng)
        owner = try regions.allocate(byteCount: size + offset)
      }
      let chunk = Array(bytes[consumed..<(consumed + size)])
      owner.withUnsafeMutableBytes { raw in for k in 0..<size { raw[offset + k] = chunk[k] } }
      entries.append(KVec(owner, offset: offset, count: size))
      consumed += size
    }
    return try KVecArray(entries)
  }

  /// Page fragments holding `bytes` in up to 8 entries, each at a random
  /// offset in a folio of order 0 or 1, or just large enough for it.
  public func pageFragments(_ bytes: [UInt8], _ rng: inout SeededGenerator) throws -> BioVecArray {
    var array = BioVecArray()
    var consumed = 0
    for size in randomSegmentSizes(total: bytes.count, maxSegments: 8, using: &rng) {
      var order = Int.random(in: 0...1, using: &rng)
      while (IterPage.size << order) < size { order += 1 }
      let f = try folio(order: order)
      let offset = Int.random(in: 0...max(0, f.byteCount - size), using: &rng)
      let chunk = Array(bytes[consumed..<(consumed + size)])
      f.withUnsafeMutableBytes { raw in for k in 0..<size { raw[offset + k] = chunk[k] } }
      try array.append(PageFragment(folio: f, offset: offset, length: size))
      consumed += size
    }
    return array
  }
}
