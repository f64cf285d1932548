//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

internal import Synchronization

extension PagePool {
  /// Test hook: sets a live folio's reference count directly (to reach the
  /// overflow limit without two billion `get`s). Not API.
  ///
  /// - Complexity: O(1).
  package func _setReferenceCountForTesting(_ folio: Folio, to count: Int) throws(PagePoolError) {
    try _check(folio)
    precondition(count >= 1 && count <= _PoolState.referenceLimit, "count \(count) out of range")
    _state.withLock { state in
      state.totalReferences += count - Int(state.references[folio.frame])
      state.references[folio.frame] = Int32(count)
    }
  }

  /// The most references one folio may carry.
  package static var _referenceLimit: Int { _PoolState.referenceLimit }
}
