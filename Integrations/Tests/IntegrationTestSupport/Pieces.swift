//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterConformance
public import IterCore

/// Cuts `bytes` into consecutive pieces whose lengths are drawn from `seed`:
/// from one piece up to `maxPieces`, with empty pieces among them, so that
/// every layout a factory builds from them has seed-chosen segment bounds.
///
/// - Returns: Pieces that join back to `bytes`.
public func seededPieces(of bytes: [UInt8], seed: UInt64, maxPieces: Int = 12) -> [[UInt8]] {
  var rng = SeededGenerator(seed: seed)
  let count = Int.random(in: 1...maxPieces, using: &rng)
  var cuts = (0..<(count - 1)).map { _ in Int.random(in: 0...bytes.count, using: &rng) }
  cuts.sort()
  var pieces: [[UInt8]] = []
  var start = 0
  for cut in cuts + [bytes.count] {
    pieces.append(Array(bytes[start..<cut]))
    start = cut
  }
  return pieces
}

/// A number drawn from `seed` and `salt` in `range`: for a factory's other
/// choices (a lead-in, a slice, spare capacity), apart from the cuts.
public func seededChoice(_ range: ClosedRange<Int>, seed: UInt64, salt: UInt64) -> Int {
  var rng = SeededGenerator(seed: seed ^ salt)
  return Int.random(in: range, using: &rng)
}

/// The sources a test built, so that a retention probe can add up what they
/// hold: the suite calls a factory many times, and each call makes a new one.
public final class HoldLog<Source: SendableMetatype>: @unchecked Sendable {
  // Safe because each test owns its log and the suite runs its checks in order.
  private var sources: [Source] = []
  private let holds: (Source) -> Int

  /// A log that reads each source's holds with `holds`.
  public init(holds: @escaping (Source) -> Int) { self.holds = holds }

  /// Keeps `source` and returns it.
  public func record(_ source: Source) -> Source {
    sources.append(source)
    return source
  }

  /// The holds of every source in the log, added up.
  public var heldExtractions: Int { sources.reduce(0) { $0 + holds($1) } }
}

/// Runs the conformance suite over the sources `makeSource` builds, with a
/// retention probe that adds up `holds` over every source it built, plus
/// `otherHolds` (for members of another kind in a chain).
///
/// - Returns: The report, for the test to record and check, and the options it ran with.
public func checkConformance<S: IterSegmentSource & SendableMetatype>(
  of kind: String, holds: @escaping (S) -> Int = { _ in 0 }, otherHolds: @escaping @Sendable () -> Int = { 0 },
  makeSource: (_ bytes: [UInt8], _ seed: UInt64) throws -> S
) -> (report: ConformanceReport, options: ConformanceOptions) {
  let log = HoldLog<S>(holds: holds)
  var options = ConformanceOptions()
  options.retentionProbe = { log.heldExtractions + otherHolds() }
  let report = checkIterConformance(of: kind, options: options) { bytes, seed in
    log.record(try makeSource(bytes, seed))
  }
  return (report, options)
}
