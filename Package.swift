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

enum Kind { case api, cKernels, executable, conformance, testSupport, test }

let table: [(kind: Kind, name: String, path: String, deps: [Target.Dependency])] = [
  // C kernels that Swift cannot reach: CRC-32C through the CPU's instruction,
  // 64-bit Internet checksum adds. Not a product; IterCore imports it internally.
  (.cKernels, "CIterChecksum", "Sources/CIterChecksum", []),
  (.api, "IterCore", "Sources/IterCore", ["CIterChecksum"]),
  // One module per buffer kind; each depends on IterCore only.
  (.api, "IterUser", "Sources/IterTypes/User", ["IterCore"]),
  (.api, "IterPageFragment", "Sources/IterTypes/PageFragment", ["IterCore"]),
  (.api, "IterKernelVirtual", "Sources/IterTypes/KernelVirtual", ["IterCore"]),
  (.api, "IterDiscard", "Sources/IterTypes/Discard", ["IterCore"]),
  (.api, "IterDeviceMemory", "Sources/IterTypes/DeviceMemory", ["IterCore"]),
  (
    .api, "IterTypes", "Sources/IterTypes/All",
    ["IterUser", "IterPageFragment", "IterKernelVirtual", "IterDiscard", "IterDeviceMemory"]
  ),
  // Real I/O: vectored system calls and io_uring from any iterator.
  (.api, "IterIO", "Sources/IterIO", ["IterCore"]),
  // Scatterlists, (physical address, length, flags) chunks, translators and
  // DMA limits; the page pool's frames are one of its translators.
  (.api, "IterBridge", "Sources/IterBridge", ["IterCore", "IterPageFragment"]),
  (
    .executable, "iter-demo", "Sources/iter-demo",
    ["IterCore", "IterUser", "IterPageFragment", "IterKernelVirtual", "IterDiscard", "IterIO", "IterBridge"]
  ),
  // The suite a third-party buffer kind runs in its own tests (a product).
  (.conformance, "IterConformance", "Sources/IterConformance", ["IterCore"]),
  // Test helpers shared by this package's own tests; not a product.
  (.testSupport, "IterTestSupport", "Tests/IterTestSupport", ["IterCore", "IterConformance", "IterTypes"]),
  (.test, "IterCoreTests", "Tests/IterCoreTests", ["IterCore", "IterTestSupport"]),
  (.test, "IterConformanceTests", "Tests/IterConformanceTests", ["IterConformance", "IterTypes", "IterTestSupport"]),
  (.test, "IterUserTests", "Tests/IterUserTests", ["IterUser", "IterTestSupport"]),
  (
    .test, "IterPageFragmentTests", "Tests/IterPageFragmentTests",
    ["IterPageFragment", "IterTestSupport"]
  ),
  (
    .test, "IterKernelVirtualTests", "Tests/IterKernelVirtualTests",
    ["IterKernelVirtual", "IterTestSupport"]
  ),
  (.test, "IterDiscardTests", "Tests/IterDiscardTests", ["IterDiscard", "IterTestSupport"]),
  (
    .test, "IterDeviceMemoryTests", "Tests/IterDeviceMemoryTests",
    ["IterDeviceMemory", "IterTestSupport", "IterConformance", "IterBridge"]
  ),
  (.test, "IterChainTests", "Tests/IterChainTests", ["IterTypes", "IterTestSupport"]),
  (.test, "IterIOTests", "Tests/IterIOTests", ["IterIO", "IterTypes", "IterTestSupport"]),
  (
    .test, "IterBridgeTests", "Tests/IterBridgeTests",
    ["IterBridge", "IterTypes", "IterTestSupport", "IterConformance"]
  ),
  // Runs the built iter-demo (an executable cannot be imported).
  (.test, "IterDemoTests", "Tests/IterDemoTests", []),
]

let package = Package(
  name: "swift-iov-iter",
  products: table.compactMap { t in
    switch t.kind {
    case .api, .conformance: .library(name: t.name, targets: [t.name])
    case .executable: .executable(name: t.name, targets: [t.name])
    case .cKernels, .testSupport, .test: nil
    }
  },
  targets: table.map { t in
    switch t.kind {
    case .api:
      .target(name: t.name, dependencies: t.deps, path: t.path, swiftSettings: librarySettings)
    case .cKernels:
      .target(name: t.name, dependencies: t.deps, path: t.path)
    case .conformance, .testSupport:
      // Test-facing code: no strict memory safety (it would flag every span use).
      .target(name: t.name, dependencies: t.deps, path: t.path, swiftSettings: commonSettings)
    case .executable:
      .executableTarget(name: t.name, dependencies: t.deps, path: t.path, swiftSettings: commonSettings)
    case .test:
      .testTarget(name: t.name, dependencies: t.deps, path: t.path, swiftSettings: commonSettings)
    }
  },
  swiftLanguageModes: [.v6]
)
