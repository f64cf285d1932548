//===----------------------------------------------------------------------===//
// swift-iov-iter fuzzing: scatterlist tables
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// Arrays of scatterlist entries built from the input: pages and folio
// entries with offsets and lengths in and past their page, huge and
// zero-length ones, unaligned pages, chain links to other arrays, to
// themselves (cycles), past their target's end and to nowhere (arrays that
// were not kept alive), end markers set and cleared. Over the table that
// results, every operation runs: the walks, validation, the mapping
// iterator with partial consumption and skips, the copies, a cursor over a
// ScatterlistSource, extraction back into a second table, and append tables
// from input-chosen pages. Oracles: every walk agrees with validate() (a
// table is usable exactly when it is valid), the bytes a cursor reads equal
// the bytes the copies and the mapping iterator see, and nothing but the
// entries' bytes is written. Every page address stays inside the pool's
// arena, so a wrong answer can only be a wrong answer, never a stray write.

import FuzzSupport
import IterBridge
import IterCore
import IterTypes

let pool: PagePool = try! PagePool(pageCount: 32, maxOrder: 3)
let pageSize = IterPage.size

/// A page of the arena (never outside it, so no walk can touch unmapped memory).
func arenaPage(_ input: inout FuzzInput) -> IterPage {
  let frame = input.below(pool.pageCount)
  let page = pool.page(atFrame: frame)!
  switch input.u8() % 8 {
  case 0: return IterPage(address: page.address &+ UInt(input.below(pageSize)))  // unaligned
  case 1: return IterPage(address: page.address, frame: UInt64(input.below(300)))  // a frame that lies
  case 2: return IterPage(address: page.address)  // no frame
  default: return page
  }
}

/// An offset or length: around the page edges, in the arena, or anything.
func value(_ input: inout FuzzInput) -> Int {
  switch input.u8() % 8 {
  case 0: return 0
  case 1, 2: return input.below(pageSize + 1)
  case 3: return pageSize &+ Int(Int8(bitPattern: input.u8()))
  case 4: return input.below(pool.byteCount + 2)
  case 5: return Int(UInt32.max) &- input.below(3)
  default: return input.arg(hint: pageSize)
  }
}

func fuzzTable(_ input: inout FuzzInput) {
  // Arrays; some are not kept alive, so links into them point nowhere.
  var arrays: [ScatterlistArray] = []
  for _ in 0..<(1 + input.below(4)) {
    let count = input.u8() % 16 == 0 ? input.arg(hint: 4) : 1 + input.below(8)
    do throws(IterError) {
      arrays.append(try ScatterlistArray(count: count))
      check(count >= 1 && count <= ScatterlistArray.maximumCount, "array of \(count) accepted")
    } catch {
      check(count < 1 || count > ScatterlistArray.maximumCount, "array of \(count) refused: \(error)")
    }
  }
  guard !arrays.isEmpty else { return }
  var folios: [Folio] = []
  defer { for f in folios { try? f.put() } }
  for _ in 0..<input.below(3) {
    if let f = try? pool.allocateFolio(order: input.below(4)) { folios.append(f) }
  }
  // Entries.
  for _ in 0..<input.below(40) {
    let a = arrays[input.below(arrays.count)]
    let index = input.u8() % 16 == 0 ? input.arg(hint: a.count) : input.below(a.count)
    switch input.u8() % 10 {
    case 0, 1, 2: try? a.setPage(arenaPage(&input), length: value(&input), offset: value(&input), at: index)
    case 3:
      if !folios.isEmpty {
        try? a.setFolio(folios[input.below(folios.count)], length: value(&input), offset: value(&input), at: index)
      }
    case 4: try? a.setPage(nil, length: input.below(3) == 0 ? value(&input) : 0, offset: value(&input), at: index)
    case 5:
      let to = arrays[input.below(arrays.count)]
      try? a.setLink(at: index, to: ScatterlistChainTarget(array: to, index: input.below(to.count + 2)))
    case 6: try? a.setLink(at: index, to: ScatterlistChainTarget(array: nil))
    case 7: try? a.markEnd(at: index)
    case 8: try? a.unmarkEnd(at: index)
    default:
      try? a.setDMA(address: input.u64(), length: value(&input), flags: .init(rawValue: UInt32(input.u8())), at: index)
    }
  }
  // The table: a first entry anywhere, counts from the input, some arrays dropped.
  let firstArray = arrays[input.below(arrays.count)]
  guard let first = try? firstArray.slot(at: input.below(firstArray.count)) else { return }
  let n = input.u8() % 8 == 0 ? input.arg(hint: 8) : input.below(40)
  let kept = arrays.filter { _ in input.u8() % 5 != 0 }
  arrays.removeAll()
  let table: ScatterlistTable
  do throws(IterError) {
    table = try ScatterlistTable(first: first, nents: n, origNents: n, keepingAlive: kept)
  } catch {
    check(n < 0, "table refused for nents \(n): \(error)")
    return
  }
  runOperations(table, &input)
}

