//===----------------------------------------------------------------------===//
// swift-iov-iter fuzzing
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterDiscard

/// Runs an input-driven sequence of cursor operations over a few cursors of
/// one source kind, and checks every result against the reference model:
/// counts, positions, errors (exact case and values), the bytes copied, the
/// `iovec`s exported, the chunks walked, the pages extracted, and that a
/// cursor that throws is unchanged.
///
/// With `memory: false` only the operations that never dereference the
/// described memory run (the iovec-import harness: its addresses are garbage).
public final class OpRunner<S: IterSegmentSource> {
  public struct Slot {
    public var iter: IovIter<S>
    public var model: ModelCursor
  }

  struct Saved {
    var state: IterState
    var identity: Int
    var consumed: Int
    var count: Int
  }

  public var slots: [Slot] = []
  var saved: [Saved] = []
  public let memory: Bool
  /// Extra operations of a harness (a chain appends members), given a slot index.
  public var extraOperation: ((OpRunner<S>, inout FuzzInput, Int) -> Void)?

  static var maxSlots: Int { 6 }
  let scratchSize = 8192
  let scratch: UnsafeMutableRawBufferPointer
  let peer: UnsafeMutableRawBufferPointer
  let pageSize = IterPage.size

  public init(memory: Bool) {
    self.memory = memory
    scratch = .allocate(byteCount: scratchSize, alignment: 16)
    peer = .allocate(byteCount: 4096, alignment: 16)
    scratch.initializeMemory(as: UInt8.self, repeating: 0)
    peer.initializeMemory(as: UInt8.self, repeating: 0)
  }

  deinit {
    scratch.deallocate()
    peer.deallocate()
  }

  public func add(_ iter: IovIter<S>, _ model: ModelCursor) {
    check(iter.count == model.count, "new cursor: count \(iter.count), model \(model.count)")
    if slots.count < OpRunner.maxSlots { slots.append(Slot(iter: iter, model: model)) }
  }

  /// Runs operations until the input is used up (or `limit` operations).
  public func run(_ input: inout FuzzInput, limit: Int = 400) {
    var n = 0
    while !input.isEmpty && !slots.isEmpty && n < limit {
      let k = input.below(slots.count)
      step(&input, k)
      verify(k)
      n += 1
    }
  }

  // MARK: - Checks shared by every operation

  func verify(_ k: Int) {
    guard k < slots.count else { return }
    let s = slots[k]
    check(
      s.iter.count == s.model.count && s.iter.consumedCount == s.model.consumed
        && s.iter.reexpandLimit == s.model.extent - s.model.consumed,
      "cursor \(s.iter) disagrees with the model: count \(s.model.count), consumed "
        + "\(s.model.consumed), extent \(s.model.extent)")
    check(s.iter.isEmpty == (s.model.count == 0), "isEmpty")
  }

  struct Snapshot: Equatable {
    var count: Int
    var consumed: Int
    var limit: Int
    var position: IterPosition
  }

  func snapshot(_ k: Int) -> Snapshot {
    let it = slots[k].iter
    return Snapshot(
      count: it.count, consumed: it.consumedCount, limit: it.reexpandLimit, position: it.position)
  }

  /// Checks that `body` throws exactly `expected` (nil: succeeds) and that
  /// a throw leaves the cursor unchanged.
  func expect(_ k: Int, _ expected: IterError?, _ what: String, _ body: () throws(IterError) -> Void) {
    let before = snapshot(k)
    do throws(IterError) {
      try body()
      check(expected == nil, "\(what) succeeded; expected \(expected.map { "\($0)" } ?? "")")
    } catch {
      check(
        expected == error || (expected == nil && isEnvironmental(error)),
        "\(what) threw \(error); expected \(expected.map { "\($0)" } ?? "success")")
      check(snapshot(k) == before, "\(what) threw \(error) but moved the cursor")
    }
  }

  /// Failures that come from the machine, not the input (a pin over RLIMIT_MEMLOCK).
  func isEnvironmental(_ error: IterError) -> Bool {
    if case .resourceLimit = error { return true }
    return false
  }

  @inline(__always) func load(_ address: UInt) -> UInt8 {
    UnsafePointer<UInt8>(bitPattern: address)!.pointee
  }

  func fillScratch(_ seed: UInt8, _ n: Int) {
    for i in 0..<n { scratch[i] = seed &+ UInt8(truncatingIfNeeded: i &* 131 &+ i >> 7) }
  }

