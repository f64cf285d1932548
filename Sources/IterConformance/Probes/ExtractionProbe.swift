//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore

/// One thing the extraction probe found: the check it belongs to and what
/// was wrong, with the values.
struct ProbeFinding {
  var check: String
  var message: String
}

/// The positions the probe calls extraction at: the start of a segment, its
/// second byte, its middle, its last byte and its end (where the cursor can
/// stand when empty segments follow), for the first 40 segments and the last
/// 8, and the start of every empty segment among them, as long as bytes remain.
func probePositions(_ layout: FlatLayout) -> [(position: IterPosition, byte: Int)] {
  let n = layout.segmentStarts.count - 1
  var result: [(IterPosition, Int)] = []
  for i in Set(Array(0..<min(n, 40)) + Array(max(0, n - 8)..<n)).sorted() {
    let start = layout.segmentStarts[i]
    let length = layout.segmentStarts[i + 1] - start
    var seen = Set<Int>()
    for offset in [0, 1, length / 2, length - 1, length] where offset >= 0 && offset <= length {
      guard seen.insert(offset).inserted, start + offset < layout.total else { continue }
      result.append((IterPosition(segmentIndex: i, offset: offset), start + offset))
    }
  }
  return result
}

/// The limits the probe asks for with `left` bytes after the position: one
/// byte, a few, half of what is left and all of it, each in one page and in
/// two, and all of it in three.
func probeLimits(left: Int) -> [(maxBytes: Int, maxPages: Int)] {
  let half = max(1, left / 2)
  var result: [(Int, Int)] = []
  for limit in [(1, 1), (3, 1), (half, 1), (half, 2), (left, 1), (left, 2), (1, 2), (left, 3)]
  where !result.contains(where: { $0 == limit }) {
    result.append(limit)
  }
  return result
}

/// Calls the kind's own `extractPages(at:maxBytes:maxPages:options:)` at the
/// ``probePositions(_:)`` with the ``probeLimits(left:)``, with and without
/// `.retain`, and checks every result before anything
/// relies on it: the contract (`IterExtraction.contractViolation(of:at:maxBytes:maxPages:)`,
/// the same check the cursor makes) under `extraction`, and what it holds
/// under `retention`. Reports the first finding of each check.
func probeExtraction<S: IterSegmentSource>(
  _ source: S, layout: FlatLayout, retentionProbe: (@Sendable () -> Int)?,
  pageHoldProbe: (@Sendable (IterPage) -> Int)?
) -> [ProbeFinding] {
  var extraction: ProbeFinding? = nil
  var retention: ProbeFinding? = nil
  let positions = probePositions(layout)
  outer: for options in [IterExtractionOptions(), [.retain]] {
    for (position, byte) in positions {
      let left = layout.total - byte
      for (maxBytes, maxPages) in probeLimits(left: left) {
        if extraction != nil && retention != nil { break outer }
        func call() -> String {
          "extractPages(at: segment \(position.segmentIndex) offset \(position.offset) (byte \(byte) of "
            + "\(layout.total)), maxBytes: \(maxBytes), maxPages: \(maxPages), options: \(options.brief))"
        }
        let declared: IterRetentionKind
        do {
          declared = try source.retention(for: options, at: position)
        } catch {
          retention =
            retention
            ?? ProbeFinding(
              check: "retention",
              message: "retention(for: \(options.brief), at: segment \(position.segmentIndex) "
                + "offset \(position.offset)) threw \(error) for a position the source has")
          continue
        }
        let hold = HoldCheck(
          declared: declared, probe: retentionProbe, pageProbe: pageHoldProbe, layout: layout, from: byte,
          candidates: { candidatePages(layout, from: byte, count: min(maxBytes, maxPages * IterPage.size)) })
        let finding: ProbeFinding?
        do {
          finding = examine(
            try source.extractPages(at: position, maxBytes: maxBytes, maxPages: maxPages, options: options),
            call: call, source: source, position: position, byte: byte, layout: layout, maxBytes: maxBytes,
            maxPages: maxPages, declared: declared, hold: hold)
        } catch {
          if !layout.hasMemory(byte) { continue }  // no pages to list: any refusal is right
          if options.contains(.retain), declared == .none, case .extractionUnsupported = error {
            // A kind that holds nothing may refuse to be asked for a hold, if the refusal holds nothing.
            if retention == nil, let problem = hold.afterRelease() {
              retention = ProbeFinding(check: "retention", message: "\(call()) was refused, but \(problem)")
            }
            continue
          }
          extraction = extraction ?? ProbeFinding(check: "extraction", message: "\(call()) threw \(error)")
          continue
        }
        if let finding {
          if finding.check == "extraction" {
            extraction = extraction ?? finding
          } else {
            retention = retention ?? finding
          }
        }
      }
    }
  }
  return [extraction, retention].compactMap { $0 }
}

