// swift-tools-version: 6.2
//===----------------------------------------------------------------------===//
// swift-iov-iter: the Linux kernel's iov_iter, in user-space Swift.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
import PackageDescription

// Swift 6 language mode implies complete concurrency checking.
let commonSettings: [SwiftSetting] = [
  .enableUpcomingFeature("MemberImportVisibility"),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("InternalImportsByDefault"),
]

// Library targets declare span-returning APIs (needs Lifetimes) and mark every
// unsafe operation explicitly (strict memory safety). Only CI turns warnings
// into errors, so a new compiler warning never breaks a downstream build.
let librarySettings: [SwiftSetting] =
  commonSettings + [
    .enableExperimentalFeature("Lifetimes"),
    .strictMemorySafety(),
  ] + (Context.environment["ITER_CI"] != nil ? [.treatAllWarnings(as: .error)] : [])

enum Kind { case api, executable, test }

let table: [(kind: Kind, name: String, path: String, deps: [Target.Dependency])] = [
  (.api, "IterCore", "Sources/IterCore", []),
  (.executable, "iter-demo", "Sources/iter-demo", ["IterCore"]),
  (.test, "IterCoreTests", "Tests/IterCoreTests", ["IterCore"]),
]

let package = Package(
  name: "swift-iov-iter",
  products: table.compactMap { t in
    switch t.kind {
    case .api: .library(name: t.name, targets: [t.name])
    case .executable: .executable(name: t.name, targets: [t.name])
    case .test: nil
    }
  },
  targets: table.map { t in
    switch t.kind {
    case .api:
      .target(
        name: t.name, dependencies: t.deps, path: t.path, exclude: ["\(t.name).docc"],
        swiftSettings: librarySettings)
    case .executable:
      .executableTarget(name: t.name, dependencies: t.deps, path: t.path, swiftSettings: commonSettings)
    case .test:
      .testTarget(name: t.name, dependencies: t.deps, path: t.path, swiftSettings: commonSettings)
    }
  },
  swiftLanguageModes: [.v6]
)