  /// The bytes at model positions `[pos, pos + n)` were written from `value(i)`;
  /// where two positions share an address (overlapping segments), the later wins.
  func verifyWritten(_ m: ModelCursor, from pos: Int, count n: Int, _ what: String, _ value: (Int) -> UInt8) {
    var seen = Set<UInt>()
    var i = n - 1
    while i >= 0 {
      if let a = m.source.address(at: pos + i), seen.insert(a).inserted {
        check(load(a) == value(i), "\(what): byte \(i) at 0x\(String(a, radix: 16)) not written")
      }
      i -= 1
    }
  }

  func verifyRead(_ m: ModelCursor, from pos: Int, count n: Int, _ what: String, _ value: (Int) -> UInt8) {
    for i in 0..<n {
      guard let a = m.source.address(at: pos + i) else {
        check(false, "\(what): byte \(i) read from a segment without memory")
        return
      }
      check(load(a) == value(i), "\(what): byte \(i) differs from 0x\(String(a, radix: 16))")
    }
  }

  /// The chunk `[base, base + n)` handed out at model position `pos` lies in one
  /// segment at the right address.
  func verifyChunk(_ m: ModelCursor, at pos: Int, base: UInt, count n: Int, _ what: String) {
    guard n > 0 else { return }
    let first = m.source.segment(containing: pos)
    let last = m.source.segment(containing: pos + n - 1)
    check(first == last, "\(what): chunk of \(n) at \(pos) spans segments \(first)...\(last)")
    check(
      m.source.address(at: pos) == base,
      "\(what): chunk at 0x\(String(base, radix: 16)), model says "
        + "\(m.source.address(at: pos).map { String($0, radix: 16) } ?? "no memory")")
  }

  // MARK: - One operation

  func step(_ input: inout FuzzInput, _ k: Int) {
    let op = Int(input.u8())
    if !memory {
      // Only what never dereferences the described memory.
      let safe = [10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 25, 26, 27]
      stepOp(safe[op % safe.count], &input, k)
    } else {
      stepOp(op % (extraOperation == nil ? 28 : 30), &input, k)
    }
  }

