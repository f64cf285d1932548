//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

@_exported public import IterDeviceMemory
@_exported public import IterDiscard
@_exported public import IterKernelVirtual
@_exported public import IterPageFragment
@_exported public import IterUser
