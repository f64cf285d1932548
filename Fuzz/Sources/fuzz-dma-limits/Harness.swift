//===----------------------------------------------------------------------===//
// swift-iov-iter fuzzing: DMA limits, and iterators mapped to BioVecs
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// Limits from fuzz bytes (any value, or left to the default) go through
// DMALimits' validation, checked against the rules written out here; valid
// limits then map a layout of segments over a made-up page table, by walking
// and by extraction, and every request and error is checked against the
// brute-force model (Model.swift).

import FuzzSupport
import IterBridge
import IterCore

/// A limit value: absent (the default), one of the interesting values, or raw.
func limit32(_ input: inout FuzzInput, _ interesting: [UInt32]) -> UInt32? {
  switch input.u8() % 4 {
  case 0: return nil
  case 1: return input.u32()
  default: return interesting[input.below(interesting.count)]
  }
}

func limit64(_ input: inout FuzzInput, _ interesting: [UInt64]) -> UInt64? {
  switch input.u8() % 4 {
  case 0: return nil
  case 1: return input.u64()
  default: return interesting[input.below(interesting.count)]
  }
}

/// The rules of DMALimits.init, written out on their own.
func shouldAccept(
  mss: UInt32?, sbm: UInt64?, segs: Int?, align: UInt32?, vbm: UInt64?, hw: UInt32?, user: UInt32?, lbs: UInt32?
) -> Bool {
  func isMask(_ m: UInt64) -> Bool { m & (m &+ 1) == 0 }
  let l = lbs ?? 512
  guard l >= 512, l <= 65536, l.nonzeroBitCount == 1 else { return false }
  let h = hw ?? 255
  guard h >= 8, h - h % (l / 512) >= l / 512 else { return false }
  let hwRounded = h - h % (l / 512)
  var s = min(hwRounded, 8192)
  if let user {
    guard user >= 8 else { return false }
    s = min(hwRounded, user)
  }
  guard s - s % (l / 512) >= l / 512 else { return false }
  guard (1...65535).contains(segs ?? 128) else { return false }
  let v = vbm ?? 0
  guard isMask(v) else { return false }
  if v != 0 {
    if let mss, mss != UInt32.max { return false }
  } else if (mss ?? 65536) < 4096 {
    return false
  }
  let b = sbm ?? 0xFFFF_FFFF
  guard b >= 4095, isMask(b) else { return false }
  let a = UInt64(align ?? 511)
  return isMask(a) && a < 4096
}

/// The table, with a window (if any) offered to the mapper.
struct Windowed: PhysicalTranslator {
  var table: IOVATableTranslator
  var window: TranslationWindow?
  func translate(_ address: UInt, length: Int) throws(DMAError) -> PhysicalRun {
    try table.translate(address, length: length)
  }
  var translationWindow: TranslationWindow? { window }
}

