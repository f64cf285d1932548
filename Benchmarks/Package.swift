// swift-tools-version: 6.2
//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: a nested package, so the main package keeps zero
// dependencies. See Docs/Benchmarks.md.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
import PackageDescription

let settings: [SwiftSetting] = [
  .enableUpcomingFeature("MemberImportVisibility"),
  .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
  name: "swift-iov-iter-benchmarks",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "swift-iov-iter", path: ".."),
    // Without the trait, package-benchmark 1.38.1 asks for a package this
    // machine does not mirror (swift-runtime-interposer).
    .package(
      url: "https://github.com/ordo-one/benchmark", from: "1.38.1",
      traits: ["MallocInterposer"]),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
  ],
  targets: [
    // package-benchmark: wall clock, throughput and malloc counts, with the
    // malloc thresholds in Thresholds/ (`swift package benchmark thresholds check`).
    .executableTarget(
      name: "IterBenchmarks",
      dependencies: [
        .product(name: "Benchmark", package: "benchmark"),
        .product(name: "IterCore", package: "swift-iov-iter"),
        .product(name: "IterTypes", package: "swift-iov-iter"),
        .product(name: "IterBridge", package: "swift-iov-iter"),
        .product(name: "IterIO", package: "swift-iov-iter"),
      ],
      path: "IterBenchmarks",
      swiftSettings: settings,
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
    // The C baseline: plain memcpy loops over the same iovecs.
    .target(name: "CBaseline", path: "Sources/CBaseline"),
    // One process, one run, one table: swift-iov-iter against C, Dispatch,
    // Foundation and SwiftNIO.
    .executableTarget(
      name: "iter-compare",
      dependencies: [
        "CBaseline",
        .product(name: "IterCore", package: "swift-iov-iter"),
        .product(name: "IterTypes", package: "swift-iov-iter"),
        .product(name: "IterBridge", package: "swift-iov-iter"),
        .product(name: "IterIO", package: "swift-iov-iter"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      path: "Sources/iter-compare",
      swiftSettings: settings
    ),
  ],
  swiftLanguageModes: [.v6]
)
