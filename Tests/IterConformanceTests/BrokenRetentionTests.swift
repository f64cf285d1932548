//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterConformance
import IterCore
import IterTestSupport
import Synchronization
import Testing

/// A page counter of the kind these tests write: holds per page address.
final class PageCounts: Sendable {
  private let counts = Mutex<[UInt: Int]>([:])

  /// Adds `delta` to every page under `count` bytes from `start`.
  func add(_ start: UInt, _ count: Int, _ delta: Int, firstPageOnly: Bool = false) {
    let size = UInt(IterPage.size)
    var page = start & ~(size - 1)
    let end = firstPageOnly ? page + 1 : start + UInt(count)
    counts.withLock { counts in
      while page < end {
        counts[page, default: 0] += delta
        page += size
      }
    }
  }

  /// The holds on `page` now.
  func read(_ page: IterPage) -> Int { counts.withLock { $0[page.address, default: 0] } }
}

/// Whether this process may lock a page with `mlock(2)` (`RLIMIT_MEMLOCK`
/// above a page, or `CAP_IPC_LOCK`).
let mlockIsAllowed: Bool = {
  var p: UnsafeMutableRawPointer? = nil
  guard posix_memalign(&p, IterPage.size, IterPage.size) == 0, let p else { return false }
  defer { free(p) }
  guard mlock(p, IterPage.size) == 0 else { return false }
  munlock(p, IterPage.size)
  return true
}()

/// The ranges a test locked, so that it can unlock what a broken kind left locked.
final class LockedRanges: Sendable {
  private let ranges = Mutex<[(UInt, Int)]>([])
  func lock(_ start: UInt, _ count: Int) {
    _ = mlock(UnsafeRawPointer(bitPattern: start), count)
    ranges.withLock { $0.append((start, count)) }
  }
  func unlock(_ start: UInt, _ count: Int) { _ = munlock(UnsafeRawPointer(bitPattern: start), count) }
  func unlockAll() { for (start, count) in ranges.withLock({ $0 }) { unlock(start, count) } }
}

/// Kinds that hold the wrong things: every one is reported under `retention`,
/// page by page, with the readings; the kinds that hold the right things
/// stay clean. Locks are real `mlock(2)` locks, so these run one at a time
/// among the package's tests that pin.
@Suite("Retention is checked for what it really holds", .serialized, .pinsExclusively)
struct BrokenRetentionTests {
  /// A kind that declares `declared` and takes `hold` on every run it lists.
  func check(
    _ name: String, declared: IterRetentionKind, options: ConformanceOptions = BrokenKindTests.options,
    hold: @escaping (UInt, Int) -> IterRetention
  ) -> ConformanceReport {
    BrokenKindTests().check(name, options: options) { inner in
      var kind = BrokenKindTests.Kind(inner: inner)
      kind.retentionKind = declared
      kind.extract = { kind, position, maxBytes, maxPages throws(IterError) in
        try rightRun(kind, position, maxBytes, maxPages, hold: hold)
      }
      return kind
    }
  }

  func withPageProbe(_ counts: PageCounts) -> ConformanceOptions {
    var options = BrokenKindTests.options
    options.pageHoldProbe = { counts.read($0) }
    return options
  }

  /// A kind that declares `declared`, adds `take` to the count of each page it
  /// lists and subtracts `giveBack` when the extraction is released.
  func counting(
    _ name: String, declared: IterRetentionKind, take: Int, giveBack: Int, firstPageOnly: Bool = false
  ) -> ConformanceReport {
    let counts = PageCounts()
    return check(name, declared: declared, options: withPageProbe(counts)) { start, count in
      counts.add(start, count, take, firstPageOnly: firstPageOnly)
      return IterRetention(kind: declared) { counts.add(start, count, -giveBack, firstPageOnly: firstPageOnly) }
    }
  }

  // MARK: - Page references, with the kind's own per-page probe

  @Test func pageReferencesCountedRightAreClean() {
    let report = counting("page-ref", declared: .pageReference, take: 1, giveBack: 1)
    #expect(report.isClean, "\(report)")
    #expect(report.layoutsChecked == 3)
  }

  /// A counting mistake: the kind's declaration, what it adds per page when
  /// it extracts and takes back on release, and what the report must say.
  struct CountingMistake: Sendable, CustomTestStringConvertible {
    var name: String
    var declared: IterRetentionKind
    var take: Int
    var giveBack: Int
    var firstPageOnly = false
    var reported: [String]
    var testDescription: String { name }
  }