  func stepOp(_ op: Int, _ input: inout FuzzInput, _ k: Int) {
    var m = slots[k].model
    let isDest = !m.isSource
    let count = m.count
    switch op {
    case 0, 1:  // copy_to_iter(_full)
      let n = min(max(0, input.arg(hint: count)), scratchSize)
      fillScratch(input.u8(), n)
      let full = op == 1
      let variant = input.u8() % 3
      let from = UnsafeRawBufferPointer(start: scratch.baseAddress, count: n)
      let expected: IterError? =
        !isDest ? .wrongDirection(operation: full ? "copy_to_iter_full" : "copy_to_iter", direction: .source)
        : (full && n > count ? .insufficientBytes(requested: n, remaining: count) : nil)
      var copied = -1
      expect(k, expected, full ? "writeFull(\(n))" : "write(\(n))") { () throws(IterError) in
        switch (full, variant) {
        case (false, 0): copied = try slots[k].iter.write(from)
        case (false, 1): copied = try slots[k].iter.write(from.bytes)
        case (false, _): copied = try slots[k].iter.write(Array(from))
        case (true, 0): try slots[k].iter.writeFull(from); copied = n
        case (true, 1): try slots[k].iter.writeFull(from.bytes); copied = n
        case (true, _): try slots[k].iter.writeFull(Array(from)); copied = n
        }
      }
      if expected == nil {
        let want = min(n, count)
        check(copied == want, "write(\(n)) copied \(copied), expected \(want)")
        verifyWritten(m, from: m.position, count: want, "write") { scratch[$0] }
        m.advance(want)
      }
    case 2:  // iov_iter_zero
      let n = input.arg(hint: count)
      let expected: IterError? =
        n < 0 ? .negativeCount(argument: "n", value: n)
        : (!isDest ? .wrongDirection(operation: "iov_iter_zero", direction: .source) : nil)
      var zeroed = -1
      expect(k, expected, "zero(\(n))") { () throws(IterError) in zeroed = try slots[k].iter.zero(n) }
      if expected == nil {
        let want = min(n, count)
        check(zeroed == want, "zero(\(n)) zeroed \(zeroed), expected \(want)")
        m.source.forEachPiece(from: m.position, count: want) { seg, start, len in
          if m.source.addresses[seg] != 0 {
            let a = m.source.pieceAddress(seg, start)
            for i in 0..<len { check(load(a + UInt(i)) == 0, "zero: byte not zeroed") }
          }
          return true
        }
        m.advance(want)
      }
    case 3, 4:  // copy_from_iter(_full)
      let n = min(max(0, input.arg(hint: count)), scratchSize)
      let full = op == 4
      let variant = input.u8() % 3
      scratch.initializeMemory(as: UInt8.self, repeating: 0xEE)
      let into = UnsafeMutableRawBufferPointer(start: scratch.baseAddress, count: n)
      let expected: IterError? =
        isDest ? .wrongDirection(operation: full ? "copy_from_iter_full" : "copy_from_iter", direction: .destination)
        : (full && n > count ? .insufficientBytes(requested: n, remaining: count) : nil)
      var copied = -1
      var start = 0
      expect(k, expected, full ? "readFull(\(n))" : "read(\(n))") { () throws(IterError) in
        switch (full, variant) {
        case (false, 0): copied = try slots[k].iter.read(into: into)
        case (false, 1):
          var span = into.mutableBytes
          copied = try slots[k].iter.read(into: &span)
        case (false, _):
          // An output span that already holds some bytes: only the free part is filled.
          start = n == 0 ? 0 : Int(input.u8()) % (n + 1)
          var output = OutputRawSpan(buffer: into, initializedCount: start)
          copied = try slots[k].iter.read(into: &output)
          check(output.byteCount == start + copied, "read(into: OutputRawSpan) count")
          _ = output.finalize(for: into)
        case (true, 0): try slots[k].iter.readFull(into: into); copied = n
        case (true, _):
          var span = into.mutableBytes
          try slots[k].iter.readFull(into: &span)
          copied = n
        }
      }
      if expected == nil {
        let want = min(n - start, count)
        check(copied == want, "read(\(n)) copied \(copied), expected \(want)")
        verifyRead(m, from: m.position, count: want, "read") { scratch[start + $0] }
        for i in (start + want)..<scratchSize { check(scratch[i] == 0xEE, "read wrote past \(want) bytes") }
        m.advance(want)
      }
    case 5, 6:  // read(upTo:) and readFull(count:), which allocate
      let n = input.arg(hint: count)
      let full = op == 6
      let expectedFull: IterError? =
        n < 0 ? .negativeCount(argument: full ? "count" : "n", value: n)
        : isDest ? .wrongDirection(operation: full ? "copy_from_iter_full" : "copy_from_iter", direction: .destination)
        : (full && n > count ? .insufficientBytes(requested: n, remaining: count) : nil)
      var bytes: [UInt8] = []
      expect(k, expectedFull, full ? "readFull(count: \(n))" : "read(upTo: \(n))") { () throws(IterError) in
        bytes = full ? try slots[k].iter.readFull(count: n) : try slots[k].iter.read(upTo: n)
      }
      if expectedFull == nil {
        let want = min(n, count)
        check(bytes.count == want, "read(upTo: \(n)) gave \(bytes.count), expected \(want)")
        verifyRead(m, from: m.position, count: want, "read(upTo:)") { bytes[$0] }
        m.advance(want)
      }
    case 7:  // csum_and_copy_to_iter
      let n = min(max(0, input.arg(hint: count)), scratchSize)
      fillScratch(input.u8(), n)
      let from = UnsafeRawBufferPointer(start: scratch.baseAddress, count: n)
      let expected: IterError? =
        isDest ? nil : .wrongDirection(operation: "csum_and_copy_to_iter", direction: .source)
      var copied = -1
      var sum = InternetChecksum()
      var crc = CRC32C()
      let useCRC = input.bool()
      expect(k, expected, "write(\(n), checksum:)") { () throws(IterError) in
        copied = useCRC ? try slots[k].iter.write(from, checksum: &crc)
          : try slots[k].iter.write(from, checksum: &sum)
      }
      if expected == nil {
        let want = min(n, count)
        check(copied == want, "write(checksum:) copied \(copied), expected \(want)")
        let part = UnsafeRawBufferPointer(rebasing: from[0..<want])
        if useCRC {
          var reference = CRC32C()
          reference.update(part)
          check(crc == reference, "CRC32C of the copied bytes differs")
        } else {
          var reference = InternetChecksum()
          reference.update(part)
          check(sum.value == reference.value && sum.byteCount == want, "Internet checksum differs")
        }
        verifyWritten(m, from: m.position, count: want, "write(checksum:)") { scratch[$0] }
        m.advance(want)
      }
    case 8:  // csum_and_copy_from_iter
      let n = min(max(0, input.arg(hint: count)), scratchSize)
      let into = UnsafeMutableRawBufferPointer(start: scratch.baseAddress, count: n)
      let expected: IterError? =
        isDest ? .wrongDirection(operation: "csum_and_copy_from_iter", direction: .destination) : nil
      var copied = -1
      var sum = InternetChecksum()
      var crc = CRC32C()
      let useCRC = input.bool()
      expect(k, expected, "read(\(n), checksum:)") { () throws(IterError) in
        copied = useCRC ? try slots[k].iter.read(into: into, checksum: &crc)
          : try slots[k].iter.read(into: into, checksum: &sum)
      }
      if expected == nil {
        let want = min(n, count)
        check(copied == want, "read(checksum:) copied \(copied), expected \(want)")
        let part = UnsafeRawBufferPointer(rebasing: into[0..<want])
        if useCRC {
          var reference = CRC32C()
          reference.update(part)
          check(crc == reference, "CRC32C of the copied bytes differs")
        } else {
          var reference = InternetChecksum()
          reference.update(part)
          check(sum.value == reference.value, "Internet checksum differs")
        }
        verifyRead(m, from: m.position, count: want, "read(checksum:)") { into[$0] }
        m.advance(want)
      }
    case 9:
      copyWithPeer(&input, k, &m)
    case 10:  // iov_iter_advance
      let n = input.arg(hint: count)
      expect(k, n < 0 ? .negativeCount(argument: "n", value: n) : nil, "advance(\(n))") { () throws(IterError) in
        try slots[k].iter.advance(by: n)
      }
      if n >= 0 { m.advance(min(n, count)) }
    case 11:  // iov_iter_revert
      let n = input.arg(hint: m.consumed)
      let expected: IterError? =
        n < 0 ? .negativeCount(argument: "n", value: n)
        : (n > m.consumed ? .revertPastStart(requested: n, consumed: m.consumed) : nil)
      expect(k, expected, "revert(\(n))") { () throws(IterError) in try slots[k].iter.revert(by: n) }
      if expected == nil { m.advance(-n) }
    case 12:  // iov_iter_truncate
      let n = input.arg(hint: count)
      expect(k, n < 0 ? .negativeCount(argument: "n", value: n) : nil, "truncate(\(n))") { () throws(IterError) in
        try slots[k].iter.truncate(to: n)
      }
      if n >= 0 { m.count = min(m.count, n) }
    case 13:  // iov_iter_reexpand
      let limit = m.extent - m.consumed
      let n = input.arg(hint: input.bool() ? limit : count)
      let expected: IterError? =
        n < 0 ? .negativeCount(argument: "n", value: n)
        : (n > limit ? .reexpandPastLimit(requested: n, limit: limit) : nil)
      expect(k, expected, "reexpand(\(n))") { () throws(IterError) in try slots[k].iter.reexpand(to: n) }
      if expected == nil { m.count = n }
    case 14:  // iov_iter_save_state
      let state = slots[k].iter.saveState()
      check(state.count == m.count && state.consumedCount == m.consumed, "saveState")
      if saved.count >= 8 { saved.removeFirst() }
      saved.append(Saved(state: state, identity: m.identity, consumed: m.consumed, count: m.count))
    case 15:  // iov_iter_restore, with this cursor's states and foreign ones
      guard !saved.isEmpty else { break }
      let s = saved[input.below(saved.count)]
      let fits = s.identity == m.identity && s.consumed <= m.extent && s.count <= m.extent - s.consumed
      expect(k, fits ? nil : .foreignState, "restore") { () throws(IterError) in
        try slots[k].iter.restore(s.state)
      }
      if fits {
        m.consumed = s.consumed
        m.count = s.count
        check(slots[k].iter.position == s.state.position, "restore: position")
      }
    case 16:  // extend (the source grew)
      let n = input.arg(hint: m.source.total - m.position - (m.extent - m.consumed))
      var expected: IterError? = nil
      let wanted = (m.extent - m.consumed).addingReportingOverflow(n)
      let available = m.source.total - m.position
      if n < 0 {
        expected = .negativeCount(argument: "n", value: n)
      } else if wanted.overflow {
        expected = .lengthOverflow(total: m.extent, limit: Int.max)
      } else if available < wanted.partialValue {
        expected = .countExceedsSource(count: wanted.partialValue, available: max(0, available))
      }
      expect(k, expected, "extend(by: \(n))") { () throws(IterError) in try slots[k].iter.extend(by: n) }
      if expected == nil {
        m.extent += n
        m.count += n
      }
    case 17:  // split(at:)
      let n = input.arg(hint: count / 2)
      var pieces: (head: IovIter<S>, tail: IovIter<S>)? = nil
      expect(k, n < 0 ? .negativeCount(argument: "n", value: n) : nil, "split(at: \(n))") { () throws(IterError) in
        pieces = try slots[k].iter.split(at: n)
      }
      if let pieces {
        let cut = min(n, count)
        let head = m.piece(at: 0, count: cut)
        let tail = m.piece(at: cut, count: count - cut)
        checkPiece(pieces.head, head, "split head")
        checkPiece(pieces.tail, tail, "split tail")
        if input.bool() { add(pieces.head, head) } else { add(pieces.tail, tail) }
      }
    case 18:  // split(maxPieceCount:)
      let n = input.arg(hint: count / 3)
      var pieces: [IovIter<S>] = []
      let expected: IterError? =
        n < 1 ? .invalidArgument(argument: "maxPieceCount", value: n, reason: "must be at least 1") : nil
      // Thousands of one-byte pieces are slow and prove nothing more.
      if n >= 1 && count / n > 4096 { break }
      expect(k, expected, "split(maxPieceCount: \(n))") { () throws(IterError) in
        pieces = try slots[k].iter.split(maxPieceCount: n)
      }
      if expected == nil {
        check(pieces.count == (count == 0 ? 0 : (count - 1) / n + 1), "split(maxPieceCount:) piece count")
        var offset = 0
        for piece in pieces {
          let want = m.piece(at: offset, count: min(n, count - offset))
          checkPiece(piece, want, "piece at \(offset)")
          offset += want.count
        }
        if let first = pieces.first, input.bool() {
          add(first, m.piece(at: 0, count: min(n, count)))
        }
      }
    case 19:
      extract(&input, k, &m)
    case 20:  // gather into iovecs
      let capacity = input.below(10)
      let maxBytes = input.arg(hint: count)
      let vectors = UnsafeMutableBufferPointer<iovec>.allocate(capacity: max(capacity, 1))
      defer { vectors.deallocate() }
      var result: IterGather? = nil
      let target = UnsafeMutableBufferPointer(rebasing: vectors[0..<capacity])
      let useSpan = input.bool()
      expect(k, maxBytes < 0 ? .negativeCount(argument: "maxBytes", value: maxBytes) : nil, "gather") {
        () throws(IterError) in
        if useSpan {
          var span = target.mutableSpan
          result = try slots[k].iter.gather(into: &span, maxBytes: maxBytes)
        } else {
          result = try slots[k].iter.gather(into: target, maxBytes: maxBytes)
        }
      }
      if let result {
        let want = m.gather(capacity: capacity, maxBytes: maxBytes)
        check(result.vectorCount == want.count, "gather wrote \(result.vectorCount) entries, model \(want.count)")
        var bytes = 0
        for (i, (a, n)) in want.enumerated() where i < result.vectorCount {
          let v = target[i]
          check(
            UInt(bitPattern: v.iov_base) == a && v.iov_len == n,
            "gather entry \(i): \(v), model 0x\(String(a, radix: 16))+\(n)")
          bytes += n
        }
        check(result.byteCount == bytes && result.isComplete == (bytes == count), "gather totals \(result)")
      }
    case 21:
      iterate(&input, k, &m)
    case 22:  // forEachChunk: walks without moving
      let maxCount = input.arg(hint: count)
      let stopAfter = Int(input.u8() % 8)
      var q = m.position
      var seen = 0
      var remaining = min(max(0, maxCount), count)
      slots[k].iter.forEachChunk(maxCount: maxCount) { span in
        // Chunks without memory are skipped: step over them in the model.
        let skipped = m.memorylessPrefixAt(q, upTo: remaining)
        q += skipped
        remaining -= skipped
        span.withUnsafeBytes { raw in
          verifyChunk(m, at: q, base: UInt(bitPattern: raw.baseAddress), count: raw.count, "forEachChunk")
          check(raw.count <= remaining, "forEachChunk: chunk past maxCount")
          var sum = 0
          for b in raw { sum &+= Int(b) }  // touch every byte
          _ = sum
        }
        q += span.byteCount
        remaining -= span.byteCount
        seen += 1
        return seen <= stopAfter
      }
    case 23, 24:  // nextChunk / nextMutableChunk
      let maxCount = input.arg(hint: count)
      let mutable = op == 24
      let expected: IterError? =
        maxCount < 0 ? .negativeCount(argument: "maxCount", value: maxCount)
        : (mutable != isDest
          ? .wrongDirection(operation: mutable ? "next mutable chunk" : "next chunk", direction: m.isSource ? .source : .destination)
          : nil)
      var base: UInt = 0
      var n = -1
      let seed = input.u8()
      expect(k, expected, mutable ? "nextMutableChunk" : "nextChunk") { () throws(IterError) in
        var it = slots[k].iter
        if mutable {
          var span = try it.nextMutableChunk(maxCount: maxCount)
          n = span.byteCount
          span.withUnsafeMutableBytes { raw in
            base = UInt(bitPattern: raw.baseAddress)
            for i in 0..<raw.count { raw[i] = seed &+ UInt8(truncatingIfNeeded: i) }
          }
        } else {
          let span = try it.nextChunk(maxCount: maxCount)
          n = span.byteCount
          span.withUnsafeBytes { raw in
            base = UInt(bitPattern: raw.baseAddress)
            var sum = 0
            for b in raw { sum &+= Int(b) }
            _ = sum
          }
        }
        slots[k].iter = it
      }
      if expected == nil {
        let moved = slots[k].iter.consumedCount - m.consumed
        check(n >= 0 && n <= maxCount && moved >= n && moved <= count, "nextChunk: \(n) bytes, moved \(moved)")
        let skipped = moved - n
        check(skipped == 0 || mutable, "nextChunk skipped \(skipped) bytes")
        check(m.memorylessPrefix(upTo: skipped) == skipped, "nextMutableChunk skipped bytes with memory")
        if n > 0 {
          verifyChunk(m, at: m.position + skipped, base: base, count: n, "nextChunk")
          if mutable {
            verifyWritten(m, from: m.position + skipped, count: n, "nextMutableChunk") {
              seed &+ UInt8(truncatingIfNeeded: $0)
            }
          }
        } else {
          check(maxCount == 0 || moved == count, "nextChunk returned nothing with bytes left")
        }
        m.advance(moved)
      }
    case 25:  // queries
      let it = slots[k].iter
      let (align, gap) = ((try? it.alignment) ?? ~0, (try? it.gapAlignment) ?? ~0)
      check(align == m.alignment, "alignment \(align) != model \(m.alignment)")
      check(gap == m.gapAlignment, "gapAlignment \(gap) != model \(m.gapAlignment)")
      let limit = input.arg(hint: 4)
      var pages = -1
      expect(k, limit < 0 ? .negativeCount(argument: "limit", value: limit) : nil, "pageCount") { () throws(IterError) in
        pages = try slots[k].iter.pageCount(limit: limit)
      }
      if limit >= 0, let want = m.pageCount(limit: limit, pageSize: pageSize) {
        check(pages == want, "pageCount(limit: \(limit)) = \(pages), model \(want)")
      }
      let single = it.singleSegmentCount
      check(single >= 0 && single <= m.count, "singleSegmentCount \(single) of \(m.count)")
      check(
        it.segmentsRemaining >= 0 && it.segmentsRemaining <= it.source.segmentCount,
        "segmentsRemaining \(it.segmentsRemaining)")
      _ = it.extractionWillPin
      _ = it.description
    case 26:  // dup_iter: a copy shares the identity
      add(slots[k].iter, m)
    case 27:  // drop a cursor
      if slots.count > 1 {
        slots.remove(at: k)
        return
      }
    default:
      if let extra = extraOperation { extra(self, &input, k) }
      return
    }
    slots[k].model = m
  }

