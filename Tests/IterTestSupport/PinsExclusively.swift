//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import Testing

/// One test at a time among those that pin user pages: the kernel's `VmLck`
/// is per process, so a test that reads it must not overlap another that pins.
actor _PinGate {
  static let shared = _PinGate()
  private var busy = false
  private var waiters: [CheckedContinuation<Void, Never>] = []

  func acquire() async {
    if busy {
      await withCheckedContinuation { waiters.append($0) }
    } else {
      busy = true
    }
  }

  func release() {
    if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
  }
}

/// A trait that runs each test it covers alone among the tests that pin
/// pages, across every test target of the package.
public struct PinsExclusively: SuiteTrait, TestTrait, TestScoping {
  public var isRecursive: Bool { true }

  public func provideScope(
    for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
  ) async throws {
    // The suite itself only groups its tests; lock around each test.
    if test.isSuite || testCase == nil {
      try await function()
      return
    }
    await _PinGate.shared.acquire()
    do {
      try await function()
    } catch {
      await _PinGate.shared.release()
      throw error
    }
    await _PinGate.shared.release()
  }
}

extension Trait where Self == PinsExclusively {
  /// Runs each test alone among the tests that pin user pages.
  public static var pinsExclusively: Self { PinsExclusively() }
}
