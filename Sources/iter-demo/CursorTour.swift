//===----------------------------------------------------------------------===//
// swift-iov-iter: iter-demo
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// Part 1: what each cursor operation does to the cursor's state, over a few
// segments of real memory, the way the kernel's iov_iter does it.

import Glibc
import IterCore

func cursorTour(_ report: Report) throws {
  report.section("1. Cursor operations over segments of 4, 0, 8 and 2 bytes (IterCore, UnsafeSegmentList)")
  // Three buffers of unequal size with an empty segment between them, as an
  // application would lend them to a read(2): header, nothing, payload, trailer.
  let sizes = [4, 0, 8, 2]
  let buffers = sizes.map { UnsafeMutableRawBufferPointer.allocate(byteCount: $0, alignment: 16) }
  defer { for buffer in buffers { buffer.deallocate() } }
  for buffer in buffers { buffer.initializeMemory(as: UInt8.self, repeating: 0) }
  let list = UnsafeSegmentList(
    buffers.enumerated().map { $0.offset == 1 ? IterSegment(base: nil, count: 0) : IterSegment($0.element) })

  var table = Table(["operation", "count", "segment+offset", "consumed", "note"], right: [1, 3])
  func row<S>(_ operation: String, _ iter: IovIter<S>, _ note: String = "") {
    let p = iter.position
    table.add(operation, iter.count, "\(p.segmentIndex)+\(p.offset)", iter.consumedCount, note)
  }

  var into = try IovIter(list, direction: .destination)
  let message: [UInt8] = Array(0x10...0x1d)
  let first = try into.write(Array(message[0..<6]))
  row("copy_to_iter 6", into, "copied \(first)")
  let rest = try into.write(Array(message[6...]))
  row("copy_to_iter 8 more", into, "copied \(rest); full")
  let extra = try into.write([0xff])
  row("copy_to_iter 1 more", into, "copied \(extra): count is 0")
  let landed = buffers.flatMap { Array($0) }
  report.check(first == 6 && rest == 8 && extra == 0, "copy_to_iter copied 6, 8, 0 (got \(first), \(rest), \(extra))")
  report.check(landed == message, "the 14 bytes landed in order across the segments")

  var from = try IovIter(list, direction: .source)
  let read5 = try from.read(upTo: 5)
  row("copy_from_iter 5", from, hexBytes(read5))
  try from.advance(by: 6)
  row("iov_iter_advance 6", from)
  let saved = from.saveState()
  try from.revert(by: 9)
  row("iov_iter_revert 9", from)
  var refused = "no error"
  do { try from.revert(by: 100) } catch { refused = "\(error)" }
  row("iov_iter_revert 100", from, "refused, cursor unchanged")
  report.check(from.consumedCount == 2, "a refused revert leaves the cursor where it was")
  report.check(refused != "no error", "reverting past the start throws")
  try from.truncate(to: 3)
  let three = try from.read(upTo: 10)
  row("truncate 3, read 10", from, "got \(three.count): \(hexBytes(three))")
  try from.restore(saved)
  row("iov_iter_restore", from)
  report.check(from.consumedCount == 11 && from.count == 3, "restore returns to the saved state")
  report.table(table)
  report.say("  typed error: \(refused)")
  var wrong = "no error"
  do { _ = try into.read(upTo: 1) } catch { wrong = "\(error)" }
  report.say("  copy_from_iter on a destination: \(wrong)")
  report.check(wrong != "no error", "reading from a destination cursor throws")

  try from.revert(by: from.consumedCount)
  var vectors = [iovec](repeating: iovec(), count: 8)
  let gathered = try vectors.withUnsafeMutableBufferPointer { try from.gather(into: $0) }
  var crc = CRC32C()
  var out = [UInt8](repeating: 0, count: 14)
  _ = try out.withUnsafeMutableBytes { try from.read(into: $0, checksum: &crc) }
  var direct = CRC32C()
  message.withUnsafeBytes { direct.update($0) }
  let lengths = vectors[0..<gathered.vectorCount].map { "\($0.iov_len)" }.joined(separator: "+")
  report.say(
    "  gather for writev(2): \(gathered.vectorCount) iovecs (\(lengths) bytes, the empty one skipped); "
      + "CRC32C while copying \(hex(crc.value))")
  report.check(gathered.vectorCount == 3 && gathered.byteCount == 14, "gather skips the empty segment")
  report.check(crc.value == direct.value && out == message, "the CRC32C taken while copying matches the bytes")
}
