//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore

/// What went wrong at one step.
struct ModelDivergence: Error {
  var message: String
}

/// A cursor and the flat-array model it must agree with, step by step.
///
/// The model is the source's bytes in order with a position (`pos`), a count
/// and an extent; it never looks at the cursor's segment bookkeeping except to
/// check it.
final class ModelRunner<S: IterSegmentSource> {
  let source: S
  let layout: FlatLayout
  let direction: IterDirection
  let isDestination: Bool
  var extent: Int
  let retentionProbe: (() -> Int)?
  /// Whether the model reads and writes the source's memory (see ``replayModel``).
  let readsMemory: Bool
  /// Whether two pieces share memory, so that a write shows at other offsets too.
  let aliased: Bool
  var iter: IovIter<S>
  var data: [UInt8]
  /// The model offset of the cursor's first byte: 0, or where a split piece starts.
  let base: Int
  var pos = 0
  var count: Int
  var saved: [(state: IterState, pos: Int, count: Int)] = []
  let foreign: IterState

  /// Builds the cursor; a destination's memory is first filled with bytes from `memorySeed`.
  /// Its count is `count`, or one drawn from `countSeed`.
  init(
    source: S, direction: IterDirection, countSeed: UInt64, memorySeed: UInt64,
    retentionProbe: (() -> Int)?, count fixedCount: Int? = nil, readsMemory: Bool = true,
    layout given: FlatLayout? = nil
  ) throws {
    self.source = source
    self.layout = given ?? FlatLayout(source)
    self.direction = direction
    self.isDestination = direction == .destination
    self.retentionProbe = retentionProbe
    self.readsMemory = readsMemory
    self.aliased = isDestination && readsMemory && layout.hasAliases
    self.base = 0
    if isDestination && readsMemory { layout.write(seededBytes(layout.total, seed: memorySeed)) }
    data = readsMemory ? layout.read() : []
    var rng = SeededGenerator(seed: countSeed)
    extent = fixedCount ?? (Bool.random(using: &rng) ? layout.total : Int.random(in: 0...layout.total, using: &rng))
    count = extent
    iter = try IovIter(source, direction: direction, count: extent)
    foreign = try IovIter(UnsafeSegmentList([]), direction: direction).saveState()
  }

  /// A model of `cursor`, split from `parent`'s cursor or a copy of it, whose
  /// first byte is at the model's offset `base`, over the memory as `parent`
  /// has it now; a copy (`sharesStates`) may restore `parent`'s saved states.
  init(cursor: IovIter<S>, base: Int, of parent: ModelRunner, sharesStates: Bool) {
    source = parent.source
    layout = parent.layout
    direction = parent.direction
    isDestination = parent.isDestination
    retentionProbe = parent.retentionProbe
    readsMemory = parent.readsMemory
    aliased = parent.aliased
    data = parent.data
    foreign = parent.foreign
    self.base = base
    iter = cursor
    pos = base + cursor.consumedCount
    count = cursor.count
    extent = pos + cursor.reexpandLimit
    if sharesStates { saved = parent.saved }
  }

  // MARK: - Checks

  func checkState() throws(ModelDivergence) {
    guard iter.count == count else { throw ModelDivergence(message: "count is \(iter.count), model \(count)") }
    guard iter.consumedCount == pos - base else {
      throw ModelDivergence(message: "consumedCount is \(iter.consumedCount), model \(pos - base)")
    }
    guard iter.reexpandLimit == extent - pos else {
      throw ModelDivergence(message: "reexpandLimit is \(iter.reexpandLimit), model \(extent - pos)")
    }
    let p = iter.position
    guard p.segmentIndex >= 0, p.segmentIndex < layout.segmentStarts.count else {
      throw ModelDivergence(message: "segment index \(p.segmentIndex) is outside 0...\(source.segmentCount)")
    }
    guard layout.segmentStarts[p.segmentIndex] + p.offset == pos else {
      throw ModelDivergence(
        message:
          "position \(p.segmentIndex)+\(p.offset) is byte \(layout.segmentStarts[p.segmentIndex] + p.offset), model \(pos)"
      )
    }
    if p.segmentIndex < source.segmentCount {
      let len = source.segment(at: p.segmentIndex).count
      guard p.offset >= 0, p.offset <= len else {
        throw ModelDivergence(message: "offset \(p.offset) is outside its segment of \(len) bytes")
      }
    } else if p.offset != 0 {
      throw ModelDivergence(message: "offset \(p.offset) past the last segment")
    }
  }

