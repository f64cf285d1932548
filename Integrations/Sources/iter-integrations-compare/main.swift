//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

// Each adapter against doing the same job by hand with its library. Prints a
// markdown table of the median time per operation and the ratio
// (by hand / iov-iter: above 1 means the adapter is faster). `--quick` runs
// few rounds, for CI; build with `-c release` for numbers worth reading.

import Dispatch
import Foundation
import Glibc
import IterCore
import IterFoundation
import IterNIO
import IterSystem
import IterUser
import NIOCore
import SystemPackage

let quick = CommandLine.arguments.contains("--quick")
let rounds = quick ? 5 : 31
let batch = quick ? 20 : 200

/// The median over `rounds` of the time per call of `body`, in nanoseconds.
func measure(_ body: () throws -> Void) rethrows -> Double {
  var samples: [Double] = []
  for _ in 0..<rounds {
    let start = ContinuousClock.now
    for _ in 0..<batch { try body() }
    let elapsed = ContinuousClock.now - start
    let (seconds, attoseconds) = elapsed.components
    samples.append((Double(seconds) * 1e9 + Double(attoseconds) / 1e9) / Double(batch))
  }
  return samples.sorted()[samples.count / 2]
}

struct Row {
  let name: String
  let byHand: Double
  let adapter: Double
}

func check(_ condition: Bool, _ what: String) {
  if !condition {
    print("iter-integrations-compare: \(what) gave a wrong result")
    exit(1)
  }
}

let pieces = 16
let pieceSize = 4096
let payload = (0..<pieces * pieceSize).map { UInt8(truncatingIfNeeded: $0 &* 31) }
var rows: [Row] = []

// NIO: gather 16 ByteBuffers into one.
let allocator = ByteBufferAllocator()
let buffers = (0..<pieces).map { i in
  allocator.buffer(bytes: payload[(i * pieceSize)..<((i + 1) * pieceSize)])
}
var gathered = allocator.buffer(capacity: payload.count)
let nioByHand = measure {
  gathered.clear()
  for buffer in buffers { gathered.writeImmutableBuffer(buffer) }
}
check(gathered.readableBytesView.elementsEqual(payload), "NIO by hand")
let nioAdapter = try measure {
  gathered.clear()
  var iter = try IovIter(ByteBufferSegments(readableBytesOf: buffers), direction: .source)
  try iter.read(into: &gathered)
}
check(gathered.readableBytesView.elementsEqual(payload), "ByteBufferSegments + read(into:)")
rows.append(Row(name: "NIO: gather 16 × 4 KiB ByteBuffers into one", byHand: nioByHand, adapter: nioAdapter))
// The same copy with the kind built once: what the cursor costs apart from
// wrapping each buffer's storage (an allocation and an owner per buffer).
let kind = ByteBufferSegments(readableBytesOf: buffers)
let nioCursorOnly = try measure {
  gathered.clear()
  var iter = try IovIter(kind, direction: .source)
  try iter.read(into: &gathered)
}
check(gathered.readableBytesView.elementsEqual(payload), "read(into:) over a prebuilt kind")
rows.append(Row(name: "NIO: the same, ByteBufferSegments built once", byHand: nioByHand, adapter: nioCursorOnly))

// Foundation: a DispatchData of 16 regions into one Data.
var dispatchData = DispatchData.empty
for i in 0..<pieces {
  payload[(i * pieceSize)..<((i + 1) * pieceSize)].withUnsafeBytes { dispatchData.append($0) }
}
let expected = Data(payload)
var joined = Data()
let foundationByHand = measure { joined = Data(dispatchData) }
check(joined == expected, "Foundation by hand")
let foundationAdapter = try measure {
  var iter = try IovIter(DataRegionsSegments(dispatchData), direction: .source)
  joined = try Data(iter: &iter)
}
check(joined == expected, "DataRegionsSegments + Data(iter:)")
rows.append(
  Row(name: "Foundation: DispatchData (16 regions) to Data", byHand: foundationByHand, adapter: foundationAdapter))

// swift-system: write 16 separate buffers to a file at offset 0.
let path = FilePath("/tmp/iter-integrations-compare.\(getpid())")
let fd = try FileDescriptor.open(path, .readWrite, options: [.create, .truncate], permissions: [.ownerReadWrite])
defer {
  try? fd.close()
  _ = unlink(path.description)
}
// Sixteen separate allocations, live for the whole run, used by both sides.
let memory = (0..<pieces).map { i in
  let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: pieceSize, alignment: 16)
  payload[(i * pieceSize)..<((i + 1) * pieceSize)].withUnsafeBytes { piece.copyMemory(from: $0) }
  return UnsafeRawBufferPointer(piece)
}
let systemByHand = try measure {
  for (i, piece) in memory.enumerated() { _ = try fd.write(toAbsoluteOffset: Int64(i * pieceSize), piece) }
}
let user = try UserIOVecArray(importing: memory)
let systemAdapter = try measure {
  var iter = try IovIter(user, direction: .source)
  check(try fd.pwritev(&iter, at: 0) == payload.count, "pwritev")
}
var back = [UInt8](repeating: 0, count: payload.count)
_ = try back.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: 0, into: $0) }
check(back == payload, "FileDescriptor.pwritev")
rows.append(
  Row(name: "swift-system: 16 × 4 KiB buffers to a file at offset 0", byHand: systemByHand, adapter: systemAdapter))

print("| \(quick ? "quick run" : "run") | by hand (ns/op) | iov-iter (ns/op) | by hand / iov-iter |")
print("|---|---:|---:|---:|")
for row in rows {
  let ratio = row.byHand / row.adapter
  print(
    "| \(row.name) | \(Int(row.byHand.rounded())) | \(Int(row.adapter.rounded())) | "
      + "\(String(format: "%.2f", ratio)) |")
}
