//===----------------------------------------------------------------------===//
// swift-iov-iter fuzzing: IterChain.append and the cursor over a mixed chain
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// A chain of members of every kind, carved from real memory the harness owns
// (heap buffers, folios, slab objects, virtual regions): segment lists, user
// buffers and iovec arrays (some read-only), kvec and bvec arrays, discard
// sinks (of any size, so totals can overflow), nested chains (sometimes of
// the other direction), cursor members advanced and truncated, and the chain
// itself. Each append is checked against the rules of IterChain.append (the
// direction, memoryless bytes in a source chain, overflow; the chain unchanged
// when refused). Then rounds of model operations decoded from the input and
// replayed on a cursor over the chain (FuzzSupport/Operations.swift), with
// appends to the chain and through a cursor over it in between.

import FuzzSupport
import IterCore
import IterTypes

/// The segments a chain must hold, as `(address, length)` pairs (address 0
/// for a segment without memory), built from what the harness appended,
/// never read back from the library: what `append` must accept, refuse and
/// add. (The bytes and the cursor are the conformance model's, in the replay.)
final class ChainSegments {
  private(set) var addresses: [UInt] = []
  private(set) var lengths: [Int] = []
  private(set) var total = 0

  init(_ segments: [(address: UInt, length: Int)] = []) {
    for s in segments { append(address: s.address, length: s.length) }
  }

  var segmentCount: Int { lengths.count }

  func append(address: UInt, length: Int) {
    addresses.append(address)
    lengths.append(length)
    total += length
  }

  /// The segments covering `[from, from + count)`, cut to it: what a chain
  /// takes of a cursor member.
  func slice(from: Int, count: Int) -> [(address: UInt, length: Int)] {
    var out: [(address: UInt, length: Int)] = []
    var start = 0
    let end = from + count
    for (a, n) in zip(addresses, lengths) {
      defer { start += n }
      let lo = max(start, from)
      let hi = min(start + n, end)
      if n > 0 && lo < hi { out.append((a == 0 ? 0 : a &+ UInt(lo - start), hi - lo)) }
    }
    return out
  }
}

/// A member ready to append, with what the model expects of it.
enum Member {
  case source(any IterSegmentSource, [(address: UInt, length: Int)], IterDirections, IterMemoryKind)
  case cursor(IovIter<UnsafeSegmentList>, [(address: UInt, length: Int)])
  case chainCursor(IovIter<IterChain>, [(address: UInt, length: Int)])
  case itself
}

final class ChainFuzz {
  let arena = Arena()

  func segmentsOf(_ list: [IterSegment]) -> [(address: UInt, length: Int)] {
    list.map { (UInt(bitPattern: $0.base), $0.count) }
  }

