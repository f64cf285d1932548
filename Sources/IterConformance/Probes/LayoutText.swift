//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore

/// Reports name memory by the layout, not by the process: an address becomes
/// "segment 3 base+0x1c0" or "segment 3 page+1", which a rerun with the same
/// seed prints again, where the raw address would differ from run to run.
extension FlatLayout {
  /// `address` relative to the segment whose pages contain it, or else to the
  /// nearest segment; the raw address when no segment has memory.
  ///
  /// A page-aligned address is named by its page counted from the page of the
  /// segment's first byte, so it reads the same wherever the allocator put
  /// the segment inside its page.
  ///
  /// With an `anchor` (the piece a run starts in), an address on the anchor's
  /// own pages is named after it, so that a run's pages read as one sequence.
  func relative(_ address: UInt, anchor: Int? = nil) -> String {
    let mask = UInt(IterPage.size - 1)
    func onPages(_ p: Piece) -> Bool {
      p.base != nil && address >= p.address & ~mask && address < (p.address &+ UInt(p.length) &+ mask) & ~mask
    }
    // The anchor if its pages hold the address, else the segment that holds
    // the byte, else one whose pages hold it, else the nearest.
    var best: (piece: Piece, distance: UInt)? = anchor.flatMap { pieces.indices.contains($0) ? pieces[$0] : nil }
      .flatMap { onPages($0) ? ($0, 0) : nil }
    best =
      best
      ?? pieces.first {
        $0.base != nil && address >= $0.address && address - $0.address < UInt($0.length)
      }.map { ($0, 0) }
    for p in pieces where p.base != nil && best?.distance != 0 {
      let low = p.address & ~mask
      let high = (p.address &+ UInt(p.length) &+ mask) & ~mask
      let distance = address < low ? low - address : address >= high ? address - high + 1 : 0
      if best == nil || distance < best!.distance { best = (p, distance) }
    }
    guard let piece = best?.piece else { return "0x\(String(address, radix: 16))" }
    if address & mask == 0 {
      let page = (Int(bitPattern: address) - Int(bitPattern: piece.address & ~mask)) / IterPage.size
      return "segment \(piece.segment) page\(page < 0 ? "-" : "+")\(abs(page))"
    }
    let delta = Int(bitPattern: address &- piece.address)
    return "segment \(piece.segment) base\(delta < 0 ? "-" : "+")0x\(String(delta.magnitude, radix: 16))"
  }

  /// `text` with every hexadecimal number of at least a page (an address, in
  /// the library's messages) replaced by ``relative(_:)``.
  func relativized(_ text: String, anchor: Int? = nil) -> String {
    guard !pieces.isEmpty else { return text }
    var out = ""
    var rest = Substring(text)
    while let zero = rest.firstIndex(of: "0") {
      let afterZero = rest.index(after: zero)
      guard afterZero < rest.endIndex, rest[afterZero] == "x" else {
        out += rest[...zero]
        rest = rest[afterZero...]
        continue
      }
      out += rest[..<zero]
      let tail = rest[rest.index(after: afterZero)...]
      let digits = tail.prefix { $0.isHexDigit }
      if let value = UInt(digits, radix: 16), value >= UInt(IterPage.size) {
        out += "<\(relative(value, anchor: anchor))>"
      } else {
        out += "0x" + digits
      }
      rest = tail.dropFirst(digits.count)
    }
    return out + rest
  }

  /// The segments in brief: how many, then the length of each (up to 8) and
  /// where its first byte sits in its page.
  var summary: String {
    let mask = UInt(IterPage.size - 1)
    let count = segmentStarts.count - 1
    var parts: [String] = []
    var k = 0
    for i in 0..<min(count, 8) {
      let length = segmentStarts[i + 1] - segmentStarts[i]
      if k < pieces.count, pieces[k].segment == i {
        let p = pieces[k]
        parts.append(p.base == nil ? "\(length) without memory" : "\(length)@0x\(String(p.address & mask, radix: 16))")
        k += 1
      } else {
        parts.append("\(length)")
      }
    }
    let more = count > 8 ? ", ..." : ""
    return "\(count) segments (length@page offset): \(parts.joined(separator: ", "))\(more)"
  }
}

extension IterExtractionOptions {
  /// `[]`, `[retain]`, or the raw bits for options the suite does not name.
  var brief: String {
    var names: [String] = []
    var rest = self
    if rest.contains(.retain) {
      names.append("retain")
      rest.remove(.retain)
    }
    if rest.contains(.allowP2PDMA) {
      names.append("allowP2PDMA")
      rest.remove(.allowP2PDMA)
    }
    if !rest.isEmpty { names.append("0x\(String(rest.rawValue, radix: 16))") }
    return "[\(names.joined(separator: ", "))]"
  }
}