/// Every operation over `table`, with the oracles.
func runOperations(_ table: ScatterlistTable, _ input: inout FuzzInput) {
  _ = try? table.entryCount()
  _ = try? table.entryCount(bounded: true)
  let valid: Int?
  do throws(IterError) { valid = try table.validate() } catch { valid = nil }
  let source: ScatterlistSource?
  do throws(IterError) {
    source = try ScatterlistSource(table)
    check(valid != nil, "a source was made over a table validate() refused")
  } catch {
    check(valid == nil, "validate() accepted a table the source refused: \(error)")
    source = nil
  }
  // The mapping iterator with partial consumption: on a valid table it sees
  // every byte once.
  var seen: [UInt8] = []
  var miterFailed = false
  if var miter = try? ScatterlistMappingIterator(table, flags: .fromScatterlist) {
    var steps = 0
    do throws(IterError) {
      while steps < 10_000, try miter.next() {
        steps += 1
        check(
          miter.length > 0 && Int(miter.address % UInt(pageSize)) + miter.length <= pageSize, "a piece crosses a page")
        let take = input.bool() ? miter.length : input.below(miter.length + 1)
        miter.withUnsafeMutableBytes { seen += $0.prefix(take) }
        miter.consumed = take
        if input.u8() % 8 == 0 {
          _ = try miter.skip(input.below(3 * pageSize))
          break
        }
      }
    } catch { miterFailed = true }
    miter.stop()
  }
  guard let source, let total = valid else {
    // Invalid tables: the other operations must throw or stop, never crash.
    var buffer = [UInt8](repeating: 0, count: 64)
    var span = buffer.mutableSpan
    var raw = span.mutableBytes
    _ = try? table.copy(into: &raw, skip: value(&input))
    _ = try? table.zero(count: 0, skip: 0)
    return
  }
  check(!miterFailed, "the mapping iterator failed on a valid table")
  // A cursor reads exactly what the copies see.
  guard
    let cursorBytes = try? { () throws(IterError) -> [UInt8] in
      var iter = try IovIter(source, direction: .source)
      return try iter.read(upTo: total + 1)
    }()
  else {
    check(false, "a cursor over a valid table failed")
    return
  }
  check(cursorBytes.count == total, "the cursor read \(cursorBytes.count) of \(total) bytes")
  let skip = input.below(total + 2)
  var out = [UInt8](repeating: 0, count: input.below(total + 10))
  let expected = Array(cursorBytes.dropFirst(skip).prefix(out.count))
  var span = out.mutableSpan
  var raw = span.mutableBytes
  let copied = (try? table.copy(into: &raw, skip: skip)) ?? -1
  check(
    copied == expected.count && Array(out.prefix(copied)) == expected, "sg_pcopy_to_buffer disagrees with the cursor")
  // Writing through the table and reading back.
  let fill = (0..<min(total, 512)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
  let written = (try? table.copy(from: fill.span.bytes)) ?? -1
  check(written == fill.count, "sg_copy_from_buffer wrote \(written) of \(fill.count)")
  if let again = try? { () throws(IterError) -> [UInt8] in
    var iter = try IovIter(source, direction: .source)
    return try iter.read(upTo: fill.count)
  }() {
    // Entries may alias the same memory, so a later entry can overwrite an
    // earlier one's bytes: only the count is certain.
    check(again.count == fill.count, "read back \(again.count) of \(fill.count)")
  }
  // Back into a second table.
  guard var iter = try? IovIter(source, direction: .source),
    var target = try? ScatterlistTable(entryCount: 1 + input.below(64), maxEntriesPerArray: 2 + input.below(6))
  else { return }
  target.nents = input.below(3)
  let maxEntries = input.u8() % 8 == 0 ? input.arg(hint: 4) : input.below(target.origNents - target.nents + 1)
  do throws(IterError) {
    let ex = try extractIterToScatterlist(
      &iter, maxBytes: input.arg(hint: total), into: &target, maxEntries: maxEntries)
    check(ex.byteCount == total - iter.count, "extraction counted \(ex.byteCount), moved \(total - iter.count)")
    for slot in (try? target.slots(count: target.nents)) ?? [] {
      let e = slot.entry
      check(e.length == 0 || e.offset + e.length <= pageSize, "an extracted entry runs past its page")
    }
  } catch {
    check(iter.count == total, "a failed extraction moved the iterator")
  }
}

func fuzzAppend(_ input: inout FuzzInput) {
  guard var append = try? ScatterlistAppendTable(maxEntriesPerArray: 2 + input.below(5)) else { return }
  for _ in 0..<(1 + input.below(4)) {
    var pages: [IterPage] = []
    var frame = input.below(pool.pageCount)
    for _ in 0..<input.below(12) {
      if input.u8() % 3 != 0 { frame = (frame + 1) % pool.pageCount } else { frame = input.below(pool.pageCount) }
      pages.append(input.u8() % 16 == 0 ? arenaPage(&input) : pool.page(atFrame: frame)!)
    }
    let offset = input.u8() % 4 == 0 ? value(&input) : 0
    let size = input.u8() % 4 == 0 ? value(&input) : max(1, pages.count &* pageSize &- offset &- input.below(pageSize))
    let before = append.table.nents
    do throws(IterError) {
      try append.append(
        pages: pages, offset: offset, size: size, maxSegment: input.bool() ? value(&input) : 1 << 20,
        pool: input.u8() % 4 == 0 ? nil : pool, leftPages: input.below(4) == 0 ? 0 : input.below(5))
      let total = try append.table.validate()
      check(total > 0, "an append table holds no bytes: \(append.table)")
    } catch {
      check(append.table.nents == before, "a refused append changed the table")
    }
  }
  runOperations(append.table, &input)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzScatterlist(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  var input = FuzzInput(data, size)
  if input.u8() % 3 == 0 { fuzzAppend(&input) } else { fuzzTable(&input) }
  check(pool.outstandingReferences == 0, "\(pool.outstandingReferences) page references left")
  return 0
}
