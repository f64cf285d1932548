// swift-tools-version: 6.2
//===----------------------------------------------------------------------===//
// swift-iov-iter fuzzing: libFuzzer harnesses for every parser of descriptors.
// A nested package (like Benchmarks/ and Examples/), so the library keeps no
// dependencies. Build and run with `.ci/fuzz`; see README.md here.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
import PackageDescription

let settings: [SwiftSetting] = [
  .enableUpcomingFeature("MemberImportVisibility"),
  .enableUpcomingFeature("ExistentialAny"),
]

let iter: [Target.Dependency] = [
  .product(name: "IterCore", package: "swift-iov-iter"),
  .product(name: "IterTypes", package: "swift-iov-iter"),
  // The reference model the harnesses replay their operations on.
  .product(name: "IterConformance", package: "swift-iov-iter"),
]

// One executable per harness; each exports LLVMFuzzerTestOneInput and gets its
// main() from libFuzzer (-sanitize=fuzzer), so no target has top-level code.
let harnesses = [
  "fuzz-iovec-import", "fuzz-cursor-ops", "fuzz-chain", "fuzz-bvec-kvec", "fuzz-scatterlist",
  "fuzz-dma-limits",
]

// Harnesses that also need the bridge.
let bridge: [String: [Target.Dependency]] = [
  "fuzz-scatterlist": [.product(name: "IterBridge", package: "swift-iov-iter")],
  "fuzz-dma-limits": [.product(name: "IterBridge", package: "swift-iov-iter")],
]

let package = Package(
  name: "swift-iov-iter-fuzz",
  dependencies: [
    .package(name: "swift-iov-iter", path: "..")
  ],
  targets: [
    // The input reader, the arena, and the decoder of model operations the
    // harnesses share.
    .target(name: "FuzzSupport", dependencies: iter, swiftSettings: settings)
  ]
    + harnesses.map { name in
      .executableTarget(
        name: name, dependencies: ["FuzzSupport"] + iter + (bridge[name] ?? []), swiftSettings: settings)
    },
  swiftLanguageModes: [.v6]
)
