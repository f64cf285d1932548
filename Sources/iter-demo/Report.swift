//===----------------------------------------------------------------------===//
// swift-iov-iter: iter-demo
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// Output (plain tables) and run-time checks: every claim the demo prints is
// checked, and one failed check makes the exit status 1.

/// Prints unless quiet, and counts the checks.
final class Report {
  let quiet: Bool
  private(set) var passed = 0
  private(set) var failures: [String] = []

  init(quiet: Bool) { self.quiet = quiet }

  func say(_ line: String = "") {
    if !quiet { print(line) }
  }

  func section(_ title: String) {
    say()
    say(title)
  }

  /// Records a check; a failure is printed at once, even when quiet.
  func check(_ ok: Bool, _ what: @autoclosure () -> String) {
    if ok {
      passed += 1
    } else {
      let message = what()
      failures.append(message)
      print("  CHECK FAILED: \(message)")
    }
  }

  func table(_ table: Table) {
    for line in table.lines { say(line) }
  }
}

/// A text table: a header row and columns padded to their widths. Numbers
/// (columns listed in `right`) are right-aligned.
struct Table {
  var header: [String]
  var rows: [[String]] = []
  var right: Set<Int> = []
  var indent = 2

  init(_ header: [String], right: Set<Int> = []) {
    self.header = header
    self.right = right
  }

  mutating func add(_ row: [String]) { rows.append(row) }
  mutating func add(_ row: Any...) { rows.append(row.map { "\($0)" }) }

  var lines: [String] {
    var widths = header.map(\.count)
    for row in rows {
      for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
    }
    func render(_ row: [String]) -> String {
      var out = String(repeating: " ", count: indent)
      for (i, cell) in row.enumerated() where i < widths.count {
        let pad = String(repeating: " ", count: widths[i] - cell.count)
        out += right.contains(i) ? pad + cell : cell + (i == row.count - 1 ? "" : pad)
        if i < row.count - 1 { out += "  " }
      }
      while out.last == " " { out.removeLast() }
      return out
    }
    return [render(header)] + rows.map(render)
  }
}

/// `0x` and lowercase hex.
func hex<T: BinaryInteger>(_ value: T) -> String { "0x" + String(value, radix: 16) }

/// Bytes as two-digit hex, space-separated.
func hexBytes(_ bytes: [UInt8]) -> String {
  bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
}

/// Bytes as text where printable, `.` elsewhere.
func printable(_ bytes: [UInt8]) -> String {
  String(bytes.map { (0x20..<0x7f).contains($0) ? Character(UnicodeScalar($0)) : "." })
}

/// `1 page`, `2 pages`.
func counted(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

/// A byte count the way people read it: `20480 (20 KiB)`.
func sized(_ bytes: Int) -> String {
  bytes >= 1024 && bytes % 1024 == 0 ? "\(bytes) (\(bytes / 1024) KiB)" : "\(bytes)"
}