  func checkPiece(_ piece: IovIter<S>, _ model: ModelCursor, _ what: String) {
    check(
      piece.count == model.count && piece.consumedCount == 0 && piece.reexpandLimit == model.count,
      "\(what): \(piece), model count \(model.count)")
    check(((try? piece.alignment) ?? ~0) == model.alignment, "\(what): alignment")
  }

  // MARK: - Operations with more to check

  /// Copies between the cursor and a cursor over the harness's peer buffer,
  /// in whichever direction fits (or the wrong one, which must be refused).
  func copyWithPeer(_ input: inout FuzzInput, _ k: Int, _ m: inout ModelCursor) {
    let count = m.count
    // The peer: up to 3 segments carved from the peer buffer.
    var segments: [IterSegment] = []
    let peerModel = ModelSource()
    for _ in 0..<(1 + input.below(3)) {
      let offset = input.below(peer.count)
      let length = input.below(peer.count - offset + 1)
      segments.append(IterSegment(base: peer.baseAddress! + offset, count: length))
      peerModel.append(address: UInt(bitPattern: peer.baseAddress! + offset), length: length)
    }
    let maxCount = input.arg(hint: count)
    let wrongWay = input.u8() % 16 == 0
    for i in 0..<peer.count { peer[i] = UInt8(truncatingIfNeeded: i &* 7 &+ 3) }
    let list = UnsafeSegmentList(segments)
    if m.isSource != wrongWay {
      // peer (destination) <- this cursor (source)
      guard var other = try? IovIter(list, direction: .destination) else { return }
      let otherModel = ModelCursor(source: peerModel, count: peerModel.total, isSource: false)
      let expected: IterError? =
        maxCount < 0 ? .negativeCount(argument: "maxCount", value: maxCount)
        : (m.isSource ? nil : .wrongDirection(operation: "copy from iterator", direction: .destination))
      var copied = -1
      expect(k, expected, "peer.copy(from: cursor)") { () throws(IterError) in
        copied = try other.copy(from: &slots[k].iter, maxCount: maxCount)
      }
      if expected == nil {
        let want = min(maxCount, count, otherModel.count)
        check(copied == want && other.count == otherModel.count - want, "copy(from:) copied \(copied), expected \(want)")
        // What the source held is now in the peer (later writes win on overlap).
        var values: [UInt8] = []
        values.reserveCapacity(want)
        for i in 0..<want { values.append(m.source.address(at: m.position + i).map(load) ?? 0) }
        verifyWritten(otherModel, from: 0, count: want, "copy(from:) into the peer") { values[$0] }
        m.advance(want)
      }
    } else {
      // this cursor (destination) <- peer (source)
      guard var other = try? IovIter(list, direction: .source) else { return }
      let expected: IterError? =
        maxCount < 0 ? .negativeCount(argument: "maxCount", value: maxCount)
        : (m.isSource ? .wrongDirection(operation: "copy to iterator", direction: .source) : nil)
      var copied = -1
      expect(k, expected, "cursor.copy(from: peer)") { () throws(IterError) in
        copied = try slots[k].iter.copy(from: &other, maxCount: maxCount)
      }
      if expected == nil {
        let want = min(maxCount, count, peerModel.total)
        check(copied == want, "copy(from: peer) copied \(copied), expected \(want)")
        verifyWritten(m, from: m.position, count: want, "copy(from: peer)") {
          self.load(peerModel.address(at: $0)!)
        }
        m.advance(want)
      }
    }
  }

