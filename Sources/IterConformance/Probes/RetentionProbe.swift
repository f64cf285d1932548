//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore

/// How the suite reads the holds on one page: the kind's own per-page probe,
/// or, for a kind that declares `.pin` and has none, what
/// the kernel says is locked.
struct PageHoldReader {
  /// Holds on the page now.
  let read: (IterPage) -> Int
  /// Whether `read` counts holds (each hold adds one) or only says whether
  /// the page is locked at all (a lock taken twice still reads 1).
  let counts: Bool
  /// What the readings are, for a report.
  let name: String

  /// The reader for an extraction that declares `declared`, if any.
  static func forRetention(_ declared: IterRetentionKind, probe: (@Sendable (IterPage) -> Int)?) -> PageHoldReader? {
    switch declared {
    case .pin, .pageReference:
      if let probe { return PageHoldReader(read: probe, counts: true, name: "pageHoldProbe") }
      if declared == .pin {
        return PageHoldReader(read: { isLockedByKernel($0) ? 1 : 0 }, counts: false, name: "the kernel's lock flag")
      }
      return nil
    case .none:
      return probe.map { PageHoldReader(read: $0, counts: true, name: "pageHoldProbe") }
    case .ownerReference:
      // The owner, not the pages, is held: a per-page count says nothing.
      return nil
    }
  }
}

/// Whether the kernel has the page locked in RAM (`VM_LOCKED`, what
/// `mlock(2)` sets and `/proc/self/smaps` counts as `Locked:`).
///
/// `msync(2)` with `MS_INVALIDATE` fails with `EBUSY` on a locked mapping and
/// does nothing otherwise on Linux; an address that is not mapped fails with
/// `ENOMEM` and reads as not locked. One system call, no file to parse.
func isLockedByKernel(_ page: IterPage) -> Bool {
  let result = unsafe msync(UnsafeMutableRawPointer(bitPattern: page.address), IterPage.size, MS_INVALIDATE)
  return result != 0 && errno == EBUSY
}

/// The pages under the first `count` bytes from logical byte `from`: every
/// page a correct run from there could list.
func candidatePages(_ layout: FlatLayout, from: Int, count: Int) -> [UInt] {
  let mask = UInt(IterPage.size - 1)
  var pages: [UInt] = []
  for (piece, skip, length) in layout.covering(from, min(count, layout.total - from)) where piece.base != nil {
    var page = (piece.address &+ UInt(skip)) & ~mask
    let end = piece.address &+ UInt(skip + length)
    while page < end {
      if !pages.contains(page) { pages.append(page) }
      page &+= UInt(IterPage.size)
    }
  }
  return pages
}

/// What one extraction must do to the kind's holds, read before, while it is
/// held and after its release.
struct HoldCheck {
  let declared: IterRetentionKind
  let probe: (@Sendable () -> Int)?
  let reader: PageHoldReader?
  let layout: FlatLayout
  var kindBefore: Int?
  var pagesBefore: [UInt: Int] = [:]

  /// Reads the holds before the extraction, on every page it could list.
  init(
    declared: IterRetentionKind, probe: (@Sendable () -> Int)?, pageProbe: (@Sendable (IterPage) -> Int)?,
    layout: FlatLayout, candidates: () -> [UInt]
  ) {
    self.declared = declared
    self.probe = probe
    self.reader = PageHoldReader.forRetention(declared, probe: pageProbe)
    self.layout = layout
    kindBefore = probe?()
    if let reader { for page in candidates() { pagesBefore[page] = reader.read(IterPage(address: page)) } }
  }

  /// What is wrong while the extraction of `pages` is held, if anything.
  func whileHeld(_ pages: [IterPage]) -> String? {
    if let kindBefore, let probe {
      let now = probe()
      if declared == .none && now != kindBefore {
        return "retentionProbe went from \(kindBefore) to \(now) while an extraction that declares none was held"
      }
      if declared != .none && now <= kindBefore {
        return "retentionProbe stayed at \(kindBefore) (now \(now)) while an extraction that declares \(declared) was held"
      }
      // A probe counts extractions or pages; anything else is a hold taken twice, or half.
      let distinct = Set(pages.map(\.address)).count
      if declared != .none && ![1, pages.count, distinct].contains(now - kindBefore) {
        return "retentionProbe went up by \(now - kindBefore) (from \(kindBefore) to \(now)) while an extraction of "
          + "\(pages.count) pages that declares \(declared) was held; want 1 (one per extraction) or "
          + "\(distinct == pages.count ? "\(distinct)" : "\(distinct) or \(pages.count)") (one per page)"
      }
    }
    guard let reader else { return nil }
    var listed: [UInt: Int] = [:]
    for page in pages { listed[page.address, default: 0] += 1 }
    for (k, page) in pages.enumerated() {
      guard let before = pagesBefore[page.address] else { continue }
      let now = reader.read(page)
      let want: Int
      if declared == .none {
        want = before
      } else if reader.counts {
        want = before + listed[page.address]!
      } else if before != 0 {
        continue  // locked before the extraction: a lock flag cannot show another hold
      } else {
        want = 1
      }
      if now != want {
        let times = listed[page.address]! == 1 ? "once" : "\(listed[page.address]!) times"
        return "page \(k) (<\(layout.relative(page.address))>, listed \(times)) reads \(now) on \(reader.name) while "
          + "held, \(before) before; want \(want) for \(declared)"
      }
    }
    return nil
  }

  /// What is wrong after the release, if anything.
  func afterRelease() -> String? {
    if let kindBefore, let probe, probe() != kindBefore {
      return "after release retentionProbe reads \(probe()), \(kindBefore) before the extraction "
        + "(retentions held: \(probe() - kindBefore) more)"
    }
    guard let reader else { return nil }
    for (page, before) in pagesBefore.sorted(by: { $0.key < $1.key }) {
      let now = reader.read(IterPage(address: page))
      if now != before {
        return "after release <\(layout.relative(page))> reads \(now) on \(reader.name), \(before) before the extraction"
      }
    }
    return nil
  }
}
