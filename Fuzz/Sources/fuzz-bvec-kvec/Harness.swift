//===----------------------------------------------------------------------===//
// swift-iov-iter fuzzing: BioVecArray and KVecArray entry validation
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// Entries over real folios (some freed again, so their handles are stale) and
// real slab objects and virtual regions, with input-chosen offsets and
// lengths, most of them invalid: negative, past the end, overflowing. Each
// entry is checked against the documented rules (accepted or refused with the
// right error, the array unchanged when refused). The valid entries get a
// cursor and a replay of model operations decoded from the input (copies,
// extraction with and without page references, ...; see
// FuzzSupport/Operations.swift); afterwards every byte of the
// folios and allocations that no entry covers must still hold its pattern,
// and no page reference, pin or owner reference may be left.

import FuzzSupport
import IterCore
import IterTypes

/// An offset or length for an entry of an object of `size` bytes: mostly
/// inside, often at or just past the edges, sometimes anything.
func entryValue(_ input: inout FuzzInput, _ size: Int) -> Int {
  switch input.u8() % 6 {
  case 0, 1: return input.below(size + 1)
  case 2: return size &+ Int(Int8(bitPattern: input.u8()))
  default: return input.arg(hint: size)
  }
}

/// Bytes that no entry covers must keep the pattern they were filled with.
struct Canary {
  var ranges: [(start: UInt, count: Int)] = []
  var covered: [(start: UInt, count: Int)] = []
  var saved: [[UInt8]] = []

  mutating func watch(_ start: UInt, _ count: Int) {
    ranges.append((start, count))
    let p = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: start), count: count)
    saved.append(Array(p))
  }

  func verify() {
    for (r, bytes) in zip(ranges, saved) {
      let p = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: r.start), count: r.count)
      // The bytes of the range that some entry covers (the model writes all
      // of a destination's, so most bytes differ: mark them once).
      var inEntry = [Bool](repeating: false, count: r.count)
      for c in covered {
        let lo = max(c.start, r.start)
        let hi = min(c.start + UInt(c.count), r.start + UInt(r.count))
        if lo < hi { for a in lo..<hi { inEntry[Int(a - r.start)] = true } }
      }
      for i in 0..<r.count where p[i] != bytes[i] {
        check(inEntry[i], "byte 0x\(String(r.start + UInt(i), radix: 16)) outside every entry was written")
      }
    }
  }
}

/// Whether the bytes of an entry that runs past the end of `folio` lie on
/// frames that follow it in the arena, each in an allocated folio (a
/// multi-page bio_vec), asked through the pool's public look-ups.
func runsOnOverAllocatedFrames(_ folio: Folio, _ offset: Int, _ length: Int) -> Bool {
  let pool = folio.pool
  let start = folio.frame * PagePool.pageSize + offset
  guard length <= pool.byteCount - start else { return false }
  let last = (start + length - 1) / PagePool.pageSize
  for frame in (folio.frame + folio.pageCount)...last {
    guard let page = pool.page(atFrame: frame), (try? pool.folio(containing: page)) != nil else {
      return false
    }
  }
  return true
}

func fuzzBioVecs(_ input: inout FuzzInput, _ arena: Arena) {
  var folios: [Folio] = []
  var stale: Set<Int> = []  // indices of folios freed again: their handles are stale
  var canary = Canary()
  for _ in 0..<(1 + input.below(4)) {
    guard let f = arena.folio(&input) else { continue }
    folios.append(f)
    canary.watch(f.address, f.byteCount)
  }
  if input.u8() % 4 == 0, let f = try? Arena.pool.allocateFolio(order: input.below(3)) {
    try? f.put()  // freed at once: every use of the handle must be refused
    folios.append(f)
    stale.insert(folios.count - 1)
  }
  guard !folios.isEmpty else { return }

  var array = BioVecArray()
  var accepted: [PageFragment] = []
  var model: [(address: UInt, length: Int)] = []
  let all = input.u8() % 4 == 0
  var batch: [PageFragment] = []
  var batchError: IterError? = nil
  for _ in 0..<input.below(12) {
    let i = input.below(folios.count)
    let folio = folios[i]
    let size = folio.byteCount
    let offset = entryValue(&input, size)
    let length = entryValue(&input, size - max(0, min(offset, size)))
    let fragment = PageFragment(folio: folio, offset: offset, length: length)
    let index = all ? batch.count : accepted.count
    // The rules, in the documented order.
    var want: IterError? = nil
    if offset < 0 {
      want = .negativeCount(argument: "fragments[\(index)].offset", value: offset)
    } else if length < 0 {
      want = .negativeCount(argument: "fragments[\(index)].length", value: length)
    } else if offset > size || (offset == size && length > 0) || stale.contains(i)
      || (length > size - offset && !runsOnOverAllocatedFrames(folio, offset, length))
    {
      want = .invalidSegment(index: index, count: length, reason: "")
    }
    if all {
      batch.append(fragment)
      if batchError == nil, let want { batchError = want }
      if batchError == nil {
        model.append((folio.address + UInt(offset), length))
        accepted.append(fragment)
      }
      continue
    }
    let before = array.segmentCount
    do throws(IterError) {
      try array.append(fragment)
      check(want == nil, "bvec \(fragment) accepted; expected \(want!)")
      accepted.append(fragment)
      model.append((folio.address + UInt(offset), length))
    } catch {
      check(
        want.map { same($0, error) } ?? false,
        "bvec \(fragment) refused with \(error); expected \(want.map { "\($0)" } ?? "success")")
      check(array.segmentCount == before, "a refused bvec changed the array")
    }
  }
  if all {
    do throws(IterError) {
      array = try BioVecArray(batch)
      check(batchError == nil, "BioVecArray(\(batch)) accepted; expected \(batchError!)")
    } catch {
      check(
        batchError.map { same($0, error) } ?? false,
        "BioVecArray(_:) threw \(error); expected \(batchError.map { "\($0)" } ?? "success")")
      return
    }
  }
  check(array.segmentCount == model.count && array.fragments == accepted, "the array holds other entries")
  for (i, m) in model.enumerated() {
    let s = array.segment(at: i)
    check(s.address == m.address && s.count == m.length, "bvec segment \(i) is \(s), want \(m)")
  }
  canary.covered = model.map { ($0.address, $0.length) }
  runCursor(array, model, &input)
  canary.verify()
}

