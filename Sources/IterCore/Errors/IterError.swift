//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// Everything that can go wrong with a cursor, a source or a descriptor.
///
/// Every public operation either succeeds, clamps as the kernel does (the
/// member's documentation says so), or throws one of these and leaves the
/// cursor, its source and its memory unchanged. Each case carries the values
/// that show the problem.
///
/// Sendable: plain values and strings, as every `Error` is.
public enum IterError: Error, Hashable, Sendable {
  /// The operation moves data the other way: copying into a
  /// ``IterDirection/source`` cursor or out of a ``IterDirection/destination``
  /// one. The kernel warns (`WARN_ON_ONCE(i->data_source)`) and copies nothing.
  case wrongDirection(operation: String, direction: IterDirection)

  /// The buffer kind cannot be used in this direction (discard is a
  /// destination only; the kernel `BUG()`s on `iov_iter_discard(READ)`).
  case unsupportedDirection(IterDirection, kind: IterMemoryKind)

  /// A count, length or size argument was negative.
  case negativeCount(argument: String, value: Int)

  /// A revert asked to step back further than the cursor has consumed. The
  /// kernel walks off the front of the array or `BUG()`s.
  case revertPastStart(requested: Int, consumed: Int)

  /// A reexpand asked for more bytes than remain in the described range
  /// (the kernel requires the value not to exceed the pre-truncate count).
  case reexpandPastLimit(requested: Int, limit: Int)

  /// A saved state belongs to another cursor (one not copied from this one),
  /// or describes a position this cursor's source does not have.
  case foreignState

  /// An all-or-nothing copy (the `_full` forms) needs more bytes than remain.
  case insufficientBytes(requested: Int, remaining: Int)

  /// A segment of the source is malformed: its length is negative, or it has
  /// no memory but a non-zero length where memory is needed.
  case invalidSegment(index: Int, count: Int, reason: String)

  /// Adding up lengths overflowed the limit that applies.
  case lengthOverflow(total: Int, limit: Int)

  /// The requested count is larger than the bytes the source describes.
  case countExceedsSource(count: Int, available: Int)

  /// More segments than the limit (the kernel's `UIO_MAXIOV` is 1024).
  case tooManySegments(count: Int, limit: Int)

  /// The buffer kind cannot extract pages (the kernel returns `-EFAULT` for
  /// `ITER_DISCARD`).
  case extractionUnsupported(kind: IterMemoryKind)

  /// An argument is outside the range the operation accepts.
  case invalidArgument(argument: String, value: Int, reason: String)

  /// A resource limit refused the operation (for example `RLIMIT_MEMLOCK`).
  case resourceLimit(resource: String, requested: Int, limit: Int, errno: Int32)

  /// A system call failed with `errno`.
  case systemCall(name: String, errno: Int32)

  /// An address range is not usable memory: part of it is not mapped, or it
  /// is mapped without access (`PROT_NONE`). The kernel's `-EFAULT`.
  case badAddress(address: UInt, count: Int, reason: String)

  /// The source's segments no longer agree with the cursor: they changed under
  /// it (shrank, grew, or ended early), which the protocol does not allow.
  /// Nothing was moved. `remaining` is the bytes the cursor still expected.
  case sourceChanged(segmentIndex: Int, remaining: Int, reason: String)

  /// A buffer kind's ``IterSegmentSource/extractPages(at:maxBytes:maxPages:options:)``
  /// returned a run that breaks the extraction contract (more bytes or pages
  /// than allowed, an offset outside the first page, pages that do not hold
  /// the bytes). A kind's output is input: the cursor checks it and did not move.
  case extractionContractViolated(kind: IterMemoryKind, reason: String)

  /// A copy between two cursors whose memory overlaps was refused; nothing
  /// was copied. `count` is the bytes asked for.
  case overlappingCopy(destinationAddress: UInt, sourceAddress: UInt, count: Int)
}

extension IterError: CustomStringConvertible {
  /// A sentence that names the problem and its values.
  public var description: String {
    switch self {
    case .wrongDirection(let op, let dir):
      "\(op) moves data the wrong way for a \(dir) iterator"
    case .unsupportedDirection(let dir, let kind):
      "a \(kind) buffer cannot be a \(dir)"
    case .negativeCount(let arg, let value):
      "\(arg) must not be negative (got \(value))"
    case .revertPastStart(let requested, let consumed):
      "cannot revert \(requested) bytes: only \(consumed) have been consumed"
    case .reexpandPastLimit(let requested, let limit):
      "cannot reexpand to \(requested) bytes: at most \(limit) remain in the range"
    case .foreignState:
      "the saved state does not belong to this iterator"
    case .insufficientBytes(let requested, let remaining):
      "needs \(requested) bytes but only \(remaining) remain"
    case .invalidSegment(let index, let count, let reason):
      "segment \(index) (length \(count)) is invalid: \(reason)"
    case .lengthOverflow(let total, let limit):
      "total length \(total) exceeds the limit \(limit)"
    case .countExceedsSource(let count, let available):
      "count \(count) exceeds the \(available) bytes the source describes"
    case .tooManySegments(let count, let limit):
      "\(count) segments exceed the limit of \(limit)"
    case .extractionUnsupported(let kind):
      "pages cannot be extracted from a \(kind) buffer"
    case .invalidArgument(let arg, let value, let reason):
      "\(arg) = \(value) is invalid: \(reason)"
    case .resourceLimit(let resource, let requested, let limit, let errno):
      "\(resource) refused \(requested) bytes (limit \(limit), errno \(errno))"
    case .systemCall(let name, let errno):
      "\(name) failed with errno \(errno)"
    case .badAddress(let address, let count, let reason):
      "\(count) bytes at 0x\(String(address, radix: 16)) are not usable memory: \(reason)"
    case .sourceChanged(let index, let remaining, let reason):
      "the source changed under the cursor at segment \(index) with \(remaining) bytes left: \(reason)"
    case .extractionContractViolated(let kind, let reason):
      "a \(kind) buffer's extraction broke the contract: \(reason)"
    case .overlappingCopy(let to, let from, let count):
      "copying \(count) bytes between cursors whose memory overlaps "
        + "(destination 0x\(String(to, radix: 16)), source 0x\(String(from, radix: 16)))"
    }
  }
}
