//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// The kernel's limits on one read or write, as the library applies them.
///
/// A namespace: the values are the kernel's, for 4 KiB pages.
///
/// Sendable: a namespace of constants with no instances.
public enum IterLimits {
  /// The most bytes one read or write may move (the kernel's `MAX_RW_COUNT`,
  /// `INT_MAX & PAGE_MASK`): 0x7ffff000 with 4 KiB pages.
  ///
  /// Imports cap a user buffer's total at this, extraction never lists more
  /// in one call, and a vectored system call never passes more.
  public static let maxReadWriteCount: Int = Int(Int32.max) & ~(IterPage.size - 1)

  /// The most `iovec` entries one call or import takes: Linux's `UIO_MAXIOV`
  /// (`IOV_MAX`), 1024.
  public static let maxIOVectorCount = 1024
}

/// The most bytes one read or write may move (the kernel's `MAX_RW_COUNT`).
@available(*, deprecated, renamed: "IterLimits.maxReadWriteCount")
public var iterMaxReadWriteCount: Int { IterLimits.maxReadWriteCount }

extension IterLimits: Sendable {}
