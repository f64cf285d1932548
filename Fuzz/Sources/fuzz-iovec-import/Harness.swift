//===----------------------------------------------------------------------===//
// swift-iov-iter fuzzing: the import of user iovec tables (import_iovec rules)
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// The input is an iovec table: a count (sometimes past UIO_MAXIOV), then
// (base, len) pairs with arbitrary values: nulls, addresses near the top of
// the address space, lengths negative as ssize_t, huge ones. It is imported
// through one of the entry points, and the outcome is checked against a
// reference implementation of the rules in UserIOVecArray's documentation.
// On success a cursor runs the operations that never dereference the
// described memory (the addresses are garbage): counts, alignment, gap
// alignment, page count, gather, advance/revert/truncate/reexpand,
// save/restore, extend, split. Nothing copies or extracts.

import FuzzSupport
import Glibc
import IterCore
import IterUser

let maxIOV = UserIOVecArray.maximumCount

/// What the rules say an import gives: the capped segments, or the error.
func reference(_ table: [(base: UInt, len: Int)], single: Bool) -> Result<[(address: UInt, length: Int)], IterError> {
  func addressError(_ i: Int, _ base: UInt, _ len: Int) -> IterError? {
    guard len > 0 else { return nil }
    if base == 0 { return .invalidSegment(index: i, count: len, reason: "") }
    if base.addingReportingOverflow(UInt(len)).overflow { return .invalidSegment(index: i, count: len, reason: "") }
    return nil
  }
  if single {
    let (base, len) = table[0]
    if len < 0 { return .failure(.invalidSegment(index: 0, count: len, reason: "")) }
    let capped = min(len, IterLimits.maxReadWriteCount)
    if let e = addressError(0, base, capped) { return .failure(e) }
    return .success([(base, capped)])
  }
  if table.count > maxIOV { return .failure(.tooManySegments(count: table.count, limit: maxIOV)) }
  if let i = table.firstIndex(where: { $0.len < 0 }) {
    return .failure(.invalidSegment(index: i, count: table[i].len, reason: ""))
  }
  var out: [(address: UInt, length: Int)] = []
  var total = 0
  for (i, (base, len)) in table.enumerated() {
    if let e = addressError(i, base, len) { return .failure(e) }
    let capped = min(len, IterLimits.maxReadWriteCount - total)
    total += capped
    out.append((base, capped))
  }
  return .success(out)
}

/// Errors compare by case and values; the reason's wording is not checked.
func same(_ a: IterError, _ b: IterError) -> Bool {
  switch (a, b) {
  case (.invalidSegment(let i, let c, _), .invalidSegment(let j, let d, _)): return i == j && c == d
  default: return a == b
  }
}

func runCursor<S: IterSegmentSource>(
  _ make: () throws(IterError) -> IovIter<S>, _ segments: [(address: UInt, length: Int)],
  direction: IterDirection, _ input: inout FuzzInput
) {
  let iter: IovIter<S>
  do throws(IterError) { iter = try make() } catch {
    check(false, "a cursor over an imported table was refused: \(error)")
    return
  }
  check(iter.source.segmentCount == segments.count, "segment count \(iter.source.segmentCount)")
  for (i, s) in segments.enumerated() {
    let got = iter.source.segment(at: i)
    check(got.address == s.address && got.count == s.length, "segment \(i): \(got), want \(s)")
  }
  // The addresses are garbage: only operations that leave memory alone.
  let total = segments.reduce(0) { $0 + $1.length }
  check(iter.count == total, "cursor count \(iter.count), table total \(total)")
  replayOrCrash(
    input.operations(total: total, memory: false), over: iter.source, direction: direction, readsMemory: false)
}

