// swift-tools-version: 6.2
//===----------------------------------------------------------------------===//
// CustomKind: a buffer kind that swift-iov-iter does not have, written outside
// the package, and checked by its conformance suite.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
import PackageDescription

// As in the library's manifest: CI (ITER_CI set) turns warnings into errors.
let settings: [SwiftSetting] =
  [
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
  ] + (Context.environment["ITER_CI"] != nil ? [.treatAllWarnings(as: .error)] : [])

let package = Package(
  name: "CustomKind",
  products: [
    .library(name: "RingBufferKind", targets: ["RingBufferKind"])
  ],
  dependencies: [
    .package(name: "swift-iov-iter", path: "../..")
  ],
  targets: [
    // The kind: it needs IterCore only.
    .target(
      name: "RingBufferKind",
      dependencies: [.product(name: "IterCore", package: "swift-iov-iter")],
      swiftSettings: settings + [.strictMemorySafety()]),
    // Its tests run the conformance suite (a product, like NIOTestUtils).
    .testTarget(
      name: "RingBufferKindTests",
      dependencies: [
        "RingBufferKind",
        .product(name: "IterCore", package: "swift-iov-iter"),
        .product(name: "IterConformance", package: "swift-iov-iter"),
      ],
      swiftSettings: settings),
  ],
  swiftLanguageModes: [.v6]
)
