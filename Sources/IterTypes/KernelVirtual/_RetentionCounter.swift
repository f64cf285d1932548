//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Synchronization

/// How many extraction retentions hold an allocator's allocations right now;
/// shared by the allocator and every allocation it made.
internal final class _RetentionCounter: Sendable {
  internal let _value = Atomic<Int>(0)

  internal init() {}

  internal func increment() { _value.add(1, ordering: .relaxed) }

  internal func decrement() { _value.subtract(1, ordering: .relaxed) }

  internal var value: Int { _value.load(ordering: .relaxed) }
}
