//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterUser
import Testing

/// The check of a range against the process's mappings that every pin makes
/// first, through both ways of reading them.
@Suite("Process mappings")
struct ProcessMappingsTests {
  /// Five pages: read-write, `PROT_NONE`, a hole, read-only, read-write.
  final class Layout {
    let m = MappedPages(pages: 5)
    init() {
      precondition(mprotect(m.pointer(pageSize), pageSize, PROT_NONE) == 0)
      m.punchHole(page: 2)
      precondition(mprotect(m.pointer(3 * pageSize), pageSize, PROT_READ) == 0)
    }
    func page(_ k: Int) -> UInt { m.address + UInt(k * pageSize) }
    var isIntact: Bool { m.holeIsIntact(page: 2) }

    /// Runs `body` on a layout whose hole stayed a hole throughout (another
    /// test running in parallel may map into it), trying up to 20 layouts.
    static func stable<T>(_ body: (Layout) -> T) -> T {
      var tries = 0
      while true {
        let layout = Layout()
        let result = body(layout)
        tries += 1
        if layout.isIntact || tries == 20 { return result }
      }
    }
  }

  @Test func theIoctlAndTheTextAgree() throws {
    let (layout, textResult, queryResult) = Layout.stable { layout in
      (
        layout,
        Result { () throws(IterError) in
          try _ProcessMappings.mappings(from: layout.page(0), to: layout.page(5), textOnly: true)
        },
        Result { () throws(IterError) in try _ProcessMappings.mappings(from: layout.page(0), to: layout.page(5)) }
      )
    }
    let (start, end) = (layout.page(0), layout.page(5))
    // Neighbouring mappings may merge with pages 0 and 4 (and change between
    // the two reads), so compare what lies inside the five pages.
    func inside(_ mappings: [_Mapping]) -> [_Mapping] {
      mappings.map {
        _Mapping(start: max($0.start, start), end: min($0.end, end), isAccessible: $0.isAccessible)
      }
    }
    let text = inside(try textResult.get())
    let query = inside(try queryResult.get())
    #expect(query == text)
    #expect(
      text == [
        _Mapping(start: layout.page(0), end: layout.page(1), isAccessible: true),
        _Mapping(start: layout.page(1), end: layout.page(2), isAccessible: false),
        _Mapping(start: layout.page(3), end: layout.page(4), isAccessible: true),
        _Mapping(start: layout.page(4), end: layout.page(5), isAccessible: true),
      ])
  }

  @Test(arguments: [false, true])
  func checkNamesTheFirstBadPart(textOnly: Bool) throws {
    func check(_ from: UInt, _ count: Int) throws(IterError) {
      let mappings = try _ProcessMappings.mappings(
        from: from & ~UInt(pageSize - 1), to: from + UInt(count), textOnly: textOnly)
      try _ProcessMappings.check(mappings, address: from, count: count)
    }
    // Each case: the range, and the error it must get (nil: none).
    let (layout, results) = Layout.stable { layout -> (Layout, [(IterError?, IterError?)]) in
      let cases: [(UInt, Int, IterError?)] = [
        (layout.page(0) + 3, pageSize - 3, nil),
        (layout.page(3), 2 * pageSize, nil),
        (
          layout.page(0) + 1, 2 * pageSize,
          .badAddress(address: layout.page(1), count: pageSize, reason: "no access (PROT_NONE)")
        ),
        (layout.page(2) + 7, 10, .badAddress(address: layout.page(2) + 7, count: 10, reason: "not mapped")),
        (
          layout.page(2) - 1, pageSize + 2,
          .badAddress(address: layout.page(2) - 1, count: 1, reason: "no access (PROT_NONE)")
        ),
        (
          layout.page(2) + 100, 2 * pageSize,
          .badAddress(address: layout.page(2) + 100, count: pageSize - 100, reason: "not mapped")
        ),
      ]
      return (
        layout,
        cases.map { (from, count, expected) in
          do throws(IterError) {
            try check(from, count)
            return (expected, nil)
          } catch {
            return (expected, error)
          }
        }
      )
    }
    #expect(layout.isIntact, "another test kept filling the hole")
    for (k, (expected, got)) in results.enumerated() {
      #expect(got == expected, "case \(k)")
    }
  }

  @Test func linesOfTheText() {
    func line(_ text: String) -> _Mapping? { _ProcessMappings._parseLine(Array(text.utf8)) }
    #expect(
      line("7f0000001000-7f0000003000 rw-p 00000000 00:00 0")
        == _Mapping(start: 0x7f00_0000_1000, end: 0x7f00_0000_3000, isAccessible: true))
    #expect(
      line("55d0c8a00000-55d0c8a01000 ---p 00000000 00:00 0 ")
        == _Mapping(start: 0x55d0_c8a0_0000, end: 0x55d0_c8a0_1000, isAccessible: false))
    #expect(
      line("7ffd1c3f0000-7ffd1c3f2000 --xp 00000000 00:00 0   [vdso]")?.isAccessible == true)
    // Listed by the kernel, but not a mapping mlock can reach.
    #expect(line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]") == nil)
    for bad in [
      "", "-", "zz-10 rw-p", "1000-0800 rw-p 0 0:0 0", "1000-2000", "1000 2000 rw-p",
      "11111111111111111-22222222222222222 rw-p 0 00:00 0",
    ] {
      #expect(line(bad) == nil, "\(bad)")
    }
  }
}