  func checkMemory() throws(ModelDivergence) {
    guard isDestination && readsMemory else { return }
    // Each piece's memory against the model's bytes, with memcmp: the check
    // runs after every step of a destination run, and an element-wise
    // compare of the whole layout was most of a model run's time.
    for p in layout.pieces {
      guard let base = p.base else { continue }
      let same = data.withUnsafeBytes { model in memcmp(base, model.baseAddress! + p.start, p.length) == 0 }
      if !same {
        let now = UnsafeRawBufferPointer(start: base, count: p.length)
        let i = (0..<p.length).first { now[$0] != data[p.start + $0] }!
        throw ModelDivergence(message: "memory byte \(p.start + i) is \(now[i]), model \(data[p.start + i])")
      }
    }
  }

  /// Runs `body`, which must throw an `IterError` that `matches` accepts, and
  /// must leave the cursor as it was.
  func expectFailure(
    _ what: @autoclosure () -> String, _ body: () throws -> Void, matches: (IterError) -> Bool
  ) throws(ModelDivergence) {
    let before = iter.saveState()
    let beforeCount = iter.count
    do {
      try body()
      throw ModelDivergence(message: "\(what()): expected an error, got success")
    } catch let error as IterError {
      guard matches(error) else { throw ModelDivergence(message: "\(what()): unexpected error \(error)") }
    } catch let divergence as ModelDivergence {
      throw divergence
    } catch {
      throw ModelDivergence(message: "\(what()): unexpected error \(error)")
    }
    guard iter.saveState() == before, iter.count == beforeCount else {
      throw ModelDivergence(message: "\(what()): a failed call changed the cursor")
    }
  }

  /// Whether `bytes` are the model's bytes from `start` (memcmp: an
  /// element-wise compare of arrays is slow in the debug builds tests run in).
  func modelHas(_ bytes: [UInt8], at start: Int) -> Bool {
    guard start >= 0, start <= data.count, bytes.count <= data.count - start else { return false }
    guard !bytes.isEmpty else { return true }
    return bytes.withUnsafeBytes { b in
      data.withUnsafeBytes { d in memcmp(b.baseAddress!, d.baseAddress! + start, b.count) == 0 }
    }
  }

  func expectRead(_ got: [UInt8], _ what: @autoclosure () -> String) throws(ModelDivergence) {
    guard modelHas(got, at: pos) else {
      throw ModelDivergence(message: "\(what()): the bytes read differ from the model's")
    }
  }

  func modelWrite(_ bytes: ArraySlice<UInt8>) {
    store(bytes, at: pos)
  }

  func moved(_ n: Int) {
    pos += n
    count -= n
  }

  // MARK: - Steps

  func run(_ op: ModelOperation) throws(ModelDivergence) {
    do {
      try step(op)
    } catch let divergence as ModelDivergence {
      throw divergence
    } catch {
      throw ModelDivergence(message: "unexpected error \(error)")
    }
    try checkState()
  }