  static let countingMistakes: [CountingMistake] = [
    .init(
      name: "no reference taken", declared: .pageReference, take: 0, giveBack: 0,
      reported: [
        "page 0 (<segment 0 page+0>, listed once) reads 0 on pageHoldProbe while held, 0 before; want 1 for page-reference"
      ]),
    .init(
      name: "two references taken", declared: .pageReference, take: 2, giveBack: 2,
      reported: ["reads 2 on pageHoldProbe while held, 0 before; want 1"]),
    .init(
      name: "a reference on the first page only", declared: .pageReference, take: 1, giveBack: 1, firstPageOnly: true,
      reported: ["page 1 (", "reads 0 on pageHoldProbe while held, 0 before; want 1"]),
    .init(
      name: "never released", declared: .pageReference, take: 1, giveBack: 0,
      reported: ["after release <segment 0 page+0> reads 1 on pageHoldProbe, 0 before the extraction"]),
    .init(
      name: "holds taken by a kind that declares none", declared: .none, take: 1, giveBack: 1,
      reported: ["reads 1 on pageHoldProbe while held, 0 before; want 0 for none"]),
  ]

  @Test(arguments: countingMistakes)
  func countingMistakeIsReported(_ mistake: CountingMistake) throws {
    let report = counting(
      mistake.name, declared: mistake.declared, take: mistake.take, giveBack: mistake.giveBack,
      firstPageOnly: mistake.firstPageOnly)
    let v = try #require(firstViolation(report, "retention"))
    for text in mistake.reported { #expect(v.message.contains(text), "missing '\(text)' in \(v)") }
  }

  /// The kind's own counter does not move while an owner reference is held.
  @Test func kindProbeThatStaysPutIsReported() throws {
    var options = BrokenKindTests.options
    options.retentionProbe = { 0 }
    let report = check("owner-ref-none", declared: .ownerReference, options: options) { _, _ in
      IterRetention(kind: .ownerReference) {}
    }
    let v = try #require(firstViolation(report, "retention"))
    #expect(
      v.message.contains(
        "retentionProbe stayed at 0 (now 0) while an extraction that declares owner-reference was held"), "\(v)")
  }

  /// The kind's own counter goes up by two for a run of one page: a hold taken twice.
  @Test func kindProbeThatCountsTwiceIsReported() throws {
    let held = Mutex(0)
    var options = BrokenKindTests.options
    options.retentionProbe = { held.withLock { $0 } }
    let report = check("owner-ref-twice", declared: .ownerReference, options: options) { _, _ in
      held.withLock { $0 += 2 }
      return IterRetention(kind: .ownerReference) { held.withLock { $0 -= 2 } }
    }
    let v = try #require(firstViolation(report, "retention"))
    #expect(
      v.message.contains(
        "retentionProbe went up by 2 (from 0 to 2) while an extraction of 1 pages that declares owner-reference was held; want 1 (one per extraction) or 1 (one per page)"
      ), "\(v)")
  }

  // MARK: - Pins, against the kernel's lock flag (no probe from the author)

  /// Declares a pin, locks nothing: caught without the author writing a probe.
  @Test(
    .enabled(
      if: ConformanceOptions.kernelLockFlagIsObservable,
      "skipped: the kernel's lock flag cannot be read here (mlock(2) refused, or replaced by a sanitizer runtime)"))
  func pinThatLocksNothingIsReported() throws {
    let report = check("pin-nothing", declared: .pin) { _, _ in IterRetention(kind: .pin) {} }
    let v = try #require(firstViolation(report, "retention"))
    #expect(v.message.contains("reads 0 on the kernel's lock flag while held, 0 before; want 1 for pin"), "\(v)")
  }

  /// Declares a pin and counts it on its own per-page probe, but locks nothing:
  /// the kernel's lock flag is read whatever the kind counts beside it.
  @Test(
    .enabled(
      if: ConformanceOptions.kernelLockFlagIsObservable,
      "skipped: the kernel's lock flag cannot be read here (mlock(2) refused, or replaced by a sanitizer runtime)"))
  func pinCountedButNotLockedIsReported() throws {
    let v = try #require(firstViolation(counting("pin-counted", declared: .pin, take: 1, giveBack: 1), "retention"))
    #expect(v.message.contains("reads 0 on the kernel's lock flag while held, 0 before; want 1 for pin"), "\(v)")
  }

  @Test(.enabled(if: mlockIsAllowed, "skipped: mlock(2) is refused here (RLIMIT_MEMLOCK too low, no CAP_IPC_LOCK)"))
  func pinThatLocksAndUnlocksIsClean() {
    let locks = LockedRanges()
    defer { locks.unlockAll() }
    let report = check("pin", declared: .pin) { start, count in
      locks.lock(start, count)
      return IterRetention(kind: .pin) { locks.unlock(start, count) }
    }
    #expect(report.isClean, "\(report)")
  }

  @Test(
    .enabled(
      if: ConformanceOptions.kernelLockFlagIsObservable,
      "skipped: the kernel's lock flag cannot be read here (mlock(2) refused, or replaced by a sanitizer runtime)"))
  func pinNeverUnlockedIsReported() throws {
    let locks = LockedRanges()
    defer { locks.unlockAll() }
    let report = check("pin-leak", declared: .pin) { start, count in
      locks.lock(start, count)
      return IterRetention(kind: .pin) {}
    }
    let v = try #require(firstViolation(report, "retention"))
    #expect(v.message.contains("after release <segment 0 page+0> reads 1 on the kernel's lock flag, 0 before"), "\(v)")
  }
}
