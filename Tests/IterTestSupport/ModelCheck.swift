//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore
import Glibc

/// A divergence between a cursor and the flat-array model.
public struct ModelCheckFailure: Error, CustomStringConvertible {
  public let label: String
  public let seed: UInt64
  public let step: Int
  public let message: String
  /// The last operations before the divergence, oldest first.
  public let history: [String]

  public var description: String {
    "model check '\(label)' diverged at step \(step) (seed \(seed); rerun with "
      + "ITER_TEST_SEED=\(TestSeed.base)): \(message)\n  last operations:\n    "
      + history.joined(separator: "\n    ")
  }
}

/// The source's bytes flattened: for each non-empty segment, where it starts in
/// the logical byte stream and where it lives in memory.
struct FlatLayout {
  struct Piece {
    var start: Int  // logical offset of the first byte
    var length: Int
    var base: UnsafeMutableRawPointer?
    var segmentEnd: UInt  // address one past the whole segment
    var address: UInt { base.map { UInt(bitPattern: $0) } ?? 0 }
  }
  var pieces: [Piece] = []
  var segmentStarts: [Int] = []  // logical offset of segment i's first byte
  var total = 0

  init<S: IterSegmentSource>(_ source: S) {
    for i in 0..<source.segmentCount {
      let s = source.segment(at: i)
      segmentStarts.append(total)
      if s.count > 0 {
        pieces.append(
          Piece(start: total, length: s.count, base: s.base, segmentEnd: s.address &+ UInt(s.count)))
      }
      total += s.count
    }
    segmentStarts.append(total)
  }

  /// The index of the piece that holds logical byte `offset`.
  func piece(at offset: Int) -> Int {
    var lo = 0
    var hi = pieces.count - 1
    while lo < hi {
      let mid = (lo + hi + 1) / 2
      if pieces[mid].start <= offset { lo = mid } else { hi = mid - 1 }
    }
    return lo
  }

  /// The clipped pieces covering `[from, from + count)`.
  func covering(_ from: Int, _ count: Int) -> [(piece: Piece, skip: Int, length: Int)] {
    guard count > 0 else { return [] }
    var result: [(Piece, Int, Int)] = []
    var i = piece(at: from)
    var left = count
    var skip = from - pieces[i].start
    while left > 0 {
      let p = pieces[i]
      let n = min(p.length - skip, left)
      result.append((p, skip, n))
      left -= n
      skip = 0
      i += 1
    }
    return result
  }

  func read() -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: total)
    for p in pieces {
      if let base = p.base {
        bytes.withUnsafeMutableBytes { raw in
          (raw.baseAddress! + p.start).copyMemory(from: base, byteCount: p.length)
        }
      }
    }
    return bytes
  }

  func hasMemory(_ offset: Int) -> Bool { pieces[piece(at: offset)].base != nil }
}

private func rfc1071(_ bytes: ArraySlice<UInt8>) -> UInt16 {
  var sum: UInt64 = 0
  var i = bytes.startIndex
  while i + 1 < bytes.endIndex {
    sum += UInt64(bytes[i]) << 8 | UInt64(bytes[i + 1])
    i += 2
  }
  if i < bytes.endIndex { sum += UInt64(bytes[i]) << 8 }
  while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
  return ~UInt16(sum)
}

private func bitwiseCRC32C(_ bytes: ArraySlice<UInt8>) -> UInt32 {
  var crc: UInt32 = 0xffff_ffff
  for b in bytes {
    crc ^= UInt32(b)
    for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
  }
  return ~crc
}

