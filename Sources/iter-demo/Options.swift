//===----------------------------------------------------------------------===//
// swift-iov-iter: iter-demo
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// The command line: hand-rolled, so the package keeps no dependencies. A bad
// argument is a message and exit status 2, never a crash.

import IterBridge

/// Which translator turns virtual addresses into device addresses.
enum TranslatorChoice: String, CaseIterable {
  /// `/proc/self/pagemap` when it shows frames, else the pool's frames.
  case auto
  /// `/proc/self/pagemap` only; an error when the frames are hidden.
  case pagemap
  /// The page pool's frame numbers, whatever the privileges.
  case pool
}

/// A device's DMA limits, with the reason for each.
struct DeviceProfile {
  let name: String
  let summary: String
  let limits: DMALimits

  static let names = ["nvme", "sata", "tiny"]

  /// The profile called `name`, or nil.
  static func named(_ name: String) throws(DMAError) -> DeviceProfile? {
    switch name {
    case "nvme":
      // PRP lists: every chunk but the first starts a 4 KiB page and every
      // chunk but the last ends one (virt_boundary_mask 4095); dword-aligned
      // buffers; 128 segments; 1 MiB requests (MDTS of 8 with 4 KiB pages).
      DeviceProfile(
        name: name, summary: "NVMe-like: virt boundary 4 KiB-1, 128 segments, 4-byte alignment, 1 MiB requests",
        limits: try DMALimits(maxSegments: 128, dmaAlignment: 3, virtBoundaryMask: 4095, maxHWSectors: 2048))
    case "sata":
      // AHCI: 168 PRD entries, segments up to 64 KiB that never cross 4 GiB,
      // sector-aligned buffers, 128 KiB requests.
      DeviceProfile(
        name: name, summary: "AHCI-like: 168 segments of at most 64 KiB, 512-byte alignment, 128 KiB requests",
        limits: try DMALimits(
          maxSegmentSize: 65536, maxSegments: 168, dmaAlignment: 511, maxHWSectors: 256))
    case "tiny":
      // A deliberately cramped controller that makes the splits visible.
      DeviceProfile(
        name: name,
        summary: "cramped: 2 segments of at most 4 KiB that never cross a page, 4 KiB requests",
        limits: try DMALimits(
          maxSegmentSize: 4096, segmentBoundaryMask: 4095, maxSegments: 2, dmaAlignment: 511,
          maxHWSectors: 8))
    default:
      nil
    }
  }
}

/// What the command line asked for.
struct Options {
  var headerBytes = 512
  var payloadBytes = 20 * 1024
  var trailerBytes = 1536
  var device = "nvme"
  var translator = TranslatorChoice.auto
  var filePath: String? = nil
  var quiet = false
  var help = false

  /// The largest header: a slab object is at most half a page; a larger
  /// header comes from the vmalloc-like allocator, up to this.
  static let maxHeaderBytes = 1 << 20
  static let maxPayloadBytes = 16 << 20
  static let maxTrailerBytes = 1 << 20

  static let usage = """
    usage: iter-demo [options]

    Tells the iov_iter story on real memory and a real file: a mixed chain
    (kernel-virtual header, page-fragment payload, user trailer) written with
    writev(2), read back with readv(2) into another layout with a discard in the
    middle, extracted with retentions that are then released, and converted to
    BioVecs under a device's DMA limits. Every number is computed and checked;
    the exit status is 0 only when every check passed.

    options:
      --header N       header bytes, kernel-virtual memory (default 512)
      --payload N      payload bytes, page-pool folios (default 20480)
      --trailer N      trailer bytes, user memory (default 1536)
                       sizes are multiples of 512 (a sector), at least 512;
                       at most 1 MiB, 16 MiB and 1 MiB; a suffix K or M is accepted
      --device NAME    DMA limits of the device:
                         nvme  NVMe-like: virt boundary 4 KiB-1, 128 segments,
                               4-byte alignment, 1 MiB requests (default)
                         sata  AHCI-like: 168 segments of at most 64 KiB,
                               512-byte alignment, 128 KiB requests
                         tiny  2 segments of at most 4 KiB within a page,
                               4 KiB requests (shows every split)
      --translator T   auto (default): /proc/self/pagemap when it shows
                       frames (CAP_SYS_ADMIN), else the pool's frames;
                       pagemap: pagemap or fail; pool: the pool's frames
      --file PATH      write the chain to PATH and keep it (default: a
                       temporary file, removed at the end)
      -q, --quiet      print only the verdict
      -h, --help       this text

    exit status: 0 all checks passed, 1 a check or an operation failed,
    2 bad arguments.
    """

