//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// What ``checkIterConformance(of:bytes:options:makeSource:)`` found.
///
/// Empty ``violations`` means the kind passed. Each violation names the check,
/// the layout and direction it ran on, and what was wrong; a violation of the
/// model-based run also carries the seed and the shortest operation sequence
/// found that still fails.
///
/// Sendable: plain values and strings.
public struct ConformanceReport: Sendable, CustomStringConvertible {
  /// One thing the kind got wrong.
  ///
  /// Sendable: plain values and strings.
  public struct Violation: Sendable, CustomStringConvertible {
    /// The check that failed: `factory`, `segments`, `bulk`, `bytes`, `directions`,
    /// `walk`, `extraction`, `retention`, `determinism` or `model`.
    public var check: String
    /// The layout and direction it ran on.
    public var context: String
    /// What was wrong, with the values. Addresses are named relative to the
    /// layout (`segment 3 base+0x1c0`, `segment 3 page+1`), so that a rerun
    /// with the same seed prints the same text; an extraction violation names
    /// the call (position, limits, options), what was expected, what came
    /// back (pages, offset, count, retention) and the layout's segments.
    public var message: String
    /// The seed the run was drawn from (set `ITER_TEST_SEED` to rerun it).
    public var seed: UInt64?
    /// The shortest failing sequence of operations found, for a model violation.
    public var minimalSequence: [String]

    /// Creates a violation.
    public init(check: String, context: String, message: String, seed: UInt64? = nil, minimalSequence: [String] = []) {
      self.check = check
      self.context = context
      self.message = message
      self.seed = seed
      self.minimalSequence = minimalSequence
    }

    /// The check, the context and the message on one line, then the seed and
    /// the numbered minimal failing sequence, if any.
    public var description: String {
      var text = "[\(check)] \(context): \(message)"
      if let seed { text += " (seed \(seed))" }
      if !minimalSequence.isEmpty {
        text += "\n    minimal failing sequence (\(minimalSequence.count) steps):"
        for (k, op) in minimalSequence.enumerated() { text += "\n      \(k + 1). \(op)" }
      }
      return text
    }
  }

  /// The kind's name, as given.
  public var kind: String
  /// Everything that failed, in the order found.
  public var violations: [Violation] = []
  /// How many model operations ran in all.
  public var operationsRun = 0
  /// How many layouts were checked.
  public var layoutsChecked = 0

  /// An empty report for `kind`.
  public init(kind: String) {
    self.kind = kind
  }

  /// Whether the kind passed every check.
  public var isClean: Bool { violations.isEmpty }

  /// Whether some violation came from the named check.
  public func violates(_ check: String) -> Bool { violations.contains { $0.check == check } }

  /// `conforms` with the layouts and operations run, or every violation, one
  /// per paragraph.
  public var description: String {
    if isClean {
      return "\(kind): conforms (\(layoutsChecked) layouts, \(operationsRun) model operations)"
    }
    return "\(kind): \(violations.count) violation(s)\n  "
      + violations.map(\.description).joined(separator: "\n  ")
  }
}