  /// Builds a member for a chain of `direction`, nested at most `depth` deep.
  func member(_ input: inout FuzzInput, _ direction: IterDirection, depth: Int) -> Member? {
    switch input.u8() % 10 {
    case 0:  // a segment list, perhaps with memoryless segments
      var list: [IterSegment] = []
      for _ in 0..<(1 + input.below(4)) {
        if input.u8() % 8 == 0 {
          list.append(IterSegment(base: nil, count: input.below(4097)))
        } else {
          list.append(IterSegment(arena.carve(&input)))
        }
      }
      return .source(UnsafeSegmentList(list), segmentsOf(list), .both, .user)
    case 1:  // a user buffer, read-only (source only) a quarter of the time
      let b = arena.carve(&input)
      if input.u8() % 4 == 0 {
        guard let u = try? UserBuffer(importing: UnsafeRawBufferPointer(b)) else { return nil }
        return .source(u, [(UInt(bitPattern: b.baseAddress), b.count)], .source, .user)
      }
      guard let u = try? UserBuffer(importing: b) else { return nil }
      return .source(u, [(UInt(bitPattern: b.baseAddress), b.count)], .both, .user)
    case 2, 9:  // a user iovec array, or a UserImport
      let buffers = (0..<(1 + input.below(4))).map { _ in arena.carve(&input) }
      let segs = buffers.map { (UInt(bitPattern: $0.baseAddress), $0.count) }
      if input.u8() % 4 == 0 {
        guard let a = try? UserIOVecArray(importing: buffers.map { UnsafeRawBufferPointer($0) }) else { return nil }
        return .source(a, segs, .source, .user)
      }
      if input.bool() {
        guard let a = try? UserImport(importing: buffers) else { return nil }
        return .source(a, segs, .both, .user)
      }
      guard let a = try? UserIOVecArray(importing: buffers) else { return nil }
      return .source(a, segs, .both, .user)
    case 3:  // kvecs over slab objects and regions
      var array = KVecArray()
      var segs: [(address: UInt, length: Int)] = []
      for _ in 0..<(1 + input.below(3)) {
        guard let owner = arena.allocation(&input) else { continue }
        let offset = input.below(owner.byteCount + 1)
        let count = input.below(owner.byteCount - offset + 1)
        do throws(IterError) {
          try array.append(owner, offset: offset, count: count)
        } catch {
          check(false, "a valid kvec was refused: \(error)")
        }
        segs.append((owner.address + UInt(offset), count))
      }
      return .source(array, segs, .both, .kernelVirtual)
    case 4:  // bvecs over folios
      var array = BioVecArray()
      var segs: [(address: UInt, length: Int)] = []
      for _ in 0..<(1 + input.below(3)) {
        guard let folio = arena.folio(&input) else { continue }
        let offset = input.below(folio.byteCount + 1)
        let length = input.below(folio.byteCount - offset + 1)
        do throws(IterError) {
          try array.append(PageFragment(folio: folio, offset: offset, length: length))
        } catch {
          check(false, "a valid bvec was refused: \(error)")
        }
        segs.append((folio.address + UInt(offset), length))
      }
      return .source(array, segs, .both, .pageFragment)
    case 5:  // a discard sink of any size
      let n = input.arg(hint: 4096)
      do throws(IterError) {
        let sink = try DiscardSink(count: n)
        return .source(sink, [(address: UInt(0), length: n)], .destination, .discard)
      } catch {
        check(error == .negativeCount(argument: "count", value: n) && n < 0, "DiscardSink(count: \(n)) threw \(error)")
        return nil
      }
    case 6:  // a nested chain, sometimes of the other direction
      guard depth > 0 else { return nil }
      let d = input.u8() % 8 == 0 ? (direction == .source ? IterDirection.destination : .source) : direction
      let nested = IterChain(direction: d)
      let model = ChainSegments()
      for _ in 0..<(1 + input.below(3)) {
        guard let m = member(&input, d, depth: depth - 1) else { continue }
        append(m, to: nested, model)
      }
      return .source(
        nested, model.slice(from: 0, count: model.total), d == .source ? .source : .destination, IterMemoryKind("chain")
      )
    case 7 where depth > 0 && input.u8() % 3 == 0:  // what is left of a cursor over a chain
      let d = input.u8() % 8 == 0 ? (direction == .source ? IterDirection.destination : .source) : direction
      let nested = IterChain(direction: d)
      let model = ChainSegments()
      for _ in 0..<(1 + input.below(3)) {
        guard let m = member(&input, d, depth: depth - 1) else { continue }
        append(m, to: nested, model)
      }
      guard var cursor = try? IovIter(nested) else {
        check(false, "cursor over a valid chain refused")
        return nil
      }
      let advance = input.below(min(cursor.count, 1 << 20) + 1)
      try? cursor.advance(by: advance)
      let count = input.below(min(cursor.count, 1 << 20) + 1)
      try? cursor.truncate(to: count)
      return .chainCursor(cursor, model.slice(from: advance, count: count))
    case 7:  // what is left of a cursor
      var list: [IterSegment] = []
      for _ in 0..<(1 + input.below(4)) { list.append(IterSegment(arena.carve(&input))) }
      let d = input.u8() % 8 == 0 ? (direction == .source ? IterDirection.destination : .source) : direction
      guard var cursor = try? IovIter(UnsafeSegmentList(list), direction: d) else {
        check(false, "cursor over carved memory refused")
        return nil
      }
      let model = ChainSegments(segmentsOf(list))
      let advance = input.below(cursor.count + 1)
      try? cursor.advance(by: advance)
      let count = input.below(cursor.count + 1)
      try? cursor.truncate(to: count)
      return .cursor(cursor, model.slice(from: advance, count: count))
    default:
      // Findings/chain-self-append-leak (fixed in 971e9fb) is a seed now.
      return depth > 0 ? .itself : nil
    }
  }

