//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore

/// How the suite reads the holds on one page: the kind's own per-page probe,
/// and, for a kind that declares `.pin`, what the kernel says is locked.
struct PageHoldReader {
  /// Holds on the page now.
  let read: (IterPage) -> Int
  /// Whether `read` counts holds (each hold adds one) or only says whether
  /// the page is locked at all (a lock taken twice still reads 1).
  let counts: Bool
  /// What the readings are, for a report.
  let name: String

  /// The readers for an extraction that declares `declared`: the kind's
  /// probe (not for `.ownerReference`, which holds the owner and not the
  /// pages), and for `.pin` the kernel's lock flag whether or not the kind
  /// has a probe: a pin is a lock, whatever the kind counts beside it.
  static func forRetention(_ declared: IterRetentionKind, probe: (@Sendable (IterPage) -> Int)?) -> [PageHoldReader] {
    var readers: [PageHoldReader] = []
    if let probe, declared != .ownerReference {
      readers.append(PageHoldReader(read: probe, counts: true, name: "pageHoldProbe"))
    }
    if declared == .pin && _kernelLockFlagIsObservable {
      readers.append(
        PageHoldReader(read: { isLockedByKernel($0) ? 1 : 0 }, counts: false, name: "the kernel's lock flag"))
    }
    return readers
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

/// Whether a page this process locks reads as locked: `false` where
/// `mlock(2)` is refused or replaced by a call that locks nothing (the
/// sanitizer runtimes).
let _kernelLockFlagIsObservable: Bool = {
  let size = IterPage.size
  guard let page = unsafe mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
    page != MAP_FAILED
  else { return false }
  defer { _ = unsafe munmap(page, size) }
  unsafe page.storeBytes(of: 1, as: UInt8.self)
  guard unsafe mlock(page, size) == 0 else { return false }
  defer { _ = unsafe munlock(page, size) }
  return isLockedByKernel(IterPage(address: UInt(bitPattern: page)))
}()

/// The pages under the first `count` bytes from logical byte `from`: every
/// page a correct run from there could list.
func candidatePages(_ layout: FlatLayout, from: Int, count: Int) -> [UInt] {
  let mask = UInt(IterPage.size - 1)
  var pages: [UInt] = []
  var seen: Set<UInt> = []
  for (piece, skip, length) in layout.covering(from, min(count, layout.total - from)) where piece.base != nil {
    var page = (piece.address &+ UInt(skip)) & ~mask
    let end = piece.address &+ UInt(skip + length)
    while page < end {
      if seen.insert(page).inserted { pages.append(page) }
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
  let readers: [PageHoldReader]
  let layout: FlatLayout
  /// The piece the run starts in, to name its pages after.
  let anchor: Int
  var kindBefore: Int?
  /// Per reader: the reading of every page the run could list.
  var pagesBefore: [[UInt: Int]] = []

  /// Reads the holds before the extraction, on every page it could list.
  init(
    declared: IterRetentionKind, probe: (@Sendable () -> Int)?, pageProbe: (@Sendable (IterPage) -> Int)?,
    layout: FlatLayout, from byte: Int, candidates: () -> [UInt]
  ) {
    self.declared = declared
    self.probe = probe
    self.readers = PageHoldReader.forRetention(declared, probe: pageProbe)
    self.layout = layout
    self.anchor = layout.piece(at: byte)
    kindBefore = probe?()
    if !readers.isEmpty {
      let pages = candidates()
      pagesBefore = readers.map { reader in
        Dictionary(uniqueKeysWithValues: pages.map { ($0, reader.read(IterPage(address: $0))) })
      }
    }
  }

  /// What is wrong while the extraction of `pages` is held, if anything.
  func whileHeld(_ pages: [IterPage]) -> String? {
    if let kindBefore, let probe {
      let now = probe()
      if declared == .none && now != kindBefore {
        return "retentionProbe went from \(kindBefore) to \(now) while an extraction that declares none was held"
      }
      if declared != .none && now <= kindBefore {
        return
          "retentionProbe stayed at \(kindBefore) (now \(now)) while an extraction that declares \(declared) was held"
      }
      // A probe counts extractions or pages; anything else is a hold taken twice, or half.
      let distinct = Set(pages.map(\.address)).count
      if declared != .none && ![1, pages.count, distinct].contains(now - kindBefore) {
        return "retentionProbe went up by \(now - kindBefore) (from \(kindBefore) to \(now)) while an extraction of "
          + "\(pages.count) pages that declares \(declared) was held; want 1 (one per extraction) or "
          + "\(distinct == pages.count ? "\(distinct)" : "\(distinct) or \(pages.count)") (one per page)"
      }
    }
    var listed: [UInt: Int] = [:]
    for page in pages { listed[page.address, default: 0] += 1 }
    for (reader, before) in zip(readers, pagesBefore) {
      for (k, page) in pages.enumerated() {
        guard let was = before[page.address] else { continue }
        let times = listed[page.address, default: 1]
        let now = reader.read(page)
        let want: Int
        if declared == .none {
          want = was
        } else if reader.counts {
          want = was + times
        } else if was != 0 {
          continue  // locked before the extraction: a lock flag cannot show another hold
        } else {
          want = 1
        }
        if now != want {
          return "page \(k) (<\(layout.relative(page.address, anchor: anchor))>, listed "
            + "\(times == 1 ? "once" : "\(times) times")) reads \(now) on \(reader.name) while held, \(was) before; "
            + "want \(want) for \(declared)"
        }
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
    for (reader, before) in zip(readers, pagesBefore) {
      for (page, was) in before.sorted(by: { $0.key < $1.key }) {
        let now = reader.read(IterPage(address: page))
        if now != was {
          return "after release <\(layout.relative(page, anchor: anchor))> reads \(now) on \(reader.name), \(was) "
            + "before the extraction"
        }
      }
    }
    return nil
  }
}
