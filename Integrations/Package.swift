// swift-tools-version: 6.2
//===----------------------------------------------------------------------===//
// Integrations: swift-iov-iter's adapters for SwiftNIO, Foundation and
// swift-system. A nested package, so the library keeps no dependencies.
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

let iter = "swift-iov-iter"

/// Products of the library, by name.
func library(_ names: String...) -> [Target.Dependency] { names.map { .product(name: $0, package: iter) } }
let nio: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let system: Target.Dependency = .product(name: "SystemPackage", package: "swift-system")

let package = Package(
  name: "Integrations",
  products: [
    .library(name: "IterNIO", targets: ["IterNIO"]),
    .library(name: "IterFoundation", targets: ["IterFoundation"]),
    .library(name: "IterSystem", targets: ["IterSystem"]),
  ],
  dependencies: [
    .package(name: iter, path: ".."),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    .package(url: "https://github.com/apple/swift-system", from: "1.8.0"),
  ],
  targets: [
    .target(
      name: "IterNIO",
      dependencies: library("IterCore", "IterKernelVirtual", "IterIO") + [nio],
      swiftSettings: settings),
    .target(
      name: "IterFoundation",
      dependencies: library("IterCore", "IterKernelVirtual"),
      swiftSettings: settings),
    .target(
      name: "IterSystem",
      dependencies: library("IterCore", "IterIO") + [system],
      swiftSettings: settings),
    .executableTarget(
      name: "iter-integrations-compare",
      dependencies: ["IterNIO", "IterFoundation", "IterSystem", nio, system] + library("IterCore", "IterUser"),
      swiftSettings: settings),
    // Factories' shared helpers for the three test targets.
    .target(
      name: "IntegrationTestSupport",
      dependencies: library("IterConformance"),
      path: "Tests/IntegrationTestSupport",
      swiftSettings: settings),
    .testTarget(
      name: "IterNIOTests",
      dependencies: ["IterNIO", "IntegrationTestSupport", nio]
        + library("IterCore", "IterTypes", "IterIO", "IterConformance"),
      swiftSettings: settings),
    .testTarget(
      name: "IterFoundationTests",
      dependencies: ["IterFoundation", "IntegrationTestSupport"] + library("IterCore", "IterConformance"),
      swiftSettings: settings),
    .testTarget(
      name: "IterSystemTests",
      dependencies: ["IterSystem", system] + library("IterCore", "IterUser", "IterIO"),
      swiftSettings: settings),
  ],
  swiftLanguageModes: [.v6]
)