  private func step(_ op: ModelOperation) throws {
    let pageSize = IterPage.size
    switch op {
    case .copy(let n, let form, let seed):
      if isDestination {
        if form == .outputSpan {
          try expectFailure(
            "copy out of a destination into an OutputRawSpan",
            {
              var storage = [UInt8](repeating: 0, count: 4)
              try storage.withUnsafeMutableBytes { raw in
                var out = OutputRawSpan(buffer: raw, initializedCount: 0)
                _ = try iter.read(into: &out)
                _ = out.finalize(for: raw)
              }
            }, matches: isWrongDirection)
          return
        }
        let bytes = seededBytes(n, seed: seed)
        let done: Int
        switch form {
        case .buffer: done = try bytes.withUnsafeBytes { try iter.write($0) }
        case .span: done = try iter.write(bytes.span.bytes)
        default: done = try iter.write(bytes)
        }
        guard done == min(n, count) else {
          throw ModelDivergence(message: "copied \(done) bytes in, model \(min(n, count))")
        }
        modelWrite(bytes[0..<done])
        moved(done)
      } else {
        var got: [UInt8]
        switch form {
        case .buffer:
          got = try readWithCanary(n, "copy out (buffer)") { try self.iter.read(into: $0) }
        case .span:
          got = try readWithCanary(n, "copy out (span)") { raw in
            var into = raw.mutableBytes
            return try self.iter.read(into: &into)
          }
        case .array:
          got = try iter.read(upTo: n)
        case .outputSpan:
          var failure: (any Error)? = nil
          got = [UInt8](unsafeUninitializedCapacity: n + 2) { buf, initialized in
            let raw = UnsafeMutableRawBufferPointer(buf)
            raw[0] = 0xAA
            raw[1] = 0xBB
            var out = OutputRawSpan(buffer: raw, initializedCount: 2)
            do { _ = try iter.read(into: &out) } catch { failure = error }
            initialized = out.finalize(for: raw)
          }
          if let failure { throw failure }
          guard got.count >= 2, got[0] == 0xAA, got[1] == 0xBB else {
            throw ModelDivergence(message: "read into an OutputRawSpan overwrote its initialised prefix")
          }
          got.removeFirst(2)
        }
        guard got.count == min(n, count) else {
          throw ModelDivergence(message: "copied \(got.count) bytes out, model \(min(n, count))")
        }
        try expectRead(got, "copy out (\(form))")
        moved(got.count)
      }
    case .full(let n, let seed):
      if n > count {
        let remaining = count
        try expectFailure(
          "full copy of \(n) with \(count) left",
          {
            if isDestination { try iter.writeFull(seededBytes(n, seed: seed)) } else { _ = try iter.readFull(count: n) }
          }, matches: { $0 == .insufficientBytes(requested: n, remaining: remaining) })
        try checkMemory()
      } else if isDestination {
        let bytes = seededBytes(n, seed: seed)
        try iter.writeFull(bytes)
        modelWrite(bytes[...])
        moved(n)
      } else {
        let got = try iter.readFull(count: n)
        try expectRead(got, "full copy out")
        moved(n)
      }
    case .wrongDirection:
      try expectFailure(
        "a copy the wrong way",
        {
          if isDestination { _ = try iter.read(upTo: 1) } else { _ = try iter.write([1]) }
        }, matches: isWrongDirection)
      if !isDestination {
        try expectFailure("zero fill of a source", { _ = try iter.zero(1) }, matches: isWrongDirection)
      }
    case .zero(let n):
      guard isDestination else { return }
      let done = try iter.zero(n)
      guard done == min(n, count) else { throw ModelDivergence(message: "zeroed \(done), model \(min(n, count))") }
      modelWrite([UInt8](repeating: 0, count: done)[...])
      moved(done)
    case .advance(let n):
      try iter.advance(by: n)
      moved(min(n, count))
    case .revert(let r):
      if r > pos - base {
        let consumed = pos - base
        try expectFailure(
          "revert \(r) with \(consumed) consumed", { try iter.revert(by: r) },
          matches: { $0 == .revertPastStart(requested: r, consumed: consumed) })
      } else {
        try iter.revert(by: r)
        moved(-r)
      }
    case .truncate(let t):
      try iter.truncate(to: t)
      count = min(count, t)
    case .reexpand(let e):
      let limit = extent - pos
      if e > limit {
        try expectFailure(
          "reexpand to \(e) with \(limit) left in the range", { try iter.reexpand(to: e) },
          matches: { $0 == .reexpandPastLimit(requested: e, limit: limit) })
      } else {
        try iter.reexpand(to: e)
        count = e
      }
    case .save:
      saved.append((iter.saveState(), pos, count))
      if saved.count > 4 { saved.removeFirst() }
    case .restore(let index):
      guard !saved.isEmpty else { return }
      let (state, p, c) = saved[index % saved.count]
      try iter.restore(state)
      pos = p
      count = c
    case .badArguments:
      try expectFailure("advance(by: -1)", { try iter.advance(by: -1) }, matches: isNegative)
      try expectFailure("revert(by: -1)", { try iter.revert(by: -1) }, matches: isNegative)
      try expectFailure("truncate(to: -1)", { try iter.truncate(to: -1) }, matches: isNegative)
      try expectFailure("reexpand(to: -1)", { try iter.reexpand(to: -1) }, matches: isNegative)
      try expectFailure("pageCount(limit: -1)", { _ = try iter.pageCount(limit: -1) }, matches: isNegative)
      try expectFailure("split(at: -1)", { _ = try iter.split(at: -1) }, matches: isNegative)
      try expectFailure(
        "extractPages(maxPages: 0)", { _ = try iter.extractPages(maxBytes: 1, maxPages: 0) },
        matches: { if case .invalidArgument = $0 { true } else { false } })
      try expectFailure("restore of a foreign state", { try iter.restore(foreign) }, matches: { $0 == .foreignState })
      try expectFailure(
        "extend past the source", { try iter.extend(by: layout.total - extent + 1) },
        matches: { if case .countExceedsSource = $0 { true } else { false } })
    case .queries(let cap):
      var align: UInt = 0
      var gap: UInt = 0
      var pages = 0
      var previousEnd: UInt? = nil
      for (p, skip, len) in layout.covering(pos, count) where p.base != nil {
        let start = p.address &+ UInt(skip)
        align |= start | UInt(len)
        if let previousEnd { gap |= start | previousEnd }
        previousEnd = p.segmentEnd
        pages += (Int(start & UInt(pageSize - 1)) + len + pageSize - 1) / pageSize
      }
      let (gotAlign, gotGap) = (try iter.alignment, try iter.gapAlignment)
      guard gotAlign == align else {
        throw ModelDivergence(
          message: "alignment 0x\(String(gotAlign, radix: 16)), model 0x\(String(align, radix: 16))")
      }
      guard gotGap == gap else {
        throw ModelDivergence(message: "gapAlignment 0x\(String(gotGap, radix: 16)), model 0x\(String(gap, radix: 16))")
      }
      let got = try iter.pageCount()
      guard got == pages else { throw ModelDivergence(message: "pageCount \(got), model \(pages)") }
      let capped = try iter.pageCount(limit: cap)
      guard capped == min(cap, pages) else {
        throw ModelDivergence(message: "pageCount(limit: \(cap)) \(capped), model \(min(cap, pages))")
      }
      let single = iter.singleSegmentCount
      if iter.segmentsRemaining > 1 {
        let seg = source.segment(at: iter.position.segmentIndex)
        let want = min(count, seg.count - iter.position.offset)
        guard single == want else { throw ModelDivergence(message: "singleSegmentCount \(single), model \(want)") }
      } else if single != count {
        throw ModelDivergence(message: "singleSegmentCount \(single) with one segment left, model \(count)")
      }
    case .gather(let capacity, let maxBytes):
      try checkGather(capacity: capacity, maxBytes: maxBytes, span: false)
    case .gatherSpan(let capacity, let maxBytes):
      try checkGather(capacity: capacity, maxBytes: maxBytes, span: true)
    case .extract(let maxBytes, let maxPages, let retain):
      try checkExtraction(maxBytes: maxBytes, maxPages: maxPages, options: retain ? [.retain] : [])
    case .extractP2P(let maxBytes, let maxPages, let retain):
      try checkExtraction(
        maxBytes: maxBytes, maxPages: maxPages, options: retain ? [.retain, .allowP2PDMA] : [.allowP2PDMA])
    case .splitAt(let n):
      let (head, tail) = try iter.split(at: n)
      let h = min(n, count)
      guard head.count == h, tail.count == count - h, head.consumedCount == 0, tail.consumedCount == 0,
        head.reexpandLimit == h, tail.reexpandLimit == count - h
      else {
        throw ModelDivergence(
          message: "split(at: \(n)) gave \(head.count) + \(tail.count) bytes, model \(h) + \(count - h)")
      }
      if !isDestination && readsMemory {
        var a = head
        var b = tail
        let bytes = try a.read(upTo: .max) + b.read(upTo: .max)
        guard bytes.count == count, modelHas(bytes, at: pos) else {
          throw ModelDivergence(message: "the halves of split(at: \(n)) read other bytes")
        }
      }
      var piece = tail
      let parent = iter.saveState()
      try expectFailure(
        "restore of the parent's state into a split piece", { try piece.restore(parent) },
        matches: { $0 == .foreignState })
    case .splitPieces(let size):
      let pieces = try iter.split(maxPieceCount: size)
      guard pieces.reduce(0, { $0 + $1.count }) == count, pieces.allSatisfy({ $0.count <= size && $0.count > 0 }) else {
        throw ModelDivergence(message: "split(maxPieceCount: \(size)) does not cover the \(count) bytes left")
      }
      if !isDestination && readsMemory {
        var all: [UInt8] = []
        for var piece in pieces { all += try piece.read(upTo: .max) }
        guard all.count == count, modelHas(all, at: pos) else {
          throw ModelDivergence(message: "the pieces of split(maxPieceCount: \(size)) read other bytes")
        }
      }
    case .iteratorCopy(let m, let sizes, let seed):
      var scratch = isDestination ? seededBytes(m, seed: seed) : [UInt8](repeating: 0, count: m)
      let done: Int = try scratch.withUnsafeMutableBytes { raw in
        var segments: [IterSegment] = []
        var at = 0
        for s in sizes {
          segments.append(IterSegment(base: raw.baseAddress.map { $0 + at }, count: s))
          at += s
        }
        let other = UnsafeSegmentList(segments)
        if isDestination {
          var from = try IovIter(other, direction: .source)
          return try iter.copy(from: &from, maxCount: seed & 1 == 0 ? .max : m)
        } else {
          var into = try IovIter(other, direction: .destination)
          return try into.copy(from: &iter)
        }
      }
      guard done == min(m, count) else {
        throw ModelDivergence(message: "iterator copy moved \(done), model \(min(m, count))")
      }
      if isDestination {
        modelWrite(scratch[0..<done])
      } else {
        try expectRead(Array(scratch[0..<done]), "iterator copy")
      }
      moved(done)
    case .checksum(let n, let crc, let firstPart, let seed):
      var inet = InternetChecksum()
      var crc32c = CRC32C()
      if isDestination {
        let bytes = seededBytes(n, seed: seed)
        let done = try bytes.withUnsafeBytes { raw in
          crc ? try iter.write(raw, checksum: &crc32c) : try iter.write(raw, checksum: &inet)
        }
        guard done == min(n, count) else { throw ModelDivergence(message: "checksummed copy in moved \(done)") }
        let covered = bytes[0..<done]
        guard crc ? crc32c.value == referenceCRC32C(covered) : inet.value == referenceInternetChecksum(covered) else {
          throw ModelDivergence(message: "the checksum of the bytes copied in is wrong")
        }
        guard crc || inet.byteCount == done else {
          throw ModelDivergence(message: "the Internet checksum counted \(inet.byteCount) bytes, \(done) copied in")
        }
        modelWrite(covered)
        moved(done)
      } else {
        // Each part's bytes must land at the front of its part, and nothing past them.
        let got = try readWithCanary(n, "checksummed copy out") { raw in
          func part(_ range: Range<Int>) throws -> Int {
            let into = UnsafeMutableRawBufferPointer(rebasing: raw[range])
            return crc
              ? try self.iter.read(into: into, checksum: &crc32c) : try self.iter.read(into: into, checksum: &inet)
          }
          let first = try part(0..<firstPart)
          return try first + part(first..<n)
        }
        let done = got.count
        guard done == min(n, count) else { throw ModelDivergence(message: "checksummed copy out moved \(done)") }
        try expectRead(got, "checksummed copy out")
        let covered = data[pos..<(pos + done)]
        guard crc ? crc32c.value == referenceCRC32C(covered) : inet.value == referenceInternetChecksum(covered) else {
          throw ModelDivergence(message: "the checksum of the bytes copied out is wrong")
        }
        guard crc || inet.byteCount == done else {
          throw ModelDivergence(message: "the Internet checksum counted \(inet.byteCount) bytes, \(done) copied out")
        }
        moved(done)
      }
    case .walker(let maxCount, let budget):
      var seen: [UInt8] = []
      var left = budget
      let dest = isDestination
      let done = iter.iterateAndAdvance(maxCount: maxCount) { chunk, _ in
        let take = min(chunk.count, left)
        left -= take
        if dest {
          for k in 0..<take { chunk[k] = 0x5A }
          seen += [UInt8](repeating: 0x5A, count: take)
        } else {
          seen += chunk[0..<take]
        }
        return take
      }
      // Chunks without memory are consumed without the body and use no budget.
      var want = 0
      var budgetLeft = budget
      var wantBytes: [UInt8] = []
      for (p, skip, len) in layout.covering(pos, min(max(0, maxCount), count)) {
        if p.base == nil {
          want += len
          continue
        }
        let take = min(len, budgetLeft)
        budgetLeft -= take
        wantBytes +=
          dest ? [UInt8](repeating: 0x5A, count: take) : Array(data[(p.start + skip)..<(p.start + skip + take)])
        want += take
        if take < len { break }
      }
      guard done == want, seen == wantBytes else {
        throw ModelDivergence(message: "iterateAndAdvance handled \(done) bytes, model \(want)")
      }
      if dest {
        for (p, skip, len) in layout.covering(pos, done) where p.base != nil {
          store([UInt8](repeating: 0x5A, count: len)[...], at: p.start + skip)
        }
      }
      moved(done)
    case .peek:
      var seen: [UInt8] = []
      let before = iter.saveState()
      iter.forEachChunk { span in
        span.withUnsafeBytes { seen += $0 }
        return true
      }
      guard iter.saveState() == before else { throw ModelDivergence(message: "forEachChunk moved the cursor") }
      if !isDestination && !(seen.count == count && modelHas(seen, at: pos)) {
        throw ModelDivergence(message: "forEachChunk saw other bytes than the model's")
      }
    case .dup(let n):
      var copy = iter
      try copy.advance(by: n)
    case .nextChunk(let n):
      if isDestination {
        var local = iter
        let length = try fillNextMutableChunk(&local, n, with: 0xC3)
        iter = local
        // Memoryless bytes before the chunk were skipped: find where the chunk lies.
        let moved = iter.consumedCount - (pos - base)
        if length > 0 { store([UInt8](repeating: 0xC3, count: length)[...], at: pos + moved - length) }
        self.moved(moved)
      } else {
        var local = iter
        let bytes = try nextChunkBytes(&local, n)
        iter = local
        guard bytes.count <= max(0, n), (bytes.isEmpty) == (min(n, count) == 0) else {
          throw ModelDivergence(message: "nextChunk(maxCount: \(n)) returned \(bytes.count) bytes with \(count) left")
        }
        try expectRead(bytes, "nextChunk")
        moved(bytes.count)
      }
    case .iterate(let maxCount, let answers, let throwAt):
      try checkIterate(maxCount: maxCount, answers: answers, throwAt: throwAt)
    case .chunkWalk(let maxCount, let stopAt, let throwing):
      try checkChunkWalk(maxCount: maxCount, stopAt: stopAt, throwing: throwing)
    case .extend(let n):
      let wanted = (extent - pos).addingReportingOverflow(n)
      let available = layout.total - pos
      let expected: IterError? =
        n < 0
        ? .negativeCount(argument: "n", value: n)
        : wanted.overflow
          ? .lengthOverflow(total: extent - base, limit: Int.max)
          : available < wanted.partialValue
            ? .countExceedsSource(count: wanted.partialValue, available: max(0, available))
            : nil
      if let expected {
        try expectFailure("extend by \(n)", { try iter.extend(by: n) }, matches: { $0 == expected })
      } else {
        try iter.extend(by: n)
        extent += n
        count += n
      }
    case .fullBuffer(let n, let span, let seed):
      let remaining = count
      let insufficient: (IterError) -> Bool = { $0 == .insufficientBytes(requested: n, remaining: remaining) }
      if isDestination {
        let bytes = seededBytes(n, seed: seed)
        let copy = {
          if span {
            try self.iter.writeFull(bytes.span.bytes)
          } else {
            try bytes.withUnsafeBytes { try self.iter.writeFull($0) }
          }
        }
        if n > count {
          try expectFailure(
            "full copy of \(n) with \(count) left (\(span ? "span" : "buffer"))", copy, matches: insufficient)
          try checkMemory()
        } else {
          try copy()
          modelWrite(bytes[...])
          moved(n)
        }
      } else {
        let copy = {
          try self.readWithCanary(n, "full copy out") { raw in
            if span {
              var into = raw.mutableBytes
              try self.iter.readFull(into: &into)
            } else {
              try self.iter.readFull(into: raw)
            }
            return n
          }
        }
        if n > count {
          try expectFailure(
            "full copy of \(n) with \(count) left (\(span ? "span" : "buffer"))", { _ = try copy() },
            matches: insufficient)
        } else {
          try expectRead(try copy(), "full copy out (\(span ? "span" : "buffer"))")
          moved(n)
        }
      }
    case .memoryCheck:
      try checkMemory()
    case .splitRun(let n, let headOperations, let tailOperations):
      let before = iter.saveState()
      let (head, tail) = try iter.split(at: n)
      let first = ModelRunner(cursor: head, base: pos, of: self, sharesStates: false)
      try first.replay(headOperations, "the head of split(at: \(n))")
      let second = ModelRunner(cursor: tail, base: pos + min(n, count), of: self, sharesStates: false)
      second.data = first.data
      try second.replay(tailOperations, "the tail of split(at: \(n))")
      data = second.data
      guard iter.saveState() == before else {
        throw ModelDivergence(message: "the pieces' operations moved the cursor")
      }
    case .copyRun(let operations):
      let before = iter.saveState()
      let copy = ModelRunner(cursor: iter, base: base, of: self, sharesStates: true)
      try copy.replay(operations, "a copy of the cursor")
      data = copy.data
      guard iter.saveState() == before, iter.count == count else {
        throw ModelDivergence(message: "the copy's operations moved the cursor")
      }
    }
  }