  /// What appending `m` to a chain of `direction` holding `total` bytes must do.
  func expected(
    _ m: Member, _ direction: IterDirection, _ model: ChainSegments
  ) -> (IterError?, [(address: UInt, length: Int)]) {
    var segs: [(address: UInt, length: Int)]
    switch m {
    case .source(_, let s, let dirs, let kind):
      if !dirs.supports(direction) { return (.unsupportedDirection(direction, kind: kind), []) }
      segs = s
    case .cursor(let c, let s):
      if c.direction != direction {
        return (.wrongDirection(operation: "append to a \(direction) chain", direction: c.direction), [])
      }
      segs = s
    case .chainCursor(let c, let s):
      if c.direction != direction {
        return (.wrongDirection(operation: "append to a \(direction) chain", direction: c.direction), [])
      }
      segs = s
    case .itself:
      segs = model.slice(from: 0, count: model.total)
    }
    if direction == .source, let i = segs.firstIndex(where: { $0.address == 0 && $0.length > 0 }) {
      return (.invalidSegment(index: i, count: segs[i].length, reason: ""), [])
    }
    var bytes = 0
    for s in segs {
      let (sum, overflow) = bytes.addingReportingOverflow(s.length)
      if overflow { return (.lengthOverflow(total: 0, limit: Int.max), []) }
      bytes = sum
    }
    if model.total.addingReportingOverflow(bytes).overflow { return (.lengthOverflow(total: 0, limit: Int.max), []) }
    return (nil, segs)
  }

  /// Errors compare by case (and direction values); indices and totals are the
  /// library's own numbering.
  func sameCase(_ a: IterError, _ b: IterError) -> Bool {
    switch (a, b) {
    case (.invalidSegment, .invalidSegment), (.lengthOverflow, .lengthOverflow): return true
    case (.invalidArgument(let x, let v, _), .invalidArgument(let y, let w, _)): return x == y && v == w
    default: return a == b
    }
  }

  /// Appends `m` to `chain` (its model `model`), checking the outcome; with
  /// `through`, through that cursor (whose count must grow by the bytes).
  @discardableResult
  func append(
    _ m: Member, to chain: IterChain, _ model: ChainSegments,
    through cursor: UnsafeMutablePointer<IovIter<IterChain>>? = nil
  ) -> Int? {
    // A chain that appends itself doubles; a few dozen doublings would fill
    // the memory. That is the caller's doing, not a bug: keep chains small.
    if case .itself = m, model.segmentCount > 512 { return nil }
    var (want, segs) = expected(m, chain.direction, model)
    if let cursor {
      // Appending through a cursor needs the cursor's range to reach the end
      // of the chain; otherwise the new bytes would not follow its range.
      let it = cursor.pointee
      var here = it.position.offset
      for i in 0..<it.position.segmentIndex { here += chain.segment(at: i).count }
      if here + it.reexpandLimit != chain.byteCount {
        want = .invalidArgument(argument: "range end", value: here + it.reexpandLimit, reason: "")
        segs = []
      }
    }
    let bytesBefore = chain.byteCount
    let countBefore = cursor?.pointee.count
    if FuzzConfig.trace {
      print(
        "append \(m) to a chain of \(bytesBefore) bytes\(cursor.map { " through \($0.pointee)" } ?? ""); expect \(want.map { "\($0)" } ?? "success")"
      )
    }
    do throws(IterError) {
      switch (m, cursor) {
      case (.source(let s, _, _, _), nil): try chain.append(s)
      case (.cursor(let c, _), nil): try chain.append(c)
      case (.chainCursor(let c, _), nil): try chain.append(c)
      case (.itself, nil): try chain.append(chain)
      case (.source(let s, _, _, _), let p?): try p.pointee.append(s)
      case (.cursor(let c, _), let p?): try p.pointee.append(c)
      case (.chainCursor(let c, _), let p?): try p.pointee.append(c)
      case (.itself, let p?): try p.pointee.append(p.pointee.source)
      }
      check(want == nil, "append succeeded; expected \(want!)")
    } catch {
      check(
        want.map { sameCase($0, error) } ?? false,
        "append threw \(error); expected \(want.map { "\($0)" } ?? "success")")
      check(chain.byteCount == bytesBefore, "a refused append changed the chain")
      if let cursor { check(cursor.pointee.count == countBefore, "a refused append moved the cursor") }
      return nil
    }
    let bytes = segs.reduce(0) { $0 + $1.length }
    for s in segs { model.append(address: s.address, length: s.length) }
    check(
      chain.byteCount == model.total && chain.byteCount == bytesBefore + bytes,
      "chain holds \(chain.byteCount) bytes, model \(model.total)")
    return bytes
  }