  /// Parses `arguments` (without the program name).
  ///
  /// - Throws: A message for the user.
  static func parse(_ arguments: [String]) throws(UsageError) -> Options {
    var options = Options()
    var i = 0
    func value(for option: String) throws(UsageError) -> String {
      i += 1
      guard i < arguments.count else { throw UsageError("\(option) needs a value") }
      return arguments[i]
    }
    while i < arguments.count {
      let argument = arguments[i]
      // Accept --option=value as well as --option value.
      var name = argument
      var inline: String? = nil
      if argument.hasPrefix("--"), let eq = argument.firstIndex(of: "=") {
        name = String(argument[..<eq])
        inline = String(argument[argument.index(after: eq)...])
      }
      func next() throws(UsageError) -> String {
        if let inline { return inline }
        return try value(for: name)
      }
      if inline != nil, ["--help", "--quiet"].contains(name) {
        throw UsageError("\(name) takes no value")
      }
      switch name {
      case "-h", "--help": options.help = true
      case "--quiet", "-q": options.quiet = true
      case "--header": options.headerBytes = try size(try next(), name, max: maxHeaderBytes)
      case "--payload": options.payloadBytes = try size(try next(), name, max: maxPayloadBytes)
      case "--trailer": options.trailerBytes = try size(try next(), name, max: maxTrailerBytes)
      case "--device":
        let device = try next()
        guard DeviceProfile.names.contains(device) else {
          throw UsageError("--device \(quoted(device)): expected one of \(DeviceProfile.names.joined(separator: ", "))")
        }
        options.device = device
      case "--translator":
        let choice = try next()
        guard let translator = TranslatorChoice(rawValue: choice) else {
          throw UsageError(
            "--translator \(quoted(choice)): expected one of "
              + TranslatorChoice.allCases.map(\.rawValue).joined(separator: ", "))
        }
        options.translator = translator
      case "--file":
        let path = try next()
        guard !path.isEmpty else { throw UsageError("--file needs a non-empty path") }
        options.filePath = path
      default:
        throw UsageError("unknown argument \(quoted(argument))")
      }
      i += 1
    }
    return options
  }

  /// A size in bytes: digits with an optional K or M suffix, a multiple of 512.
  static func size(_ text: String, _ option: String, max: Int) throws(UsageError) -> Int {
    var digits = Substring(text)
    var scale = 1
    if let last = digits.last, "kKmM".contains(last) {
      scale = "kK".contains(last) ? 1024 : 1 << 20
      digits = digits.dropLast()
    }
    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else {
      throw UsageError("\(option) \(quoted(text)): expected a number of bytes, like 4096 or 4K")
    }
    let (bytes, overflow) = n.multipliedReportingOverflow(by: scale)
    guard !overflow, bytes <= max else {
      throw UsageError("\(option) \(quoted(text)): at most \(max) bytes")
    }
    guard bytes >= 512, bytes % 512 == 0 else {
      throw UsageError(
        "\(option) \(quoted(text)): a multiple of 512 bytes (a sector) of at least 512, "
          + "because a block device moves whole sectors")
    }
    return bytes
  }

  static func quoted(_ text: String) -> String { "'\(text)'" }
}

/// A bad command line: the message says what and how to fix it.
struct UsageError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
