//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

// The package's own tests use the conformance suite's model and generators.
@_exported public import IterConformance
