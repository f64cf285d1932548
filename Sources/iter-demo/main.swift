//===----------------------------------------------------------------------===//
// swift-iov-iter: iter-demo
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// Builds cursors over a few segments of real memory and shows what each
// operation does to the cursor's state, the way the kernel's iov_iter does it.

import Glibc
import IterCore

func show(_ label: String, _ iter: IovIter<UnsafeSegmentList>) {
  let p = iter.position
  let pad = String(repeating: " ", count: max(0, 34 - label.count))
  print("  \(label)\(pad)count \(iter.count), segment \(p.segmentIndex) + \(p.offset), consumed \(iter.consumedCount)")
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16, uppercase: false) }.joined(separator: " ") }

// Three buffers of unequal size, with an empty segment between them, as an
// application would lend them to a read(2): header, nothing, payload, trailer.
let header = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 16)
let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: 8, alignment: 16)
let trailer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2, alignment: 16)
defer { header.deallocate(); payload.deallocate(); trailer.deallocate() }
for buffer in [header, payload, trailer] { buffer.initializeMemory(as: UInt8.self, repeating: 0) }

let list = UnsafeSegmentList([
  IterSegment(header), IterSegment(base: nil, count: 0), IterSegment(payload), IterSegment(trailer),
])

do {
  print("A destination cursor over segments of 4, 0, 8 and 2 bytes:")
  var into = try IovIter(list, direction: .destination)
  show("built", into)
  let message: [UInt8] = Array(0x10...0x1d)
  try into.write(Array(message[0..<6]))
  show("copy_to_iter 6 bytes", into)
  try into.write(Array(message[6...]))
  show("copy_to_iter the other 8", into)
  print("  header \(hex(Array(header))) | payload \(hex(Array(payload))) | trailer \(hex(Array(trailer)))")

  let extra = try into.write([0xff])
  print("  copy_to_iter 1 more byte: copied \(extra) (the count is 0)")
  do {
    _ = try into.read(upTo: 1)
  } catch {
    print("  copy_from_iter on a destination: \(error)")
  }

  print("\nA source cursor over the same memory:")
  var from = try IovIter(list, direction: .source)
  let first = try from.read(upTo: 5)
  show("copy_from_iter 5 bytes", from)
  print("  read \(hex(first))")
  try from.advance(by: 6)
  show("iov_iter_advance 6", from)
  let saved = from.saveState()
  try from.revert(by: 9)
  show("iov_iter_revert 9", from)
  do {
    try from.revert(by: 100)
  } catch {
    print("  iov_iter_revert 100: \(error); cursor unchanged")
  }
  try from.truncate(to: 3)
  show("iov_iter_truncate 3", from)
  print("  the next 3 bytes: \(hex(try from.read(upTo: 10)))")
  try from.restore(saved)
  show("iov_iter_restore", from)
  try from.revert(by: from.consumedCount)

  var vectors = [iovec](repeating: iovec(), count: 8)
  let gathered = try vectors.withUnsafeMutableBufferPointer { try from.gather(into: $0) }
  print("\nGather export for writev(2): \(gathered.vectorCount) iovecs, \(gathered.byteCount) bytes, complete: \(gathered.isComplete)")
  for v in vectors[0..<gathered.vectorCount] { print("  iov_len \(v.iov_len)") }
  let alignment = try from.alignment
  print("iov_iter_alignment: 2-byte aligned \(alignment & 1 == 0), 16-byte aligned \(alignment & 15 == 0); iov_iter_npages: \(try from.pageCount())")

  var crc = CRC32C()
  var out = [UInt8](repeating: 0, count: 14)
  _ = try out.withUnsafeMutableBytes { try from.read(into: $0, checksum: &crc) }
  print("copy_from_iter with CRC32C: 0x\(String(crc.value, radix: 16)) over \(hex(out))")
} catch {
  print("error: \(error)")
  exit(1)
}