func fuzzKVecs(_ input: inout FuzzInput, _ arena: Arena) {
  var owners: [KernelVirtualAllocation] = []
  var canary = Canary()
  for _ in 0..<(1 + input.below(4)) {
    guard let owner = arena.allocation(&input) else { continue }
    owners.append(owner)
    canary.watch(owner.address, owner.byteCount)
  }
  guard !owners.isEmpty else { return }
  var array = KVecArray()
  var model: [(address: UInt, length: Int)] = []
  let all = input.u8() % 4 == 0
  var batch: [KVec] = []
  var batchError: IterError? = nil
  for _ in 0..<input.below(12) {
    let owner = owners[input.below(owners.count)]
    let size = owner.byteCount
    let offset = entryValue(&input, size)
    let count = entryValue(&input, size - max(0, min(offset, size)))
    let index = all ? batch.count : array.count
    var want: IterError? = nil
    if count < 0 || offset < 0 || offset > size || count > size - offset {
      want = .invalidSegment(index: index, count: count, reason: "")
    }
    if all {
      batch.append(KVec(owner, offset: offset, count: count))
      if batchError == nil, let want { batchError = want }
      if batchError == nil { model.append((owner.address + UInt(offset), count)) }
      continue
    }
    let before = array.count
    do throws(IterError) {
      if input.bool() {
        try array.append(KVec(owner, offset: offset, count: count))
      } else {
        try array.append(owner, offset: offset, count: count)
      }
      check(want == nil, "kvec \(offset)+\(count) of \(size) accepted; expected \(want!)")
      model.append((owner.address + UInt(offset), count))
    } catch {
      check(
        want.map { same($0, error) } ?? false,
        "kvec \(offset)+\(count) of \(size) refused with \(error); expected \(want.map { "\($0)" } ?? "success")")
      check(array.count == before, "a refused kvec changed the array")
    }
  }
  if all {
    do throws(IterError) {
      array = try KVecArray(batch)
      check(batchError == nil, "KVecArray(_:) accepted; expected \(batchError!)")
    } catch {
      check(
        batchError.map { same($0, error) } ?? false,
        "KVecArray(_:) threw \(error); expected \(batchError.map { "\($0)" } ?? "success")")
      return
    }
  }
  check(
    array.count == model.count && array.byteCount == model.reduce(0) { $0 + $1.length }, "the array holds other entries"
  )
  for (i, m) in model.enumerated() {
    let e = array[i]
    check(e.owner.address + UInt(e.offset) == m.address && e.count == m.length, "kvec entry \(i) is \(e), want \(m)")
  }
  canary.covered = model.map { ($0.address, $0.length) }
  runCursor(array, model, &input)
  canary.verify()
}

/// Errors compare by case and values; reasons are not compared.
func same(_ a: IterError, _ b: IterError) -> Bool {
  switch (a, b) {
  case (.invalidSegment(let i, let c, _), .invalidSegment(let j, let d, _)): return i == j && c == d
  default: return a == b
  }
}

func runCursor<S: IterSegmentSource>(_ source: S, _ segments: [(address: UInt, length: Int)], _ input: inout FuzzInput)
{
  let direction: IterDirection = input.bool() ? .source : .destination
  let total = segments.reduce(0) { $0 + $1.length }
  let count: Int? = input.u8() % 4 == 0 ? input.below(total + 1) : nil
  do throws(IterError) {
    _ = try IovIter(source, direction: direction, count: count)
  } catch {
    check(false, "a cursor over valid entries was refused: \(error)")
    return
  }
  // Half the input for each kind.
  let operations = input.operations(total: total, memory: true, limit: 200)
  replayOrCrash(operations, over: source, direction: direction, count: count, retentionProbe: Arena.retentionsHeld)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBVecKVec(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  var input = FuzzInput(data, size)
  do {
    let arena = Arena()
    if input.bool() {
      fuzzBioVecs(&input, arena)
      fuzzKVecs(&input, arena)
    } else {
      fuzzKVecs(&input, arena)
      fuzzBioVecs(&input, arena)
    }
  }
  Arena().checkClean()
  return 0
}