func fuzzOne(_ input: inout FuzzInput) {
  let mss = limit32(&input, [0, 1, 4095, 4096, 4097, 65536, UInt32.max])
  let sbm = limit64(&input, [0, 4094, 4095, 4096, 8191, 65535, 0xFFFF_FFFF, UInt64.max])
  let segs: Int? = input.bool() ? nil : [0, 1, 2, 3, 7, 128, 65535, 65536, -1][input.below(9)]
  let align = limit32(&input, [0, 0, 3, 511, 4095, 4096, 5])
  let vbm = limit64(&input, [0, 0, 4095, 4096, 8191])
  let hw = limit32(&input, [0, 7, 8, 16, 255, UInt32.max])
  let user = limit32(&input, [4, 8, 16, UInt32.max])
  let lbs = limit32(&input, [0, 256, 512, 1000, 1024, 4096, 65536, 131072])
  let expected = shouldAccept(mss: mss, sbm: sbm, segs: segs, align: align, vbm: vbm, hw: hw, user: user, lbs: lbs)
  let limits: DMALimits
  do throws(DMAError) {
    limits = try DMALimits(
      maxSegmentSize: mss, segmentBoundaryMask: sbm, maxSegments: segs, dmaAlignment: align,
      virtBoundaryMask: vbm, maxHWSectors: hw, maxUserSectors: user, logicalBlockSize: lbs)
  } catch {
    switch error {
    case .invalidLimit, .contradictoryLimits: break
    default: check(false, "limits threw \(error)")
    }
    check(!expected, "valid limits refused: \(error)")
    return
  }
  check(expected, "invalid limits accepted: \(limits)")
  // Requests of at most a few thousand segments keep an execution short.
  guard limits.maxRequestBytes <= 1 << 26 || limits.maxSegments <= 4096 else { return }

  // A layout over 16 virtual pages, and a page table of frames.
  let basePage: UInt = 0x4000
  var segments: [(address: UInt, length: Int)] = []
  for _ in 0..<(1 + input.below(6)) {
    let page = basePage + UInt(input.below(12))
    let offset = UInt(input.bool() ? 0 : input.below(4096))
    let length = 1 + (input.bool() ? input.below(16) : input.below(9000))
    segments.append((page * 4096 + offset, length))
  }
  var table = ModelPageTable()
  var translator = IOVATableTranslator()
  var frame = UInt64(input.u32() & 0xF_FFFF)
  // One input in three maps the pages linearly and offers a window over some
  // of them (the mapper's inline translation).
  let linear = input.u8() % 3 == 0
  var window: TranslationWindow? = nil
  if linear {
    let first = UInt(input.below(16))
    let end = first + 1 + UInt(input.below(16 - Int(first)))
    window = TranslationWindow(
      virtualAddress: (basePage + first) * 4096, count: (end - first) * 4096,
      deviceAddress: (frame + 1 + UInt64(first)) * 4096)
  }
  for vpage in basePage..<(basePage + 16) {
    if linear {
      frame += 1
      table.pages[vpage] = (frame, [], 0)
      try! translator.map(.init(virtualAddress: vpage * 4096, length: 4096, iova: frame * 4096))
      continue
    }
    switch input.u8() % 8 {
    case 0: frame = UInt64(input.u32())
    case 1: frame = 0xF_FFFE + UInt64(input.below(3))
    case 2: frame &+= 2
    default: frame &+= 1
    }
    let device = input.u8() % 10 == 0
    let flags: BioVecFlags = device ? .busAddress : []
    table.pages[vpage] = (frame, flags, device ? 1 : 0)
    try! translator.map(
      .init(virtualAddress: vpage * 4096, length: 4096, iova: frame * 4096, attributes: flags, region: device ? 1 : 0))
  }
  let bounce = input.bool()
  let extract = input.bool()
  // Without extraction, one input in two maps in batches of 1 to 8 requests.
  let batchCapacity = !extract && input.bool() ? 1 + input.below(8) : 0
  let model = BioVecModel.run(segments: segments, table: table, limits: limits, bounce: bounce)

  let list = UnsafeSegmentList(
    segments.map { IterSegment(base: UnsafeMutableRawPointer(bitPattern: $0.address), count: $0.length) })
  var iter = try! IovIter(list, direction: .source)
  var mapper = BioVecMapper(
    limits: limits, translator: Windowed(table: translator, window: window), misalignment: bounce ? .bounce : .fail)
  var request = BioVecRequest(for: limits)
  var got: [ModelRequest] = []
  var error: DMAError? = nil
  var batch = BioVecRequestBatch(requests: max(batchCapacity, 1), for: limits)
  while batchCapacity > 0 {
    let before = iter.count
    do throws(DMAError) {
      let n = try mapper.mapNextRequests(from: &iter, into: &batch)
      if n == 0 { break }
      check(n <= batchCapacity && n == batch.count, "\(n) requests in a batch of \(batchCapacity)")
      check(before - iter.count == batch.byteCount, "the iterator moved \(before - iter.count) for \(batch.byteCount)")
      for i in 0..<n { got.append(ModelRequest(chunks: batch.chunks(ofRequest: i), end: batch.end(ofRequest: i))) }
    } catch let e {
      check(iter.count == before && batch.isEmpty, "the iterator moved or the batch kept requests on \(e)")
      error = e
      break
    }
  }
  while batchCapacity == 0 {
    let before = iter.count
    do throws(DMAError) {
      let more =
        extract
        ? try mapper.extractNextRequest(from: &iter, into: &request)
        : try mapper.mapNextRequest(from: &iter, into: &request)
      if !more { break }
      check(
        before - iter.count == request.byteCount, "the iterator moved \(before - iter.count) for \(request.byteCount)")
      check(request.count <= limits.maxSegments, "\(request.count) segments")
      got.append(ModelRequest(chunks: request.array, end: request.end))
    } catch let e {
      check(iter.count == before, "the iterator moved on \(e)")
      error = e
      break
    }
  }
  check(
    got == model.requests && error == model.error,
    "limits \(limits), bounce \(bounce), extract \(extract), batches of \(batchCapacity), segments \(segments):\n"
      + "model \(model.requests) \(String(describing: model.error))\ngot   \(got) \(String(describing: error))")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDMALimits(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  var input = FuzzInput(data, size)
  fuzzOne(&input)
  return 0
}