  /// Reads through `body` into `n` bytes followed by canary bytes, and checks
  /// that no byte past those `body` says it read was written (all of them,
  /// when it throws).
  func readWithCanary(
    _ n: Int, _ what: @autoclosure () -> String, _ body: (UnsafeMutableRawBufferPointer) throws -> Int
  ) throws -> [UInt8] {
    let canary: UInt8 = 0xEE
    var buffer = [UInt8](repeating: canary, count: n + 16)
    var done = 0
    var failure: (any Error)? = nil
    buffer.withUnsafeMutableBytes { raw in
      do { done = try body(UnsafeMutableRawBufferPointer(rebasing: raw[0..<n])) } catch { failure = error }
    }
    if let k = buffer[done...].firstIndex(where: { $0 != canary }) {
      throw ModelDivergence(message: "\(what()): byte \(k) of the buffer written, past the \(done) bytes read")
    }
    if let failure { throw failure }
    return Array(buffer[0..<done])
  }

  /// `iterateAndAdvance` with a body that returns any amount or throws.
  private func checkIterate(maxCount: Int, answers: [Int?], throwAt: Int?) throws {
    func answer(_ call: Int) -> Int? { answers.isEmpty ? nil : answers[call % answers.count] }
    let dest = isDestination
    var calls = 0
    var chunks: [WalkedChunk] = []
    var seen: [UInt8] = []
    var result: Int? = nil
    do {
      result = try iter.iterateAndAdvance(maxCount: maxCount) { (chunk, progress) throws(WalkBodyError) -> Int in
        defer { calls += 1 }
        chunks.append(WalkedChunk(address: UInt(bitPattern: chunk.baseAddress), count: chunk.count, progress: progress))
        if calls == throwAt { throw WalkBodyError() }
        let said = answer(calls)
        let take = min(max(said ?? chunk.count, 0), chunk.count)
        for k in 0..<take {
          if dest { chunk[k] = UInt8(truncatingIfNeeded: progress + k) } else { seen.append(chunk[k]) }
        }
        return said ?? chunk.count
      }
    } catch {}
    // The model: chunks without memory are taken whole without a call; a
    // return is clamped to the chunk, and fewer than the chunk stops.
    var want = 0
    var wantThrow = false
    var wantChunks: [WalkedChunk] = []
    var wantBytes: [UInt8] = []
    var writes: [(at: Int, bytes: [UInt8])] = []
    for (p, skip, len) in layout.covering(pos, min(max(0, maxCount), count)) {
      if p.base == nil {
        want += len
        continue
      }
      let call = wantChunks.count
      wantChunks.append(WalkedChunk(address: p.address &+ UInt(skip), count: len, progress: want))
      if call == throwAt {
        wantThrow = true
        break
      }
      let take = min(max(answer(call) ?? len, 0), len)
      if dest {
        writes.append((pos + want, (0..<take).map { UInt8(truncatingIfNeeded: want + $0) }))
      } else {
        wantBytes += data[(p.start + skip)..<(p.start + skip + take)]
      }
      want += take
      if take < len { break }
    }
    guard chunks == wantChunks else {
      throw ModelDivergence(message: "iterateAndAdvance handed out the chunks \(chunks), model \(wantChunks)")
    }
    guard (result == nil) == wantThrow else {
      throw ModelDivergence(
        message: wantThrow ? "iterateAndAdvance did not throw the body's error" : "iterateAndAdvance threw")
    }
    if let result, result != want {
      throw ModelDivergence(message: "iterateAndAdvance returned \(result), model \(want)")
    }
    guard seen == wantBytes else {
      throw ModelDivergence(message: "iterateAndAdvance handed out other bytes than the model's")
    }
    for w in writes { store(w.bytes[...], at: w.at) }
    moved(want)
  }

