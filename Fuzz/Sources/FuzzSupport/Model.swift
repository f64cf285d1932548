//===----------------------------------------------------------------------===//
// swift-iov-iter fuzzing
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// The reference model of a source: its segments as plain `(address, length)`
/// pairs (address 0 for a segment without memory), built by the harness from
/// what it asked for, never read back from the library. Shared by the cursors
/// over it, and appendable (a chain grows).
public final class ModelSource {
  public private(set) var addresses: [UInt] = []
  public private(set) var lengths: [Int] = []
  /// The logical end (exclusive) of each segment.
  public private(set) var ends: [Int] = []

  public init() {}

  public init(_ segments: [(address: UInt, length: Int)]) {
    for s in segments { append(address: s.address, length: s.length) }
  }

  public var total: Int { ends.last ?? 0 }
  public var segmentCount: Int { lengths.count }

  public func append(address: UInt, length: Int) {
    precondition(length >= 0)
    addresses.append(address)
    lengths.append(length)
    ends.append(total + length)
  }

  /// The segments covering `[from, from + count)`, cut to it: what a chain
  /// takes of a cursor member.
  public func slice(from: Int, count: Int) -> [(address: UInt, length: Int)] {
    var out: [(address: UInt, length: Int)] = []
    forEachPiece(from: from, count: count) { seg, start, length in
      let a = addresses[seg]
      let offset = start - (ends[seg] - lengths[seg])
      out.append((a == 0 ? 0 : a &+ UInt(offset), length))
      return true
    }
    return out
  }

  /// The non-empty segment that holds logical byte `pos` (`pos < total`).
  public func segment(containing pos: Int) -> Int {
    var lo = 0
    var hi = ends.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if ends[mid] > pos { hi = mid } else { lo = mid + 1 }
    }
    return lo
  }

  /// The address of logical byte `pos`, or nil where there is no memory.
  public func address(at pos: Int) -> UInt? {
    let seg = segment(containing: pos)
    let a = addresses[seg]
    if a == 0 { return nil }
    return a &+ UInt(pos - (ends[seg] - lengths[seg]))
  }

  /// Calls `body(segment, logicalStart, length)` for each non-empty piece of
  /// `[from, from + count)`, in order, until it returns false.
  public func forEachPiece(from: Int, count: Int, _ body: (Int, Int, Int) -> Bool) {
    guard count > 0, from < total else { return }
    let end = from + Swift.min(count, total - from)
    var pos = from
    var seg = segment(containing: pos)
    while pos < end && seg < lengths.count {
      let segEnd = ends[seg]
      let n = Swift.min(segEnd, end) - pos
      if n > 0 {
        if !body(seg, pos, n) { return }
        pos += n
      }
      seg += 1
    }
  }

  /// The segment's own end address (its base plus its whole length).
  public func segmentEndAddress(_ seg: Int) -> UInt { addresses[seg] &+ UInt(lengths[seg]) }

  /// The address of a piece's first byte.
  public func pieceAddress(_ seg: Int, _ start: Int) -> UInt {
    addresses[seg] &+ UInt(start - (ends[seg] - lengths[seg]))
  }
}

private nonisolated(unsafe) var modelIdentityCounter = 0

/// The reference model of a cursor: a window `[base, base + extent)` of a
/// model source, how much of it was consumed, and the count.
public struct ModelCursor {
  public let source: ModelSource
  public var base: Int
  public var consumed: Int
  public var count: Int
  public var extent: Int
  public var identity: Int
  public let isSource: Bool

  public init(source: ModelSource, count: Int, isSource: Bool) {
    self.source = source
    self.base = 0
    self.consumed = 0
    self.count = count
    self.extent = count
    self.isSource = isSource
    modelIdentityCounter += 1
    self.identity = modelIdentityCounter
  }

  /// The logical position of the next byte.
  public var position: Int { base + consumed }

  /// A piece that starts afresh (the library's `split` pieces).
  public func piece(at offset: Int, count n: Int) -> ModelCursor {
    var p = self
    p.base = position + offset
    p.consumed = 0
    p.count = n
    p.extent = n
    modelIdentityCounter += 1
    p.identity = modelIdentityCounter
    return p
  }

  public mutating func advance(_ n: Int) {
    consumed += n
    count -= n
  }

  // MARK: Queries, computed from the model's segments

  public var alignment: UInt {
    var result: UInt = 0
    source.forEachPiece(from: position, count: count) { seg, start, n in
      if source.addresses[seg] != 0 { result |= source.pieceAddress(seg, start) | UInt(n) }
      return true
    }
    return result
  }

  public var gapAlignment: UInt {
    var result: UInt = 0
    var previousEnd: UInt? = nil
    source.forEachPiece(from: position, count: count) { seg, start, _ in
      if source.addresses[seg] != 0 {
        if let previousEnd { result |= source.pieceAddress(seg, start) | previousEnd }
        previousEnd = source.segmentEndAddress(seg)
      }
      return true
    }
    return result
  }

  /// The pages the remaining bytes touch, at most `limit`; nil when a piece
  /// claims so many bytes (near `Int.max`, which no real memory has) that
  /// `offset + length` overflows: the library's count is then unspecified.
  public func pageCount(limit: Int, pageSize: Int) -> Int? {
    var pages = 0
    var overflow = false
    source.forEachPiece(from: position, count: count) { seg, start, n in
      if source.addresses[seg] != 0 {
        let offset = Int(source.pieceAddress(seg, start) & UInt(pageSize - 1))
        if n > Int.max - offset - pageSize {
          overflow = true
          return false
        }
        pages += (offset + n + pageSize - 1) / pageSize
        if pages > limit { return false }
      }
      return true
    }
    return overflow ? nil : Swift.min(pages, limit)
  }

  /// The `iovec`s a gather of at most `capacity` entries and `maxBytes` bytes gives.
  public func gather(capacity: Int, maxBytes: Int) -> [(UInt, Int)] {
    var out: [(UInt, Int)] = []
    guard capacity > 0 else { return out }
    source.forEachPiece(from: position, count: Swift.min(count, maxBytes)) { seg, start, n in
      if source.addresses[seg] == 0 { return false }
      out.append((source.pieceAddress(seg, start), n))
      return out.count < capacity
    }
    return out
  }

  /// The number of bytes from the position on that have no memory, up to the
  /// first byte that has.
  public func memorylessPrefix(upTo limit: Int) -> Int {
    var n = 0
    source.forEachPiece(from: position, count: Swift.min(count, limit)) { seg, _, len in
      if source.addresses[seg] != 0 { return false }
      n += len
      return true
    }
    return n
  }
}