  /// iterate_and_advance with a body that accepts input-chosen amounts
  /// (negative and too large ones are clamped) and sometimes throws.
  func iterate(_ input: inout FuzzInput, _ k: Int, _ m: inout ModelCursor) {
    let count = m.count
    let maxCount = input.arg(hint: count)
    var answers: [Int] = []
    for _ in 0..<4 { answers.append(input.u8() % 4 == 0 ? input.arg(hint: 64) : Int.max) }
    let throwAt = Int(input.u8() % 8)
    var calls = 0
    var lastProgress = 0
    var lastAccepted = 0
    var threw = false
    var returned = -1
    let start = m.position
    do {
      returned = try slots[k].iter.iterateAndAdvance(maxCount: maxCount) { (chunk, progress) throws(Stop) -> Int in
        verifyChunk(m, at: start + progress, base: UInt(bitPattern: chunk.baseAddress), count: chunk.count, "iterateAndAdvance")
        check(progress + chunk.count <= min(max(0, maxCount), count), "iterateAndAdvance: chunk past maxCount")
        if m.isSource {
          var sum = 0
          for b in chunk { sum &+= Int(b) }
          _ = sum
        } else {
          for i in 0..<chunk.count { chunk[i] = UInt8(truncatingIfNeeded: progress + i) }
        }
        calls += 1
        lastProgress = progress
        if calls == throwAt { throw Stop() }
        let answer = answers[calls % answers.count]
        lastAccepted = min(max(answer, 0), chunk.count)
        return answer == Int.max ? chunk.count : answer
      }
    } catch {
      threw = true
    }
    let moved = slots[k].iter.consumedCount - m.consumed
    let whole = min(max(0, maxCount), count)
    if threw {
      check(moved == lastProgress, "iterateAndAdvance threw after \(lastProgress) bytes but moved \(moved)")
    } else {
      check(returned == moved, "iterateAndAdvance returned \(returned) but moved \(moved)")
      check(moved == whole || (calls > 0 && moved == lastProgress + lastAccepted), "iterateAndAdvance moved \(moved)")
    }
    m.advance(moved)
  }

