//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// The holds a ``BioVecMapper`` took while it extracted pages, handed back
/// to the caller to release once the device is done with every request.
///
/// Released exactly once: by ``release()`` or at the end of its life.
/// Releases run in the order the pages were extracted.
///
/// The corresponding kernel step is `bio_release_pages` at bio completion.
///
/// Not Sendable: it owns raw storage that one owner uses; move it to another task (`consume`, `sending`) rather than
/// share it.
@safe
public struct BioVecRetentions: ~Copyable {
  @usableFromInline internal var _base: UnsafeMutablePointer<IterRetention>?
  @usableFromInline internal var _count: Int
  @usableFromInline internal var _capacity: Int

  /// No holds.
  ///
  /// - Complexity: O(1).
  @inlinable
  public init() {
    unsafe _base = nil
    _count = 0
    _capacity = 0
  }

  /// The number of holds (extractions that held something).
  @inlinable public var count: Int { _count }

  /// What the hold at `index` holds.
  ///
  /// - Precondition: `0 <= index < count`.
  /// - Complexity: O(1).
  public func kind(at index: Int) -> IterRetentionKind {
    precondition(index >= 0 && index < _count, "BioVecRetentions index \(index) out of range 0..<\(_count)")
    return unsafe _base.unsafelyUnwrapped[index].kind
  }

  /// Keeps `retention` until release (one that holds nothing is released at once).
  ///
  /// - Complexity: amortised O(1).
  @inlinable
  public mutating func append(_ retention: consuming IterRetention) {
    if retention.kind == .none {
      retention.release()
      return
    }
    if _count == _capacity { _grow() }
    unsafe (_base.unsafelyUnwrapped + _count).initialize(to: retention)
    _count += 1
  }

  @usableFromInline
  internal mutating func _grow() {
    let capacity = Swift.max(8, _capacity * 2)
    let fresh = UnsafeMutablePointer<IterRetention>.allocate(capacity: capacity)
    if let old = unsafe _base {
      unsafe fresh.moveInitialize(from: old, count: _count)
      unsafe old.deallocate()
    }
    unsafe _base = fresh
    _capacity = capacity
  }

  /// Releases every hold, in order.
  ///
  /// - Complexity: O(*n*) plus each kind's release.
  public consuming func release() {}

  deinit {
    if let base = unsafe _base {
      unsafe base.deinitialize(count: _count)
      unsafe base.deallocate()
    }
  }
}

@available(*, unavailable, message: "it owns raw storage that one owner uses")
extension BioVecRetentions: Sendable {}