  /// `forEachChunk` stopped early, by returning `false` or by throwing.
  private func checkChunkWalk(maxCount: Int, stopAt: Int, throwing: Bool) throws {
    let before = iter.saveState()
    var chunks: [WalkedChunk] = []
    var seen: [UInt8] = []
    var threw = false
    do {
      try iter.forEachChunk(maxCount: maxCount) { (span) throws(WalkBodyError) -> Bool in
        span.withUnsafeBytes { raw in
          chunks.append(WalkedChunk(address: UInt(bitPattern: raw.baseAddress), count: raw.count, progress: 0))
          seen += raw
        }
        guard chunks.count - 1 != stopAt else {
          if throwing { throw WalkBodyError() }
          return false
        }
        return true
      }
    } catch {
      threw = true
    }
    guard iter.saveState() == before else { throw ModelDivergence(message: "forEachChunk moved the cursor") }
    var wantChunks: [WalkedChunk] = []
    var wantBytes: [UInt8] = []
    for (p, skip, len) in layout.covering(pos, min(max(0, maxCount), count)) where p.base != nil {
      wantChunks.append(WalkedChunk(address: p.address &+ UInt(skip), count: len, progress: 0))
      wantBytes += data[(p.start + skip)..<(p.start + skip + len)]
      if wantChunks.count - 1 == stopAt { break }
    }
    let wantThrow = throwing && !wantChunks.isEmpty && wantChunks.count - 1 == stopAt
    guard chunks == wantChunks, threw == wantThrow else {
      throw ModelDivergence(
        message:
          "forEachChunk visited \(chunks)\(threw ? " and threw" : ""), model \(wantChunks)\(wantThrow ? " and a throw" : "")"
      )
    }
    guard seen == wantBytes else { throw ModelDivergence(message: "forEachChunk saw other bytes than the model's") }
  }