/// What is wrong with one extraction the kind made (under `extraction` for
/// the contract, `retention` for what it holds), or `nil`; releases it.
private func examine<S: IterSegmentSource>(
  _ result: consuming IterExtraction, call: () -> String, source: S, position: IterPosition, byte: Int,
  layout: FlatLayout, maxBytes: Int, maxPages: Int, declared: IterRetentionKind, hold: HoldCheck
) -> ProbeFinding? {
  let got = Got(pages: result.pages, offset: result.offset, count: result.count, holding: result.retentionKind)
  if let problem = contractProblem(
    result, of: source, at: position, byte: byte, layout: layout, maxBytes: maxBytes, maxPages: maxPages)
  {
    // A broken page list says nothing about holds on the right pages; dropping it releases it.
    return ProbeFinding(
      check: "extraction",
      message: "\(call()) \(problem); expected 1...\(maxBytes) bytes in at most \(maxPages) pages, the first "
        + "byte <\(layout.relativeByte(byte))> at offset \(layout.pageOffset(byte)) of page 0; got \(got.text(layout, from: byte))"
    )
  }
  var problem: String? = nil
  if result.retentionKind != declared {
    problem = "holds \(result.retentionKind) but retention(for:at:) says \(declared)"
  } else if let wrong = hold.whileHeld(result.pages) {
    problem = wrong
  }
  result.release()
  problem = problem ?? hold.afterRelease()
  return problem.map {
    ProbeFinding(check: "retention", message: "\(call()): \($0); got \(got.text(layout, from: byte))")
  }
}

/// Why `result` breaks the extraction contract, in layout terms, or `nil`.
private func contractProblem<S: IterSegmentSource>(
  _ result: borrowing IterExtraction, of source: S, at position: IterPosition, byte: Int, layout: FlatLayout,
  maxBytes: Int, maxPages: Int
) -> String? {
  if !layout.hasMemory(byte) { return "listed pages for bytes without memory" }
  guard let problem = result.contractViolation(of: source, at: position, maxBytes: maxBytes, maxPages: maxPages)
  else { return nil }
  let overLimits = result.count < 1 || result.count > maxBytes || result.pages.count > maxPages
  return (overLimits ? "broke its limits: " : "gave pages that are not a page list of the run: ")
    + layout.relativized(problem, anchor: layout.piece(at: byte))
}

/// What an extraction gave, kept past its release for a report.
private struct Got {
  var pages: [IterPage]
  var offset: Int
  var count: Int
  var holding: IterRetentionKind

  /// The pages (up to 8), offset, count and retention, in layout terms.
  func text(_ layout: FlatLayout, from byte: Int) -> String {
    let anchor = layout.piece(at: byte)
    let listed = pages.prefix(8).map { "<\(layout.relative($0.address, anchor: anchor))>" }.joined(separator: ", ")
    let more = pages.count > 8 ? ", ... (\(pages.count) in all)" : ""
    return "pages [\(listed)\(more)], offset \(offset), count \(count), holding \(holding)"
  }
}

extension FlatLayout {
  /// Logical byte `byte`, as ``relative(_:)`` names its address.
  func relativeByte(_ byte: Int) -> String {
    let k = piece(at: byte)
    let p = pieces[k]
    return p.base == nil ? "no memory" : relative(p.address &+ UInt(byte - p.start), anchor: k)
  }

  /// Where logical byte `byte` sits in its page.
  func pageOffset(_ byte: Int) -> Int {
    let p = pieces[piece(at: byte)]
    return Int((p.address &+ UInt(byte - p.start)) & UInt(IterPage.size - 1))
  }
}