  func run(_ input: inout FuzzInput) {
    let direction: IterDirection = input.bool() ? .source : .destination
    let model = ChainSegments()
    var chain = IterChain(direction: direction)
    if input.u8() % 4 == 0 {
      // All at once: the first refused member is the error.
      var members: [any IterSegmentSource] = []
      var want: IterError? = nil
      let scratch = ChainSegments()
      for _ in 0..<input.below(6) {
        guard let m = member(&input, direction, depth: 1), case .source(let s, _, _, _) = m else { continue }
        members.append(s)
        if want == nil {
          let (e, segs) = expected(m, direction, scratch)
          want = e
          for seg in segs { scratch.append(address: seg.address, length: seg.length) }
        }
      }
      do throws(IterError) {
        chain = try IterChain(direction: direction, members: members)
        check(want == nil, "IterChain(members:) succeeded; expected \(want!)")
        for i in 0..<scratch.segmentCount { model.append(address: scratch.addresses[i], length: scratch.lengths[i]) }
        check(chain.byteCount == model.total, "IterChain(members:) holds \(chain.byteCount), model \(model.total)")
      } catch {
        check(
          want.map { sameCase($0, error) } ?? false,
          "IterChain(members:) threw \(error); expected \(want.map { "\($0)" } ?? "success")")
        return
      }
    } else {
      for _ in 0..<input.below(6) {
        if let m = member(&input, direction, depth: 1) { append(m, to: chain, model) }
      }
    }
    // Rounds: model operations decoded from the input, replayed on a cursor
    // over the chain as it is now; then a member appended to the chain, or
    // through a cursor over it, and the next round sees the longer chain.
    for _ in 0..<4 where !input.isEmpty {
      let total = chain.byteCount
      // Past this, a memoryless (discard) member is too long to mirror byte by byte.
      let memory = total <= 1 << 22
      let operations = input.operations(total: total, memory: memory, limit: 1 + input.below(128))
      replayOrCrash(
        operations, over: chain, direction: direction, readsMemory: memory, retentionProbe: Arena.retentionsHeld)
      guard let m = member(&input, direction, depth: 1) else { continue }
      guard input.bool() else {
        append(m, to: chain, model)
        continue
      }
      // Through a cursor: its range and count take the new bytes in; one
      // whose range ends before the chain does must refuse them.
      var cursor: IovIter<IterChain>
      do throws(IterError) {
        let count: Int? = input.u8() % 4 == 0 ? input.below(min(total, 1 << 20) + 1) : nil
        cursor = try IovIter(chain, direction: direction, count: count)
        try cursor.advance(by: input.below(min(cursor.count, 1 << 20) + 1))
      } catch {
        check(false, "a cursor over a valid chain was refused: \(error)")
        return
      }
      let before = cursor.count
      let added = withUnsafeMutablePointer(to: &cursor) { self.append(m, to: chain, model, through: $0) }
      if let added {
        check(
          cursor.count == before + added,
          "appending \(added) bytes through a cursor left it \(cursor.count), \(before) before")
      }
    }
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChain(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  do {
    var input = FuzzInput(data, size)
    ChainFuzz().run(&input)
  }
  // Every cursor, chain and extraction is gone: nothing may be held.
  let arena = Arena()
  arena.checkClean()
  return 0
}
