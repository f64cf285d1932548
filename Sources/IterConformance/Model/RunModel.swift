//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore

/// The outcome of one model-based run.
struct ModelOutcome {
  struct Failure {
    var step: Int
    var message: String
    /// The operations of the shortest failing sequence found.
    var sequence: [String]
  }
  var operationsRun: Int
  var failure: Failure?
}

func divergenceMessage(_ error: any Error) -> String {
  (error as? ModelDivergence)?.message ?? "\(error)"
}

/// Replays `operations` on a fresh source; returns the index and message of
/// the first divergence, or nil.
func replay<S: IterSegmentSource>(
  _ operations: [ModelOperation], makeSource: () throws -> S, direction: IterDirection, seed: UInt64,
  probe: (@Sendable () -> Int)?
) -> (index: Int, message: String)? {
  do {
    let runner = try ModelRunner(
      source: makeSource(), direction: direction, countSeed: seed, memorySeed: seed ^ 0x5EED, retentionProbe: probe)
    for (index, op) in operations.enumerated() {
      do { try runner.run(op) } catch { return (index, divergenceMessage(error)) }
    }
    do { try runner.checkMemory() } catch { return (operations.count, divergenceMessage(error)) }
    return nil
  } catch {
    return (0, "building the cursor threw \(error)")
  }
}

/// Runs `operations` random operations; on a divergence, shrinks the sequence
/// (delta debugging: drop chunks of operations while the run still fails).
func runModel<S: IterSegmentSource>(
  makeSource: () throws -> S, direction: IterDirection, operations: Int, seed: UInt64,
  probe: (@Sendable () -> Int)?, shrinkBudget: Int
) -> ModelOutcome {
  var rng = SeededGenerator(seed: seed)
  let runner: ModelRunner<S>
  do {
    runner = try ModelRunner(
      source: makeSource(), direction: direction, countSeed: seed, memorySeed: seed ^ 0x5EED, retentionProbe: probe)
  } catch {
    return ModelOutcome(
      operationsRun: 0, failure: .init(step: 0, message: "building the cursor threw \(error)", sequence: []))
  }
  var ops: [ModelOperation] = []
  for step in 0..<operations {
    let op = ModelOperation.random(
      count: runner.count, consumed: runner.pos, reexpandLimit: runner.extent - runner.pos, using: &rng)
    ops.append(op)
    do {
      try runner.run(op)
      if step % 257 == 256 { try runner.checkMemory() }
    } catch {
      let shrunk = shrink(
        ops, makeSource: makeSource, direction: direction, seed: seed, probe: probe, budget: shrinkBudget)
      return ModelOutcome(
        operationsRun: step + 1,
        failure: .init(step: step + 1, message: divergenceMessage(error), sequence: shrunk.map(\.description)))
    }
  }
  do {
    try runner.checkMemory()
  } catch {
    return ModelOutcome(
      operationsRun: operations, failure: .init(step: operations, message: divergenceMessage(error), sequence: []))
  }
  return ModelOutcome(operationsRun: operations, failure: nil)
}

private func shrink<S: IterSegmentSource>(
  _ failing: [ModelOperation], makeSource: () throws -> S, direction: IterDirection, seed: UInt64,
  probe: (@Sendable () -> Int)?, budget: Int
) -> [ModelOperation] {
  var current = failing
  var replays = 0
  var chunk = max(1, current.count / 2)
  // Bounded by replays and by time: a kind whose segments change between calls
  // can make every replay expensive, and a report now beats a shorter one later.
  let clock = ContinuousClock()
  let deadline = clock.now.advanced(by: .seconds(3))
  func inBudget() -> Bool { replays < budget && clock.now < deadline }
  while chunk >= 1 && inBudget() {
    var start = 0
    var removedAny = false
    while start < current.count && inBudget() {
      var candidate = current
      candidate.removeSubrange(start..<min(start + chunk, candidate.count))
      replays += 1
      if let failure = replay(candidate, makeSource: makeSource, direction: direction, seed: seed, probe: probe) {
        current = Array(candidate.prefix(failure.index + 1))
        removedAny = true
      } else {
        start += chunk
      }
    }
    if !removedAny { chunk /= 2 }
  }
  return current
}