  /// Gather export, through a buffer pointer or a `MutableSpan`.
  private func checkGather(capacity: Int, maxBytes: Int, span: Bool) throws {
    var vectors = [iovec](repeating: iovec(), count: capacity)
    let before = iter.saveState()
    let result: IterGather
    if span {
      var entries = vectors.mutableSpan
      result = try iter.gather(into: &entries, maxBytes: maxBytes)
    } else {
      result = try vectors.withUnsafeMutableBufferPointer { try iter.gather(into: $0, maxBytes: maxBytes) }
    }
    guard iter.saveState() == before else { throw ModelDivergence(message: "gather export moved the cursor") }
    var want: [(UInt, Int)] = []
    for (p, skip, len) in layout.covering(pos, min(maxBytes, count)) {
      if p.base == nil || want.count == capacity { break }
      want.append((p.address &+ UInt(skip), len))
    }
    let wantBytes = want.reduce(0) { $0 + $1.1 }
    guard result.vectorCount == want.count, result.byteCount == wantBytes, result.isComplete == (wantBytes == count)
    else {
      throw ModelDivergence(
        message: "gather export gave \(result), model \(want.count) entries with \(wantBytes) bytes")
    }
    for (k, w) in want.enumerated() {
      guard UInt(bitPattern: vectors[k].iov_base) == w.0, vectors[k].iov_len == w.1 else {
        throw ModelDivergence(
          message: "gather entry \(k) is \(vectors[k].iov_base.map { "\($0)" } ?? "nil")+\(vectors[k].iov_len), "
            + "model 0x\(String(w.0, radix: 16))+\(w.1)")
      }
    }
  }

