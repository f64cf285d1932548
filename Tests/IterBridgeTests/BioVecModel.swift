//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// A brute-force model of the mapper, written from the rules and not from the
// code: it looks every byte up on its own, and for every byte asks whether it
// may share the chunk before it. The fuzz-dma-limits harness (Fuzz/) compiles
// this same file through a symbolic link, so the model is written once; it
// imports nothing but IterBridge for that reason.

import IterBridge

/// One request as the model sees it.
struct ModelRequest: Equatable, CustomStringConvertible {
  var chunks: [BioVec]
  var end: RequestEnd
  var description: String { "\(end): \(chunks)" }
}

/// What the model expects: requests, then perhaps an error that stops the walk.
struct ModelOutcome: Equatable {
  var requests: [ModelRequest]
  var error: DMAError?
}

/// A page table: virtual page → (physical page, flags, region).
struct ModelPageTable {
  var pages: [UInt: (frame: UInt64, flags: BioVecFlags, region: UInt32)] = [:]
  static let pageSize: UInt = 4096

  func lookup(_ va: UInt) -> (pa: UInt64, flags: BioVecFlags, region: UInt32)? {
    guard let e = pages[va / Self.pageSize] else { return nil }
    return (e.frame * UInt64(Self.pageSize) + UInt64(va % Self.pageSize), e.flags, e.region)
  }
}

enum BioVecModel {
  /// Runs the rules byte by byte over `segments` (virtual address, length).
  static func run(
    segments: [(address: UInt, length: Int)], table: ModelPageTable, limits: DMALimits,
    bounce: Bool
  ) -> ModelOutcome {
    // Every byte, in order, with the piece it belongs to.
    struct Byte {
      var va: UInt
      var pa: UInt64
      var flags: BioVecFlags
      var region: UInt32
      var segment: Int
    }
    var bytes: [Byte] = []
    bytes.reserveCapacity(segments.reduce(0) { $0 + $1.length })
    for (s, seg) in segments.enumerated() {
      var t = table.lookup(seg.address)
      for j in 0..<seg.length {
        let va = seg.address + UInt(j)
        if va % ModelPageTable.pageSize == 0 || j == 0 { t = table.lookup(va) }
        guard let t else {
          return ModelOutcome(requests: [], error: .notTranslatable(address: va))
        }
        let pa = t.pa - t.pa % UInt64(ModelPageTable.pageSize) + UInt64(va % ModelPageTable.pageSize)
        bytes.append(Byte(va: va, pa: pa, flags: t.flags, region: t.region, segment: s))
      }
    }
    let align = UInt(limits.dmaAlignment)
    let maxBytes = limits.maxRequestBytes
    let lbs = Int(limits.logicalBlockSize)
    let mask = limits.segmentBoundaryMask
    let vbm = limits.virtBoundaryMask
    var requests: [ModelRequest] = []
    var pos = 0
    while pos < bytes.count {
      var chunks: [BioVec] = []
      var chunkMax: [UInt64] = []
      var chunkRegion: [UInt32] = []
      var chunkPiece: [Int] = []
      var taken = 0
      var end = RequestEnd.endOfInput
      var piece = -1
      var pieceBounce = false
      var i = pos
      while i < bytes.count {
        let b = bytes[i]
        let startsPiece = i == pos || bytes[i - 1].segment != b.segment
        if startsPiece {
          piece += 1
          // The piece: from here to the end of its segment.
          var j = i
          while j < bytes.count && bytes[j].segment == b.segment { j += 1 }
          let misaligned = (b.va | UInt(j - i)) & align != 0
          pieceBounce = misaligned && bounce
          if misaligned && !bounce {
            // Only this request's problem if the request would take the byte.
            if wouldTake(
              pa: b.pa, region: b.region, chunks: chunks, open: chunkMax, region: chunkRegion, taken: taken,
              maxBytes: maxBytes,
              maxSegments: limits.maxSegments, vbm: vbm, flags: b.flags) == nil
            {
              return ModelOutcome(
                requests: requests,
                error: .misaligned(
                  piece: piece, offset: taken, address: b.va, length: j - i,
                  alignmentMask: limits.dmaAlignment))
            }
          }
        }
        let flags = pieceBounce ? b.flags.union(.needsBounce) : b.flags
        if taken == maxBytes {
          end = .maxBytes
          break
        }
        if let last = chunks.last, last.flags == flags, chunkRegion.last == b.region,
          last.endAddress == b.pa, UInt64(last.length) < chunkMax.last!,
          !pieceBounce || chunkPiece.last == piece
        {
          chunks[chunks.count - 1].length += 1
          taken += 1
          i += 1
          continue
        }
        if chunks.count == limits.maxSegments {
          end = .maxSegments
          break
        }
        if vbm != 0, let last = chunks.last, (last.endAddress | b.pa) & vbm != 0 {
          end = .virtBoundaryGap
          break
        }
        // Room in the boundary window, and max_segment_size.
        let windowEnd = (b.pa | mask)
        let room = Swift.min(windowEnd - b.pa, UInt64(limits.maxSegmentSize) - 1) + 1
        chunks.append(BioVec(address: b.pa, length: 1, flags: flags))
        chunkMax.append(room)
        chunkRegion.append(b.region)
        chunkPiece.append(piece)
        taken += 1
        i += 1
      }
      if end != .endOfInput {
        let trim = taken % lbs
        if taken - trim == 0 {
          return ModelOutcome(requests: requests, error: .requestBelowBlockSize(bytes: taken, logicalBlockSize: lbs))
        }
        var t = trim
        while t > 0 {
          let l = Int(chunks[chunks.count - 1].length)
          if l <= t {
            chunks.removeLast()
            t -= l
          } else {
            chunks[chunks.count - 1].length -= UInt32(t)
            t = 0
          }
        }
        taken -= trim
      }
      chunks[chunks.count - 1].flags.insert(.endOfRequest)
      requests.append(ModelRequest(chunks: chunks, end: end))
      pos += taken
    }
    return ModelOutcome(requests: requests, error: nil)
  }

  /// `nil` when the request takes byte `b`; otherwise why it ends.
  private static func wouldTake(
    pa: UInt64, region bRegion: UInt32, chunks: [BioVec], open: [UInt64],
    region: [UInt32], taken: Int, maxBytes: Int, maxSegments: Int, vbm: UInt64, flags: BioVecFlags
  ) -> RequestEnd? {
    if taken == maxBytes { return .maxBytes }
    if let last = chunks.last, last.flags == flags, region.last == bRegion, last.endAddress == pa,
      UInt64(last.length) < open.last!
    {
      return nil
    }
    if chunks.count == maxSegments { return .maxSegments }
    if vbm != 0, let last = chunks.last, (last.endAddress | pa) & vbm != 0 { return .virtBoundaryGap }
    return nil
  }
}
