//===----------------------------------------------------------------------===//
// swift-iov-iter: iter-demo
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// Runs the built iter-demo (the README's first command) as a user would and
// checks its exit status and key lines. An executable target cannot be
// imported, so the binary built beside this test bundle is spawned
// (posix_spawn, no Foundation: the sanitizer runs see only our code).

import Glibc
import Testing

/// The demo's exit status, standard output and standard error.
struct DemoRun {
  var status: Int32
  var output: String
  var errors: String
}

struct DemoNotRun: Error, CustomStringConvertible {
  let description: String
}

/// The iter-demo built with this test bundle (the same build directory).
func demoExecutable() throws -> String {
  // The runner is `<build>/swift-iov-iterPackageTests.xctest`: look beside it.
  var directory = CommandLine.arguments[0]
  for _ in 0..<3 {
    guard let slash = directory.lastIndex(of: "/") else { break }
    directory = String(directory[..<slash])
    let candidate = directory + "/iter-demo"
    if access(candidate, X_OK) == 0 { return candidate }
  }
  throw DemoNotRun(description: "iter-demo was not found near \(CommandLine.arguments[0]); run swift build first")
}

/// Everything `fd` gives until its end.
func readAll(_ fd: Int32) -> String {
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65536)
  while true {
    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n < 0 && errno == EINTR { continue }
    if n <= 0 { break }
    bytes += chunk[0..<n]
  }
  return String(decoding: bytes, as: UTF8.self)
}

/// Runs the demo with `arguments` and this process's environment.
func runDemo(_ arguments: [String]) throws -> DemoRun {
  let path = try demoExecutable()
  var out: [Int32] = [-1, -1]
  var err: [Int32] = [-1, -1]
  guard pipe(&out) == 0, pipe(&err) == 0 else { throw DemoNotRun(description: "pipe: errno \(errno)") }
  // Close-on-exec, so that a demo spawned by a test running at the same time
  // does not hold these pipes open (pipe2 is not imported without _GNU_SOURCE).
  for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_adddup2(&actions, out[1], 1)
  posix_spawn_file_actions_adddup2(&actions, err[1], 2)
  // The environment, as /proc/self/environ has it (sanitizer options included).
  let environ = readEnvironment()
  let argv = ([path] + arguments).map { strdup($0) } + [nil]
  let envp = environ.map { strdup($0) } + [nil]
  defer { for p in argv + envp { free(p) } }
  var pid: pid_t = 0
  let spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
  close(out[1])
  close(err[1])
  defer {
    close(out[0])
    close(err[0])
  }
  guard spawned == 0 else { throw DemoNotRun(description: "posix_spawn \(path): error \(spawned)") }
  // The demo writes little to standard error: it cannot fill that pipe while
  // standard output is read to its end.
  let output = readAll(out[0])
  let errors = readAll(err[0])
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  // WIFEXITED / WEXITSTATUS; a signal reads as 128 + its number.
  let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
  return DemoRun(status: code, output: output, errors: errors)
}

/// This process's environment, one `NAME=value` per entry.
func readEnvironment() -> [String] {
  let fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return [] }
  defer { close(fd) }
  return readAll(fd).split(separator: "\0").map(String.init)
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
    #expect(
      run.output.contains("translator: PagemapTranslator") || run.output.contains("translator: PagePoolTranslator"))
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
    let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    let path = "\(directory)/iter-demo-test-\(getpid()).bin"
    defer { unlink(path) }
    let run = try runDemo(["--file", path, "--quiet"])
    #expect(run.status == 0, "\(run.output)\(run.errors)")
    var stats = stat()
    #expect(stat(path, &stats) == 0)
    #expect(stats.st_size == 512 + 20480 + 1536)
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
