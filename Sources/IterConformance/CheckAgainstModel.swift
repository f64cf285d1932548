//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// A divergence between a cursor and the flat-array model, from
/// ``checkAgainstModel(_:direction:operations:seed:label:retentionProbe:)``.
///
/// Sendable: plain values and strings, as every `Error` is.
public struct ModelCheckFailure: Error, CustomStringConvertible {
  /// The label given.
  public let label: String
  /// The seed of the run.
  public let seed: UInt64
  /// The 1-based step at which the run diverged.
  public let step: Int
  /// What differed, with the values.
  public let message: String
  /// The shortest failing sequence of operations found.
  public let minimalSequence: [String]

  /// The label, step, seeds and message, then the numbered minimal failing sequence.
  public var description: String {
    "model check '\(label)' diverged at step \(step) (seed \(seed); the test's base seed is "
      + "ITER_TEST_SEED=\(TestSeed.base)): \(message)\n  minimal failing sequence:\n    "
      + minimalSequence.enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: "\n    ")
  }
}

/// Runs `operations` seeded random operations on `IovIter(source, direction)`
/// and on a flat-array model of the same bytes, and throws at the first
/// divergence, with the failing run shrunk to a minimal sequence.
///
/// Every cursor operation is exercised: copies in every form and the `full`
/// forms, zero fill, iterator-to-iterator copy, checksummed copies, the chunk
/// walker and span chunks, advance, revert, truncate, reexpand, save and
/// restore, counts, alignment, gap alignment, npages, gather export, split,
/// extraction with retention release, and the typed errors of every misuse
/// (each of which must leave the cursor unchanged).
///
/// A destination's memory is overwritten.
///
/// - Parameters:
///   - source: The source; its segments must not change during the run.
///   - direction: The cursor's direction.
///   - operations: How many operations to run.
///   - seed: The seed of the run.
///   - label: A name for the failure message.
///   - retentionProbe: Counts the retentions the kind holds, if it can tell.
/// - Throws: ``ModelCheckFailure``.
public func checkAgainstModel<S: IterSegmentSource>(
  _ source: S, direction: IterDirection, operations: Int, seed: UInt64, label: String,
  retentionProbe: (@Sendable () -> Int)? = nil
) throws(ModelCheckFailure) {
  let outcome = runModel(
    makeSource: { source }, direction: direction, operations: operations, seed: seed, probe: retentionProbe,
    shrinkBudget: 200)
  if let failure = outcome.failure {
    throw ModelCheckFailure(
      label: label, seed: seed, step: failure.step, message: failure.message, minimalSequence: failure.sequence)
  }
}