  /// Extraction with `options`; a refusal by RLIMIT_MEMLOCK is allowed (see ``replayModel``).
  private func checkExtraction(maxBytes: Int, maxPages: Int, options: IterExtractionOptions) throws {
    let limit = min(maxBytes, count)
    if limit > 0 && !layout.hasMemory(pos) {
      try expectFailure(
        "extraction from bytes without memory",
        {
          _ = try iter.extractPages(maxBytes: maxBytes, maxPages: maxPages, options: options)
        }, matches: { if case .extractionUnsupported = $0 { true } else { false } })
      return
    }
    let held = retentionProbe?()
    let declared = try source.retention(for: options, at: iter.position)
    let before = iter.saveState()
    let willPin = iter.extractionWillPin
    do {
      let extraction = try iter.extractPages(maxBytes: maxBytes, maxPages: maxPages, options: options)
      let got = extraction.count
      guard got <= limit, (limit == 0) == (got == 0) else {
        throw ModelDivergence(message: "extracted \(got) bytes; model allows 1...\(limit)")
      }
      if got > 0 {
        guard extraction.pages.count <= maxPages else {
          throw ModelDivergence(
            message: "extraction listed \(extraction.pages.count) pages; at most \(maxPages) allowed")
        }
        if let problem = layout.pageListProblem(
          pages: extraction.pages, offset: extraction.offset, count: got, from: pos)
        {
          throw ModelDivergence(message: "the extracted pages are not a page list of the run: \(problem)")
        }
        guard extraction.retentionKind == declared else {
          throw ModelDivergence(message: "extraction holds \(extraction.retentionKind), the source says \(declared)")
        }
        if options.isEmpty && willPin != (extraction.retentionKind == .pin) {
          throw ModelDivergence(
            message: "extractionWillPin is \(willPin), the extraction holds \(extraction.retentionKind)")
        }
      }
      extraction.release()
      if let held, let probe = retentionProbe, probe() != held {
        throw ModelDivergence(
          message: "after release the kind holds \(probe()) retentions, \(held) before the extraction")
      }
      moved(got)
    } catch IterError.resourceLimit {
      // A pin over RLIMIT_MEMLOCK: the machine's limit, not the input's. The
      // refusal must pin nothing and move nothing.
      guard iter.saveState() == before, iter.count == count else {
        throw ModelDivergence(message: "an extraction refused by a resource limit changed the cursor")
      }
      if let held, let probe = retentionProbe, probe() != held {
        throw ModelDivergence(
          message: "an extraction refused by a resource limit left \(probe()) retentions held, \(held) before")
      }
    } catch IterError.extractionUnsupported where options.contains(.retain) && declared == .none && limit > 0 {
      // A kind that holds nothing may refuse to be asked for a hold (device
      // memory has no pages to reference): a typed refusal that moves nothing.
      guard iter.saveState() == before, iter.count == count else {
        throw ModelDivergence(message: "a refused extraction with retain changed the cursor")
      }
      if let held, let probe = retentionProbe, probe() != held {
        throw ModelDivergence(message: "a refused extraction left \(probe()) retentions held, \(held) before")
      }
    }
  }
}

/// What a walk's body throws in the model's checks.
private struct WalkBodyError: Error {}

/// A chunk a walk handed out: where it is, its size, and the bytes before it in the walk.
private struct WalkedChunk: Equatable, CustomStringConvertible {
  var address: UInt
  var count: Int
  var progress: Int
  var description: String { "0x\(String(address, radix: 16))+\(count)@\(progress)" }
}

private func isWrongDirection(_ e: IterError) -> Bool { if case .wrongDirection = e { true } else { false } }
private func isNegative(_ e: IterError) -> Bool { if case .negativeCount = e { true } else { false } }

private func nextChunkBytes<S: IterSegmentSource>(_ iter: inout IovIter<S>, _ n: Int) throws -> [UInt8] {
  let chunk = try iter.nextChunk(maxCount: n)
  return chunk.withUnsafeBytes { Array($0) }
}

private func fillNextMutableChunk<S: IterSegmentSource>(
  _ iter: inout IovIter<S>, _ n: Int, with value: UInt8
) throws -> Int {
  var chunk = try iter.nextMutableChunk(maxCount: n)
  for k in 0..<chunk.byteCount { chunk.storeBytes(of: value, toByteOffset: k, as: UInt8.self) }
  return chunk.byteCount
}
