//===----------------------------------------------------------------------===//
// swift-iov-iter: iter-demo
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// Runs the built iter-demo (the README's first command) as a user would and
// checks its exit status and key lines. An executable target cannot be
// imported, so the binary next to this test bundle is run with Process.

import Foundation
import Testing

/// The demo's exit status, standard output and standard error.
struct DemoRun {
  var status: Int32
  var output: String
  var errors: String
}

/// The iter-demo built with this test bundle (the same build directory).
func demoExecutable() throws -> URL {
  let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
  var directory = bundle.deletingLastPathComponent()
  // The runner is `<build>/swift-iov-iterPackageTests.xctest`; look beside it
  // and, for a bundle directory layout, one level up.
  for _ in 0..<3 {
    let candidate = directory.appendingPathComponent("iter-demo")
    if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    directory = directory.deletingLastPathComponent()
  }
  throw DemoNotBuilt(near: bundle.path)
}

struct DemoNotBuilt: Error, CustomStringConvertible {
  let near: String
  var description: String { "iter-demo was not found near \(near); run swift build first" }
}

func runDemo(_ arguments: [String]) throws -> DemoRun {
  let process = Process()
  process.executableURL = try demoExecutable()
  process.arguments = arguments
  let out = Pipe()
  let err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  // Read before waiting: a full pipe would block the demo.
  let output = out.fileHandleForReading.readDataToEndOfFile()
  let errors = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return DemoRun(
    status: process.terminationStatus, output: String(decoding: output, as: UTF8.self),
    errors: String(decoding: errors, as: UTF8.self))
}

@Suite("iter-demo, run as a user runs it")
struct IterDemoTests {
  @Test func defaultRunPassesEveryCheck() throws {
    let run = try runDemo([])
    #expect(run.status == 0, "\(run.output)\(run.errors)")
    for line in [
      "1. Cursor operations", "2. A mixed chain", "3. writev(2) to a real file", "4. Page extraction",
      "5. BioVecs under a device's DMA limits", "iov_iter_revert 100", "kernel-virtual", "page-fragment",
      "page-reference", "owner-reference", "pin", "checks passed",
    ] {
      #expect(run.output.contains(line), "missing '\(line)' in:\n\(run.output)")
    }
    #expect(run.output.contains("translator: PagemapTranslator") || run.output.contains("translator: PagePoolTranslator"))
    #expect(!run.output.contains("FAILED"))
    #expect(run.output.split(separator: "\n").count <= 80, "the default output fits a screen or two")
  }

  @Test(arguments: [
    ["--device", "tiny", "--translator", "pool", "--header", "1024", "--payload", "9K", "--trailer", "4096"],
    ["--device=sata", "--header=4K", "--payload=64K", "--trailer=512"],
    ["--device", "nvme", "--translator", "pool", "--payload", "512"],
  ])
  func otherSizesAndDevicesPassEveryCheck(_ arguments: [String]) throws {
    let run = try runDemo(arguments)
    #expect(run.status == 0, "\(arguments): \(run.output)\(run.errors)")
    #expect(run.output.contains("checks passed"))
    if arguments.contains("pool") {
      #expect(run.output.contains("translator: PagePoolTranslator, because --translator pool"))
      #expect(run.output.contains("read back through the translator's inverse"))
    }
  }

  @Test func quietPrintsOnlyTheVerdict() throws {
    let run = try runDemo(["--quiet"])
    #expect(run.status == 0)
    #expect(run.output.split(separator: "\n").map(String.init).filter { !$0.isEmpty }.count == 1, "\(run.output)")
  }

  @Test func fileOptionKeepsTheFile() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("iter-demo-test-\(getpid()).bin").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    let run = try runDemo(["--file", path, "--quiet"])
    #expect(run.status == 0, "\(run.output)\(run.errors)")
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
    #expect(size == 512 + 20480 + 1536)
  }

  @Test func helpExitsZero() throws {
    let run = try runDemo(["--help"])
    #expect(run.status == 0)
    #expect(run.output.contains("usage: iter-demo"))
    #expect(run.output.contains("--device"))
  }

  @Test(arguments: [
    ["--bogus"], ["--header"], ["--header", "100"], ["--payload", "lots"], ["--payload", "99999999999999999999"],
    ["--trailer", "0"], ["--header", "2M"], ["--device", "floppy"], ["--translator", "magic"], ["--file", ""],
    ["--quiet=yes"], ["extra"],
  ])
  func badArgumentsExitTwo(_ arguments: [String]) throws {
    let run = try runDemo(arguments)
    #expect(run.status == 2, "\(arguments): \(run.output)\(run.errors)")
    #expect(run.errors.hasPrefix("iter-demo: "), "\(arguments): \(run.errors)")
    #expect(run.output.isEmpty)
  }
}
