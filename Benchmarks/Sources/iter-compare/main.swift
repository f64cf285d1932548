//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: iter-compare, one process and one run against C,
// Dispatch, Foundation and SwiftNIO. See Docs/Benchmarks.md.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc

#if DEBUG
  eprint("iter-compare: build with -c release; debug numbers mean nothing\n")
  exit(2)
#endif

let settings = Settings.parse(CommandLine.arguments)
let report = Report()
let started = nowNanoseconds()
let host = hostDescription()

func progress(_ message: String) {
  let seconds = Double(nowNanoseconds() &- started) / 1e9
  eprint("[\(format(seconds, digits: 1)) s] \(message)\n")
}

if settings.runs("memcpy") || settings.runs("copy") || settings.runs("cached") {
  progress("memcpy limit")
  measureMemcpy(settings: settings, report: report)
}
if settings.runs("copy") {
  for size in [64, 512, 4096, 65536] {
    progress("copy out / copy in, \(size) B segments")
    measureCopies(size: size, settings: settings, report: report)
  }
}
if settings.runs("cached") {
  progress("cache-resident copies")
  measureCachedCopies(settings: settings, report: report)
}
if settings.runs("checksum") {
  progress("checksums alone")
  measureChecksumsAlone(settings: settings, report: report)
  for size in [64, 1500, 4096, 65536] {
    progress("copy + checksum, \(size) B segments")
    measureChecksummedCopies(size: size, settings: settings, report: report)
  }
}
if settings.runs("sweep") {
  progress("segment-size sweep (for the plots)")
  measureSweep(settings: settings, report: report)
}
if settings.runs("iter") {
  progress("iterator to iterator")
  measureIterToIter(sourceSize: 4096, destinationSize: 1500, settings: settings, report: report)
  measureIterToIter(sourceSize: 64, destinationSize: 4096, settings: settings, report: report)
}
if settings.runs("advance") {
  progress("advance and revert")
  measureAdvanceRevert(settings: settings, report: report)
}
if settings.runs("save") {
  progress("save and restore")
  measureSaveRestore(settings: settings, report: report)
}
if settings.runs("export") {
  progress("gather export")
  measureExport(settings: settings, report: report)
}
if settings.runs("build") {
  progress("build")
  measureBuild(settings: settings, report: report)
}
if settings.runs("chain") {
  progress("mixed chain")
  measureChain(settings: settings, report: report)
}
if settings.runs("bridge") {
  progress("bridge: pagemap translation, iterator to BioVec")
  measureBridgePagemap(settings: settings, report: report)
  measureBridgeMapper(settings: settings, report: report)
}

if settings.runs("io") {
  progress("real I/O: writev, io_uring")
  measureWritev(settings: settings, report: report)
  measureRing(settings: settings, report: report)
}

let elapsed = Double(nowNanoseconds() &- started) / 1e9
let limitLine =
  report.rows.first { $0.workload == "memcpy limit" }.map {
    "Limit: single-threaded memcpy of \(sizeLabel(settings.totalBytes)) = \(format($0.value, digits: 2)) GB/s."
  } ?? "Limit: not measured (the memcpy section did not run)."
print(
  """
  ## iter-compare: \(settings.quick ? "quick smoke run" : "full run"), \
  \(sizeLabel(settings.totalBytes)) per copy, best of \(settings.rounds) rounds

  Host: \(host).

  \(limitLine) "vs C" is speed relative to the C baseline of \
  the same workload (above 1 is faster): from the best times, and as the median of \
  each round's back-to-back pair ("paired", the stable one on a shared machine). \
  Total time \(format(elapsed, digits: 1)) s.

  """)
print(report.markdown())

if let path = settings.csvPath {
  guard let file = fopen(path, "w") else {
    eprint("iter-compare: cannot write \(path)\n")
    exit(1)
  }
  fputs(report.csv(), file)
  fclose(file)
  progress("wrote \(path)")
}