  /// iov_iter_extract_pages: the pages must cover exactly the next bytes.
  func extract(_ input: inout FuzzInput, _ k: Int, _ m: inout ModelCursor) {
    let count = m.count
    let maxBytes = input.arg(hint: count)
    let maxPages = input.u8() % 4 == 0 ? input.arg(hint: 1) : 1 + input.below(8)
    let options: IterExtractionOptions = [[], .retain, .allowP2PDMA, [.retain, .allowP2PDMA]][input.below(4)]
    let willPin = slots[k].iter.extractionWillPin
    let limit = min(max(0, maxBytes), count, iterMaxReadWriteCount)
    var expected: IterError? = nil
    if maxBytes < 0 {
      expected = .negativeCount(argument: "maxBytes", value: maxBytes)
    } else if maxPages < 1 {
      expected = .invalidArgument(argument: "maxPages", value: maxPages, reason: "must be at least 1")
    }
    let memoryless = limit > 0 && m.memorylessPrefix(upTo: limit) > 0
    let before = snapshot(k)
    do throws(IterError) {
      let extraction = try slots[k].iter.extractPages(maxBytes: maxBytes, maxPages: maxPages, options: options)
      check(expected == nil && !memoryless, "extractPages succeeded; expected \(String(describing: expected))")
      let n = extraction.count
      let pages = extraction.pages
      if limit == 0 {
        check(n == 0 && pages.isEmpty, "extractPages of nothing listed \(n) bytes")
      } else {
        check(n >= 1 && n <= limit, "extractPages: \(n) bytes, limit \(limit)")
        check(pages.count <= maxPages, "extractPages: \(pages.count) pages, at most \(maxPages)")
        check(extraction.offset >= 0 && extraction.offset < pageSize, "extractPages: offset \(extraction.offset)")
        check(pages.count == (extraction.offset + n + pageSize - 1) / pageSize, "extractPages: \(pages.count) pages for \(n) bytes")
        let first = pages[0].address &+ UInt(extraction.offset)
        for (i, page) in pages.enumerated() {
          check(page.address == pages[0].address &+ UInt(i * pageSize), "extractPages: pages not contiguous")
        }
        for i in 0..<n {
          check(m.source.address(at: m.position + i) == first &+ UInt(i), "extractPages: byte \(i) is not where the pages say")
        }
        if options.isEmpty { check(willPin == (extraction.retentionKind == .pin), "extractionWillPin disagrees") }
      }
      extraction.release()
      m.advance(n)
    } catch {
      // A refusal names the kind of the memoryless segment (a chain's member's).
      var unsupported = false
      if case .extractionUnsupported = error { unsupported = true }
      let want: IterError? = expected
      check(
        want == error || (want == nil && memoryless && unsupported)
          || (want == nil && !memoryless && isEnvironmental(error)),
        "extractPages threw \(error); expected \(String(describing: want))")
      check(snapshot(k) == before, "extractPages threw but moved the cursor")
    }
  }

}

/// What the fuzzed iterate body throws.
struct Stop: Error {}

extension ModelCursor {
  /// The bytes without memory from logical position `q` on, at most `limit`.
  func memorylessPrefixAt(_ q: Int, upTo limit: Int) -> Int {
    var c = self
    c.consumed = q - base
    c.count = limit
    return c.memorylessPrefix(upTo: limit)
  }
}

extension IterState {
  var position: IterPosition { IterPosition(segmentIndex: segmentIndex, offset: segmentOffset) }
}