/// Runs `operations` random cursor operations on `IovIter(source, direction)`
/// and on a flat-array model of the same bytes, and throws
/// ``ModelCheckFailure`` at the first divergence.
///
/// The model is the source's bytes in order (read through its segments) with a
/// position, a count and an extent. Every operation of the cursor is exercised:
/// copy in and out in every form (and the `full` forms), zero fill,
/// iterator-to-iterator copy, checksummed copies, the chunk walker, advance,
/// revert, truncate, reexpand, save and restore, counts, alignment, gap
/// alignment, npages, gather export, split, extraction and retention release,
/// and the typed errors of wrong directions, negative values, reverts past the
/// start, reexpands past the end and foreign states, each of which must leave
/// the cursor unchanged.
public func checkAgainstModel<S: IterSegmentSource>(
  _ source: S, direction: IterDirection, operations: Int, seed: UInt64, label: String
) throws {
  var rng = SeededGenerator(seed: seed)
  let layout = FlatLayout(source)
  let pageSize = IterPage.size
  // Destination memory starts with random bytes so that writes are visible.
  if direction == .destination {
    for p in layout.pieces { if let b = p.base { for k in 0..<p.length { b.storeBytes(of: UInt8.random(in: 0...255, using: &rng), toByteOffset: k, as: UInt8.self) } } }
  }
  var data = layout.read()
  let extent = Bool.random(using: &rng) ? layout.total : Int.random(in: 0...layout.total, using: &rng)
  var iter = try IovIter(source, direction: direction, count: extent)
  var pos = 0
  var count = extent
  var history: [String] = []
  var step = 0
  var saved: [(IterState, Int, Int)] = []
  let other = try IovIter(UnsafeSegmentList([]), direction: direction)
  let isDest = direction == .destination

  func fail(_ message: String) -> ModelCheckFailure {
    ModelCheckFailure(label: label, seed: seed, step: step, message: message, history: history)
  }
  func note(_ s: String) {
    history.append(s)
    if history.count > 24 { history.removeFirst() }
  }
  func checkState(_ what: String) throws {
    guard iter.count == count else { throw fail("\(what): count \(iter.count), model \(count)") }
    guard iter.consumedCount == pos else { throw fail("\(what): consumed \(iter.consumedCount), model \(pos)") }
    guard iter.reexpandLimit == extent - pos else {
      throw fail("\(what): reexpandLimit \(iter.reexpandLimit), model \(extent - pos)")
    }
    let p = iter.position
    guard p.segmentIndex >= 0, p.segmentIndex <= source.segmentCount else {
      throw fail("\(what): segment index \(p.segmentIndex) out of 0...\(source.segmentCount)")
    }
    guard layout.segmentStarts[p.segmentIndex] + p.offset == pos else {
      throw fail("\(what): position \(p) is byte \(layout.segmentStarts[p.segmentIndex] + p.offset), model \(pos)")
    }
    if p.segmentIndex < source.segmentCount {
      let len = source.segment(at: p.segmentIndex).count
      guard p.offset >= 0, p.offset <= len else { throw fail("\(what): offset \(p.offset) outside segment of \(len)") }
    } else if p.offset != 0 {
      throw fail("\(what): offset \(p.offset) past the last segment")
    }
  }
  func expectUnchanged(_ what: String, _ body: () throws -> Void, matches: (IterError) -> Bool) throws {
    let before = iter.saveState()
    let beforeCount = iter.count
    do {
      try body()
      throw fail("\(what): expected an error, got success")
    } catch let error as IterError {
      guard matches(error) else { throw fail("\(what): unexpected error \(error)") }
    } catch let error as ModelCheckFailure {
      throw error
    } catch {
      throw fail("\(what): unexpected error \(error)")
    }
    guard iter.saveState() == before, iter.count == beforeCount else {
      throw fail("\(what): cursor changed by a failed call")
    }
  }
  func memoryCheck(_ what: String) throws {
    guard isDest else { return }
    let now = layout.read()
    for p in layout.pieces where p.base != nil {
      let range = p.start..<(p.start + p.length)
      if now[range] != data[range] {
        let k = range.first { now[$0] != data[$0] }!
        throw fail("\(what): memory byte \(k) is \(now[k]), model \(data[k])")
      }
    }
  }
  func randomBytes(_ n: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: n)
    var seed = rng.next()
    bytes.withUnsafeMutableBytes { raw in
      var k = 0
      while k < n {
        seed = seed &* 6364136223846793005 &+ 1442695040888963407
        withUnsafeBytes(of: seed) { w in
          let m = min(8, n - k)
          for j in 0..<m { raw[k + j] = w[j] }
        }
        k += 8
      }
    }
    return bytes
  }
  func modelWrite(_ bytes: [UInt8]) { data.replaceSubrange(pos..<(pos + bytes.count), with: bytes) }
  func expectRead(_ got: [UInt8], _ what: String) throws {
    let want = Array(data[pos..<(pos + got.count)])
    guard got == want else { throw fail("\(what): read bytes differ from the model") }
  }

  try checkState("init")
  while step < operations {
    step += 1
    let op = Int.random(in: 0..<30, using: &rng)
    let n = Int.random(in: 0...(count + 16), using: &rng) / (Bool.random(using: &rng) ? 1 : 4)
    switch op {
    case 0, 1, 2:  // copy in or out, unsafe buffer form
      note("copy \(n) (buffer)")
      if isDest {
        let bytes = randomBytes(n)
        let done = try bytes.withUnsafeBytes { try iter.write($0) }
        guard done == min(n, count) else { throw fail("write returned \(done), want \(min(n, count))") }
        modelWrite(Array(bytes[0..<done]))
        pos += done; count -= done
      } else {
        var buffer = [UInt8](repeating: 0, count: n)
        let done = try buffer.withUnsafeMutableBytes { try iter.read(into: $0) }
        guard done == min(n, count) else { throw fail("read returned \(done), want \(min(n, count))") }
        try expectRead(Array(buffer[0..<done]), "read(into:)")
        pos += done; count -= done
      }
    case 3:  // span and array forms
      note("copy \(n) (span/array)")
      if isDest {
        let bytes = randomBytes(n)
        let done = Bool.random(using: &rng) ? try iter.write(bytes) : try iter.write(bytes.span.bytes)
        guard done == min(n, count) else { throw fail("write(span) returned \(done)") }
        modelWrite(Array(bytes[0..<done]))
        pos += done; count -= done
      } else if Bool.random(using: &rng) {
        let got = try iter.read(upTo: n)
        guard got.count == min(n, count) else { throw fail("read(upTo:) returned \(got.count)") }
        try expectRead(got, "read(upTo:)")
        pos += got.count; count -= got.count
      } else {
        var buffer = [UInt8](repeating: 0, count: n)
        var span = buffer.mutableSpan
        var raw = span.mutableBytes
        let done = try iter.read(into: &raw)
        _ = consume raw
        _ = consume span
        guard done == min(n, count) else { throw fail("read(MutableRawSpan) returned \(done)") }
        try expectRead(Array(buffer[0..<done]), "read(MutableRawSpan)")
        pos += done; count -= done
      }
    case 4:  // OutputRawSpan
      note("read \(n) (OutputRawSpan)")
      if !isDest {
        let prefix = Int.random(in: 0...3, using: &rng)
        var done = 0
        let got = [UInt8](unsafeUninitializedCapacity: n + prefix) { buf, initialized in
          let raw = UnsafeMutableRawBufferPointer(buf)
          for k in 0..<prefix { raw[k] = 0xAA }
          var out = OutputRawSpan(buffer: raw, initializedCount: prefix)
          done = (try? iter.read(into: &out)) ?? -1
          initialized = out.finalize(for: raw)
        }
        guard done == min(n, count), got.count == prefix + done else {
          throw fail("read(OutputRawSpan) returned \(done), initialised \(got.count)")
        }
        try expectRead(Array(got[prefix...]), "read(OutputRawSpan)")
        pos += done; count -= done
      } else {
        try expectUnchanged("read into OutputRawSpan on a destination", {
          var storage = [UInt8](repeating: 0, count: 4)
          try storage.withUnsafeMutableBytes { raw in
            var out = OutputRawSpan(buffer: raw, initializedCount: 0)
            _ = try iter.read(into: &out)
            _ = out.finalize(for: raw)
          }
        }, matches: { if case .wrongDirection = $0 { true } else { false } })
      }
    case 5:  // full forms
      note("full \(n)")
      if n > count {
        try expectUnchanged("full copy of \(n) with \(count) left", {
          if isDest { try iter.writeFull([UInt8](repeating: 1, count: n)) } else { _ = try iter.readFull(count: n) }
        }, matches: { $0 == .insufficientBytes(requested: n, remaining: count) })
        try memoryCheck("after failed full write")
      } else if isDest {
        let bytes = randomBytes(n)
        try iter.writeFull(bytes)
        modelWrite(bytes)
        pos += n; count -= n
      } else {
        let got = try iter.readFull(count: n)
        try expectRead(got, "readFull")
        pos += n; count -= n
      }
    case 6:  // wrong direction
      note("wrong direction")
      try expectUnchanged("wrong-direction copy", {
        if isDest { _ = try iter.read(upTo: 1) } else { _ = try iter.write([1]) }
      }, matches: { if case .wrongDirection = $0 { true } else { false } })
      if !isDest {
        try expectUnchanged("zero on a source", { _ = try iter.zero(1) },
          matches: { if case .wrongDirection = $0 { true } else { false } })
      }
    case 7:  // zero
      note("zero \(n)")
      if isDest {
        let done = try iter.zero(n)
        guard done == min(n, count) else { throw fail("zero returned \(done)") }
        modelWrite([UInt8](repeating: 0, count: done))
        pos += done; count -= done
      }
    case 8, 9:  // advance
      note("advance \(n)")
      try iter.advance(by: n)
      let done = min(n, count)
      pos += done; count -= done
    case 10, 11:  // revert
      let r = Int.random(in: 0...(pos + 3), using: &rng) / (Bool.random(using: &rng) ? 1 : 8)
      note("revert \(r)")
      if r > pos {
        try expectUnchanged("revert \(r) past \(pos)", { try iter.revert(by: r) },
          matches: { $0 == .revertPastStart(requested: r, consumed: pos) })
      } else {
        try iter.revert(by: r)
        pos -= r; count += r
      }
    case 12:  // truncate
      let t = Int.random(in: 0...(count + 4), using: &rng)
      note("truncate \(t)")
      try iter.truncate(to: t)
      count = min(count, t)
    case 13:  // reexpand
      let limit = extent - pos
      let e = Int.random(in: 0...(limit + 4), using: &rng)
      note("reexpand \(e)")
      if e > limit {
        try expectUnchanged("reexpand \(e) past \(limit)", { try iter.reexpand(to: e) },
          matches: { $0 == .reexpandPastLimit(requested: e, limit: limit) })
      } else {
        try iter.reexpand(to: e)
        count = e
      }
    case 14:  // save
      note("save")
      saved.append((iter.saveState(), pos, count))
      if saved.count > 4 { saved.removeFirst() }
    case 15:  // restore
      if let (state, p, c) = saved.randomElement(using: &rng) {
        note("restore to \(p)/\(c)")
        try iter.restore(state)
        pos = p; count = c
      }
      try expectUnchanged("restore of a foreign state", { try iter.restore(other.saveState()) },
        matches: { $0 == .foreignState })
    case 16:  // negative values
      note("negative values")
      try expectUnchanged("advance(-1)", { try iter.advance(by: -1) }, matches: { if case .negativeCount = $0 { true } else { false } })
      try expectUnchanged("revert(-1)", { try iter.revert(by: -1) }, matches: { if case .negativeCount = $0 { true } else { false } })
      try expectUnchanged("truncate(-1)", { try iter.truncate(to: -1) }, matches: { if case .negativeCount = $0 { true } else { false } })
      try expectUnchanged("reexpand(-1)", { try iter.reexpand(to: -1) }, matches: { if case .negativeCount = $0 { true } else { false } })
      try expectUnchanged("extend past the source", { try iter.extend(by: layout.total - extent + 1) },
        matches: { if case .countExceedsSource = $0 { true } else { false } })
    case 17:  // alignment, gap alignment, npages, single segment count
      note("queries")
      let pieces = layout.covering(pos, count)
      var align: UInt = 0
      var gap: UInt = 0
      var pages = 0
      var prevEnd: UInt? = nil
      for (p, skip, len) in pieces where p.base != nil {
        align |= (p.address &+ UInt(skip)) | UInt(len)
        if let prevEnd { gap |= (p.address &+ UInt(skip)) | prevEnd }
        prevEnd = p.segmentEnd
        pages += ((Int((p.address &+ UInt(skip)) & UInt(pageSize - 1))) + len + pageSize - 1) / pageSize
      }
      guard iter.alignment == align else { throw fail("alignment \(iter.alignment), model \(align)") }
      guard iter.gapAlignment == gap else { throw fail("gapAlignment \(iter.gapAlignment), model \(gap)") }
      let cap = Int.random(in: 0...(pages + 2), using: &rng)
      guard try iter.pageCount() == pages else { throw fail("pageCount \(try iter.pageCount()), model \(pages)") }
      guard try iter.pageCount(limit: cap) == min(cap, pages) else { throw fail("pageCount(limit: \(cap))") }
      let single = iter.singleSegmentCount
      if iter.segmentsRemaining > 1 {
        let seg = source.segment(at: iter.position.segmentIndex)
        guard single == min(count, seg.count - iter.position.offset) else { throw fail("singleSegmentCount \(single)") }
      } else if single != count {
        throw fail("singleSegmentCount \(single) with one segment left, count \(count)")
      }
    case 18:  // gather export
      let capacity = Int.random(in: 0...6, using: &rng)
      let maxBytes = Bool.random(using: &rng) ? Int.max : Int.random(in: 0...(count + 8), using: &rng)
      note("gather \(capacity) entries, \(maxBytes == .max ? "all" : String(maxBytes)) bytes")
      var vectors = [iovec](repeating: iovec(), count: capacity)
      let before = iter.saveState()
      let result = try vectors.withUnsafeMutableBufferPointer { try iter.gather(into: $0, maxBytes: maxBytes) }
      guard iter.saveState() == before else { throw fail("gather moved the cursor") }
      var want: [(UInt, Int)] = []
      for (p, skip, len) in layout.covering(pos, min(maxBytes, count)) {
        if p.base == nil || want.count == capacity { break }
        want.append((p.address &+ UInt(skip), len))
      }
      let wantBytes = want.reduce(0) { $0 + $1.1 }
      guard result.vectorCount == want.count, result.byteCount == wantBytes,
        result.isComplete == (wantBytes == count)
      else { throw fail("gather \(result), model \(want.count) entries / \(wantBytes) bytes") }
      for (k, w) in want.enumerated() {
        guard UInt(bitPattern: vectors[k].iov_base) == w.0, vectors[k].iov_len == w.1 else {
          throw fail("gather entry \(k) differs from the model")
        }
      }
    case 19, 20:  // extraction
      let maxBytes = Int.random(in: 0...(count + 64), using: &rng)
      let maxPages = Int.random(in: 1...5, using: &rng)
      let options: IterExtractionOptions = Bool.random(using: &rng) ? [] : [.retain]
      note("extract \(maxBytes) bytes, \(maxPages) pages, \(options.rawValue)")
      let limit = min(maxBytes, count)
      if limit > 0 && !layout.hasMemory(pos) {
        try expectUnchanged("extraction from memory-less bytes", {
          _ = try iter.extractPages(maxBytes: maxBytes, maxPages: maxPages, options: options)
        }, matches: { if case .extractionUnsupported = $0 { true } else { false } })
        break
      }
      let extraction = try iter.extractPages(maxBytes: maxBytes, maxPages: maxPages, options: options)
      let got = extraction.count
      guard got <= limit, (limit == 0) == (got == 0) else { throw fail("extracted \(got) of at most \(limit)") }
      if got > 0 {
        let first = layout.covering(pos, got)
        var expectAddress = first[0].piece.address &+ UInt(first[0].skip)
        for (p, skip, len) in first {
          guard p.address &+ UInt(skip) == expectAddress else { throw fail("extracted run is not virtually contiguous") }
          expectAddress &+= UInt(len)
        }
        let start = first[0].piece.address &+ UInt(first[0].skip)
        let offset = Int(start & UInt(pageSize - 1))
        let wantPages = (offset + got + pageSize - 1) / pageSize
        guard extraction.offset == offset, extraction.pages.count == wantPages, wantPages <= maxPages else {
          throw fail("extraction offset \(extraction.offset) / \(extraction.pages.count) pages; model \(offset) / \(wantPages)")
        }
        for (k, page) in extraction.pages.enumerated() where page.address != (start &- UInt(offset)) &+ UInt(k * pageSize) {
          throw fail("extracted page \(k) is \(page), model 0x\(String((start &- UInt(offset)) &+ UInt(k * pageSize), radix: 16))")
        }
        guard extraction.retentionKind == source.retention(for: options) else {
          throw fail("retention \(extraction.retentionKind), source says \(source.retention(for: options))")
        }
      }
      extraction.release()
      pos += got; count -= got
    case 21:  // split at
      note("split at \(n)")
      let (head, tail) = try iter.split(at: n)
      let h = min(n, count)
      guard head.count == h, tail.count == count - h, head.consumedCount == 0, tail.consumedCount == 0,
        head.reexpandLimit == h, tail.reexpandLimit == count - h
      else { throw fail("split(at: \(n)) gave \(head.count) + \(tail.count)") }
      if !isDest {
        var hh = head
        var tt = tail
        let hb = try hh.read(upTo: .max)
        let tb = try tt.read(upTo: .max)
        guard hb + tb == Array(data[pos..<(pos + count)]) else { throw fail("split pieces read other bytes") }
      }
      var tt = tail
      try expectUnchanged("restore parent state into a piece", { try tt.restore(iter.saveState()) }, matches: { $0 == .foreignState })
    case 22:  // split into pieces
      let size = Int.random(in: 1...max(1, count / 3 + 1), using: &rng)
      note("split maxPieceCount \(size)")
      let pieces = try iter.split(maxPieceCount: size)
      guard pieces.reduce(0, { $0 + $1.count }) == count, pieces.allSatisfy({ $0.count <= size && $0.count > 0 }) else {
        throw fail("split(maxPieceCount: \(size)) does not cover \(count) bytes")
      }
      if !isDest {
        var all: [UInt8] = []
        for var p in pieces { all += try p.read(upTo: .max) }
        guard all == Array(data[pos..<(pos + count)]) else { throw fail("pieces read other bytes") }
      }
    case 23, 24:  // iterator to iterator, with another random segmentation
      let m = Int.random(in: 0...(count + 8), using: &rng)
      note("iter-to-iter \(m)")
      var scratch = [UInt8](repeating: 0, count: m)
      if isDest { for k in 0..<m { scratch[k] = UInt8.random(in: 0...255, using: &rng) } }
      let sizes = randomSegmentSizes(total: m, maxSegments: 12, using: &rng)
      let done: Int = try scratch.withUnsafeMutableBytes { raw in
        var segments: [IterSegment] = []
        var at = 0
        for s in sizes {
          segments.append(IterSegment(base: raw.baseAddress.map { $0 + at }, count: s))
          at += s
        }
        let list = UnsafeSegmentList(segments)
        if isDest {
          var src = try IovIter(list, direction: .source)
          return try iter.copy(from: &src, maxCount: Bool.random(using: &rng) ? .max : m)
        } else {
          var dst = try IovIter(list, direction: .destination)
          return try dst.copy(from: &iter)
        }
      }
      guard done == min(m, count) else { throw fail("iterator copy moved \(done), want \(min(m, count))") }
      if isDest { modelWrite(Array(scratch[0..<done])) } else { try expectRead(Array(scratch[0..<done]), "iterator copy") }
      pos += done; count -= done
    case 25:  // checksummed copy
      note("checksum copy \(n)")
      var inet = InternetChecksum()
      var crc = CRC32C()
      if isDest {
        let bytes = randomBytes(n)
        let useCRC = Bool.random(using: &rng)
        let done = try bytes.withUnsafeBytes { raw in
          useCRC ? try iter.write(raw, checksum: &crc) : try iter.write(raw, checksum: &inet)
        }
        guard done == min(n, count) else { throw fail("checksummed write returned \(done)") }
        let covered = bytes[0..<done]
        guard useCRC ? crc.value == bitwiseCRC32C(covered) : inet.value == rfc1071(covered) else {
          throw fail("checksum of written bytes differs from the reference")
        }
        modelWrite(Array(covered))
        pos += done; count -= done
      } else {
        var buffer = [UInt8](repeating: 0, count: n)
        let half = Int.random(in: 0...n, using: &rng)
        var done = try buffer.withUnsafeMutableBytes { try iter.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<half]), checksum: &inet) }
        done += try buffer.withUnsafeMutableBytes { try iter.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[done...]), checksum: &inet) }
        guard done == min(n, count) else { throw fail("checksummed read returned \(done)") }
        try expectRead(Array(buffer[0..<done]), "checksummed read")
        guard inet.value == rfc1071(data[pos..<(pos + done)]) else { throw fail("Internet checksum differs from RFC 1071") }
        pos += done; count -= done
      }
    case 26:  // chunk walker with an early stop
      let budget = Int.random(in: 0...(count + 4), using: &rng)
      note("iterateAndAdvance budget \(budget)")
      var seen: [UInt8] = []
      var left = budget
      let done = iter.iterateAndAdvance(maxCount: n) { chunk, progress in
        _ = progress
        let take = min(chunk.count, left)
        left -= take
        if !isDest { seen += chunk[0..<take] } else { for k in 0..<take { chunk[k] = 0x5A } }
        if isDest { seen += [UInt8](repeating: 0x5A, count: take) }
        return take
      }
      let want = min(n, count, budget)
      // Discard chunks are consumed without the body: they do not use the budget.
      if layout.covering(pos, min(n, count)).allSatisfy({ $0.piece.base != nil }) {
        guard done == want, seen.count == want else { throw fail("walker handled \(done)/\(seen.count), want \(want)") }
        if isDest {
          modelWrite(seen)
        } else {
          try expectRead(seen, "iterateAndAdvance")
        }
      } else {
        // Mixed with memory-less bytes: replay the model through the pieces.
        var left2 = budget
        var handled = 0
        for (p, _, len) in layout.covering(pos, min(n, count)) {
          if p.base == nil { handled += len; continue }
          let take = min(len, left2)
          left2 -= take
          if isDest { for k in 0..<take { data[pos + handled + k] = 0x5A } }
          handled += take
          if take < len { break }
        }
        guard done == handled else { throw fail("walker handled \(done), model \(handled)") }
      }
      pos += done; count -= done
    case 27:  // forEachChunk peeks
      note("forEachChunk")
      var seen: [UInt8] = []
      let before = iter.saveState()
      iter.forEachChunk { span in
        span.withUnsafeBytes { seen += $0 }
        return true
      }
      guard iter.saveState() == before else { throw fail("forEachChunk moved the cursor") }
      if !isDest {
        guard seen == Array(data[pos..<(pos + count)]) else { throw fail("forEachChunk saw other bytes") }
      }
    case 28:  // extend with nothing new is a no-op; dup is independent
      note("dup")
      var dup = iter
      try dup.advance(by: n)
      try checkState("original after advancing a copy")
    default:  // memory check
      note("memory check")
      try memoryCheck("periodic")
    }
    try checkState("after step")
    if step % 257 == 0 { try memoryCheck("every 257 steps") }
  }
  try memoryCheck("final")
}