func importAndRun(_ input: inout FuzzInput) {
  let mode = input.u8() % 7
  let n: Int
  switch input.u8() % 8 {
  case 0: n = maxIOV - 4 + input.below(9)  // around UIO_MAXIOV
  case 1: n = input.below(4096)
  case 2: n = 1
  default: n = input.below(24)
  }
  var table: [(base: UInt, len: Int)] = []
  table.reserveCapacity(n)
  for _ in 0..<n {
    let base = UInt(input.word())
    let len = Int(truncatingIfNeeded: input.word())  // iov_len as ssize_t
    table.append((base, len))
  }
  let direction: IterDirection = input.bool() ? .source : .destination
  let vectors = UnsafeMutableBufferPointer<iovec>.allocate(capacity: max(n, 1))
  defer { vectors.deallocate() }
  for (i, e) in table.enumerated() {
    vectors[i] = iovec(
      iov_base: UnsafeMutableRawPointer(bitPattern: e.base), iov_len: Int(bitPattern: UInt(bitPattern: e.len)))
  }
  let table0 = UnsafeBufferPointer(rebasing: vectors[0..<n])
  let segments = table.map { IterSegment(base: UnsafeMutableRawPointer(bitPattern: $0.base), count: $0.len) }
  // UserImport and UserBuffer turn one entry into a single buffer (import_ubuf rules).
  let single = (mode == 1 || mode == 3 || mode == 5) && n == 1 || mode == 6
  if mode == 6 && n == 0 { table.append((0, 0)) }
  let want = reference(table, single: single)

  func outcome<T>(_ body: () throws(IterError) -> T) -> T? {
    do throws(IterError) {
      let value = try body()
      if case .failure(let e) = want { check(false, "import succeeded; the rules say \(e)") }
      return value
    } catch {
      switch want {
      case .failure(let e): check(same(e, error), "import threw \(error); the rules say \(e)")
      case .success: check(false, "import threw \(error); the rules accept the table")
      }
      return nil
    }
  }
  guard case .success(let capped) = want else {
    // Every entry point must refuse it with the same error.
    switch mode {
    case 0: _ = outcome { () throws(IterError) in try UserIOVecArray(importing: table0) }
    case 1: _ = outcome { () throws(IterError) in try UserImport(importing: table0) }
    case 2: _ = outcome { () throws(IterError) in try IovIter<UserIOVecArray>(importing: table0, direction: direction) }
    case 3: _ = outcome { () throws(IterError) in try IovIter<UserImport>(importing: table0, direction: direction) }
    case 4: _ = outcome { () throws(IterError) in try UserIOVecArray(importing: segments) }
    case 5: _ = outcome { () throws(IterError) in try UserImport(importing: segments) }
    default:
      _ = outcome { () throws(IterError) in
        try UserBuffer(importing: UnsafeMutableRawPointer(bitPattern: table[0].base), count: table[0].len)
      }
    }
    return
  }
  let total = capped.reduce(0) { $0 + $1.length }
  check(total <= IterLimits.maxReadWriteCount, "reference total past MAX_RW_COUNT")
  switch mode {
  case 0, 4:
    guard
      let array = outcome({ () throws(IterError) in
        mode == 0 ? try UserIOVecArray(importing: table0) : try UserIOVecArray(importing: segments)
      })
    else { return }
    check(array.count == total && array.segmentCount == n, "array count \(array.count), want \(total)")
    runCursor(
      { () throws(IterError) in try IovIter(array, direction: direction) }, capped, direction: direction, &input)
  case 1, 5:
    guard
      let imported = outcome({ () throws(IterError) in
        mode == 1 ? try UserImport(importing: table0) : try UserImport(importing: segments)
      })
    else { return }
    check(imported.isSingleBuffer == (n == 1) && imported.count == total, "UserImport \(imported.count)")
    runCursor(
      { () throws(IterError) in try IovIter(imported, direction: direction) }, capped, direction: direction, &input)
  case 2:
    guard
      let iter = outcome({ () throws(IterError) in
        try IovIter<UserIOVecArray>(importing: table0, direction: direction)
      })
    else { return }
    runCursor({ () throws(IterError) in iter }, capped, direction: direction, &input)
  case 3:
    guard
      let iter = outcome({ () throws(IterError) in
        try IovIter<UserImport>(importing: table0, direction: direction)
      })
    else { return }
    runCursor({ () throws(IterError) in iter }, capped, direction: direction, &input)
  default:
    guard
      let buffer = outcome({ () throws(IterError) in
        try UserBuffer(importing: UnsafeMutableRawPointer(bitPattern: table[0].base), count: table[0].len)
      })
    else { return }
    check(buffer.count == total && buffer.segmentCount == 1, "UserBuffer count \(buffer.count)")
    runCursor(
      { () throws(IterError) in try IovIter(buffer, direction: direction) }, capped, direction: direction, &input)
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIovecImport(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  var input = FuzzInput(data, size)
  importAndRun(&input)
  return 0
}
