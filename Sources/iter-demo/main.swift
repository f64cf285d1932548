//===----------------------------------------------------------------------===//
// swift-iov-iter: iter-demo
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// `swift run iter-demo`: the kernel's iov_iter, in user space, on real memory
// and a real file. Part 1 shows the cursor operations; parts 2 to 5 take a
// buffer of three kinds of memory through writev/readv, page extraction and
// the DMA bridge (Story.swift). Exit status: 0 when every check passed, 1
// when one failed, 2 for bad arguments.

import Glibc

/// Writes `text` and a newline to standard error.
func printError(_ text: String) {
  let line = text + "\n"
  _ = line.withCString { write(2, $0, strlen($0)) }
}

let options: Options
do {
  options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
  printError("iter-demo: \(error)\nTry 'iter-demo --help'.")
  exit(2)
}
if options.help {
  print(Options.usage)
  exit(0)
}

let report = Report(quiet: options.quiet)
do {
  guard let profile = try DeviceProfile.named(options.device) else {
    printError("iter-demo: no device profile '\(options.device)'")
    exit(2)
  }
  report.say(
    "iter-demo: swift-iov-iter on real memory and a real file "
      + "(header \(options.headerBytes), payload \(options.payloadBytes), trailer \(options.trailerBytes) bytes; "
      + "device \(profile.name))")
  try cursorTour(report)
  let story = try Story(options: options, profile: profile, report: report)
  try story.run()
} catch {
  print("iter-demo: failed: \(error)")
  exit(1)
}

report.say()
if report.failures.isEmpty {
  print("iter-demo: all \(report.passed) checks passed")
} else {
  print("iter-demo: \(report.failures.count) of \(report.passed + report.failures.count) checks FAILED:")
  for failure in report.failures { print("  \(failure)") }
  exit(1)
}
