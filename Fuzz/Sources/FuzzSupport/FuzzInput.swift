//===----------------------------------------------------------------------===//
// swift-iov-iter fuzzing
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc

/// Reads decisions out of a fuzzer input. Reading past the end gives zeros, so
/// every input, however short, is a complete program.
public struct FuzzInput {
  private let bytes: UnsafeRawBufferPointer
  private var index = 0

  public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
    bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
  }

  /// Whether every byte has been read.
  public var isEmpty: Bool { index >= bytes.count }

  /// The bytes not read yet.
  public var remaining: Int { Swift.max(0, bytes.count - index) }

  public mutating func u8() -> UInt8 {
    guard index < bytes.count else { return 0 }
    defer { index += 1 }
    return bytes[index]
  }

  public mutating func u16() -> UInt16 { UInt16(u8()) | UInt16(u8()) << 8 }
  public mutating func u32() -> UInt32 { UInt32(u16()) | UInt32(u16()) << 16 }
  public mutating func u64() -> UInt64 { UInt64(u32()) | UInt64(u32()) << 32 }

  public mutating func bool() -> Bool { u8() & 1 == 1 }

  /// A number in `0..<bound` (0 when `bound` is at most 1).
  public mutating func below(_ bound: Int) -> Int {
    guard bound > 1 else { return 0 }
    let raw = bound <= 256 ? Int(u8()) : Int(u16())
    return raw % bound
  }

  /// Values at the edges of every range the library checks.
  public static let interesting: [Int] = [
    0, 1, 2, 3, 7, 8, 63, 64, 511, 512, 4095, 4096, 4097, 8191, 8192, 65535, 65536,
    -1, -2, -4096, Int.min, Int.min + 1, Int.max, Int.max - 1, Int.max - 4095, Int.max / 2,
    Int.max / 2 + 1, 0x7fff_f000, 0x7fff_f001, 0x7fff_efff, Int(Int32.max), Int(Int32.max) + 1,
    Int(UInt32.max), 1 << 32, 1 << 62, (1 << 62) + 1, -(1 << 62),
  ]

  /// An argument for a count-taking operation: mostly small, sometimes near
  /// `hint` (the cursor's count, say), sometimes negative, huge or arbitrary.
  public mutating func arg(hint: Int = 0) -> Int {
    switch u8() % 10 {
    case 0, 1, 2: return Int(u8())
    case 3: return Int(u16())
    case 4: return FuzzInput.interesting[Int(u8()) % FuzzInput.interesting.count]
    case 5: return -Int(u8()) - 1
    case 6: return Int(truncatingIfNeeded: u64())
    case 7, 8: return hint &+ Int(Int8(bitPattern: u8()))
    default: return hint
    }
  }

  /// A raw 64-bit value biased towards edges: for addresses and `iov_len`s.
  public mutating func word() -> UInt64 {
    switch u8() % 8 {
    case 0: return 0
    case 1: return UInt64(u8())
    case 2: return UInt64(u16()) << 12  // page-aligned, low
    case 3: return UInt64.max &- UInt64(u16())  // near the top of the address space
    case 4: return UInt64(bitPattern: Int64(FuzzInput.interesting[Int(u8()) % FuzzInput.interesting.count]))
    case 5: return 0x7fff_0000_0000 &+ UInt64(u32())  // where user mappings live
    default: return u64()
    }
  }
}

/// Stops the process with a message that names the broken expectation, so
/// libFuzzer records the input as a crash.
public func check(
  _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
  file: StaticString = #fileID, line: UInt = #line
) {
  if !condition() { fatalError("ORACLE: \(message())", file: file, line: line) }
}

/// Settings read from the environment once.
public enum FuzzConfig {
  /// `FUZZ_SKIP_KNOWN=1`: steer around the library bugs recorded in Findings/
  /// that are still open, so that a run can look for new ones. Off by
  /// default, so CI fails until they are fixed. A harness skips an input with
  /// `if FuzzConfig.skipKnown && <the finding's condition> { ... }` and a
  /// comment naming the finding. None is open now.
  public static let skipKnown = flag("FUZZ_SKIP_KNOWN")

  /// `FUZZ_TRACE=1`: print what an input decodes to (the operations replayed,
  /// a chain's appends), to read a crash or to check a hand-made seed.
  public static let trace = flag("FUZZ_TRACE")

  private static func flag(_ name: String) -> Bool {
    guard let value = getenv(name) else { return false }
    return String(cString: value) == "1"
  }
}
