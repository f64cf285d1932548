//===----------------------------------------------------------------------===//
// swift-iov-iter fuzzing: IovIter.init and every cursor operation
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// One real buffer that the harness owns (allocated at its exact size, so the
// address sanitizer sees any byte outside it); an UnsafeSegmentList of
// segments carved from it with input-chosen offsets and lengths, including
// empty ones, memoryless ones, negative lengths and lengths whose sum
// overflows (which IovIter.init must refuse), and an optional count. On
// success, the rest of the input decoded into model operations (every cursor
// operation, with input-chosen arguments) and replayed on the conformance
// model, which checks each result (FuzzSupport/Operations.swift).

import FuzzSupport
import IterCore

/// What IovIter.init must say about `segments` (in its order of checks).
func expectedInit(_ segments: [IterSegment], direction: IterDirection, count: Int?) -> IterError? {
  if let count, count < 0 { return .negativeCount(argument: "count", value: count) }
  var total = 0
  for (i, s) in segments.enumerated() {
    if s.count < 0 { return .invalidSegment(index: i, count: s.count, reason: "negative length") }
    if !s.hasMemory && s.count > 0 && direction == .source {
      return .invalidSegment(index: i, count: s.count, reason: "no memory to read in a source iterator")
    }
    let (sum, overflow) = total.addingReportingOverflow(s.count)
    if overflow { return .lengthOverflow(total: total, limit: Int.max) }
    total = sum
  }
  if let count, count > total { return .countExceedsSource(count: count, available: total) }
  return nil
}

func fuzzOne(_ input: inout FuzzInput) {
  let size = input.below(8193)
  let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 1)
  defer { buffer.deallocate() }
  for i in 0..<size { buffer[i] = UInt8(truncatingIfNeeded: i &* 13 &+ i >> 8) }
  let base = buffer.baseAddress!
  let direction: IterDirection = input.bool() ? .source : .destination

  var segments: [IterSegment] = []
  var inBuffer = true  // every segment lies inside the buffer
  for _ in 0..<input.below(40) {
    switch input.u8() % 16 {
    case 0...9:
      let offset = input.below(size + 1)
      segments.append(IterSegment(base: base + offset, count: input.below(size - offset + 1)))
    case 10: segments.append(IterSegment(base: base + input.below(size + 1), count: 0))
    case 11: segments.append(IterSegment(base: nil, count: 0))
    case 12: segments.append(IterSegment(base: nil, count: input.below(4097)))  // memoryless
    case 13:
      let negative = input.bool() ? -Int(input.u16()) - 1 : [Int.min, -1, -4096, Int.min + 1][input.below(4)]
      segments.append(IterSegment(base: base, count: negative))
    default:
      // A length far past the buffer: refused only if the total overflows.
      let huge = [Int.max, Int.max - 1, Int.max / 2 + 1, 1 << 62, Int.max - size][input.below(5)]
      segments.append(IterSegment(base: base, count: huge))
      inBuffer = false
    }
  }
  let count: Int? = input.u8() % 4 == 0 ? input.arg(hint: segments.reduce(0) { $0 &+ max(0, $1.count) }) : nil
  var list: UnsafeSegmentList
  if input.bool() {
    list = UnsafeSegmentList(segments)
  } else {
    list = UnsafeSegmentList([])
    for s in segments { list.append(s) }
  }

  let expected = expectedInit(segments, direction: direction, count: count)
  do throws(IterError) {
    _ = try IovIter(list, direction: direction, count: count)
    check(expected == nil, "IovIter.init accepted \(segments); expected \(expected!)")
  } catch {
    check(expected == error, "IovIter.init threw \(error); expected \(expected.map { "\($0)" } ?? "success")")
    return
  }
  // A cursor over lengths past the buffer may only be counted, never walked.
  let total = segments.reduce(0) { $0 + $1.count }
  let operations = input.operations(total: total, memory: inBuffer)
  replayOrCrash(
    operations, over: list, direction: direction, count: count, readsMemory: inBuffer,
    retentionProbe: Arena.retentionsHeld)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCursorOps(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  var input = FuzzInput(data, size)
  fuzzOne(&input)
  return 0
}
