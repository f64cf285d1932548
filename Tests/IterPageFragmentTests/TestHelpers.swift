//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterPageFragment

/// Fills the whole arena with a pattern that names each byte's position.
func fillPattern(_ pool: PagePool) {
  let base = UnsafeMutableRawPointer(bitPattern: pool.address)!
  for k in 0..<pool.byteCount {
    base.storeBytes(of: patternByte(k), toByteOffset: k, as: UInt8.self)
  }
}

/// Fills one folio with the arena-wide pattern of `fillPattern`.
func fillPattern(_ folio: Folio) {
  let start = Int(folio.address - folio.pool.address)
  folio.withUnsafeMutableBytes { bytes in
    for k in 0..<bytes.count { bytes[k] = patternByte(start + k) }
  }
}

/// The byte `fillPattern` puts at arena offset `k`.
func patternByte(_ k: Int) -> UInt8 { UInt8(truncatingIfNeeded: k &* 31 &+ k >> 8 &+ 7) }

/// The bytes at `address..<address+count`.
func bytes(at address: UInt, count: Int) -> [UInt8] {
  let base = UnsafeRawPointer(bitPattern: address)!
  return (0..<count).map { base.load(fromByteOffset: $0, as: UInt8.self) }
}

/// One extraction call's result, without the retention.
struct Run: Equatable, CustomStringConvertible {
  var frames: [UInt64]
  var offset: Int
  var count: Int
  var description: String { "frames \(frames) offset \(offset) count \(count)" }
}

/// Extracts until the cursor is empty and returns the runs (releasing each).
func extractAll<S: IterSegmentSource>(
  _ iter: inout IovIter<S>, maxBytes: Int = .max, maxPages: Int = 64,
  options: IterExtractionOptions = []
) throws -> [Run] {
  var runs: [Run] = []
  while iter.count > 0 {
    let e = try iter.extractPages(maxBytes: maxBytes, maxPages: maxPages, options: options)
    runs.append(Run(frames: e.pages.map { $0.frame ?? .max }, offset: e.offset, count: e.count))
    if e.count == 0 { break }
    e.release()
  }
  return runs
}

/// The error `body` throws, or `nil`.
func thrownError(_ body: () throws(IterError) -> Void) -> IterError? {
  do {
    try body()
    return nil
  } catch {
    return error
  }
}
