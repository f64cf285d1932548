//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterIO
import Testing

/// A source that a test changes under its cursor, which the protocol forbids.
final class ChangingSegments: @unchecked Sendable {
  var segments: [IterSegment]
  init(_ segments: [IterSegment]) { self.segments = segments }
}

struct ChangingSource: IterSegmentSource {
  let box: ChangingSegments
  var segmentCount: Int { box.segments.count }
  func segment(at index: Int) -> IterSegment { box.segments[index] }
}

@Suite("I/O from a source that changed under its cursor")
struct ChangedSourceTests {
  @Test(arguments: [false, true])
  func vectoredIOIsATypedErrorNotATrap(read: Bool) throws {
    let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 16)
    defer { memory.deallocate() }
    let box = ChangingSegments([
      IterSegment(base: memory.baseAddress!, count: 128),
      IterSegment(base: memory.baseAddress! + 128, count: 128),
    ])
    var iter = try IovIter(ChangingSource(box: box), direction: read ? .destination : .source)
    box.segments.removeLast()  // the cursor still counts 256 bytes
    let fd = open(read ? "/dev/zero" : "/dev/null", read ? O_RDONLY : O_WRONLY)
    try #require(fd >= 0)
    defer { close(fd) }
    // The first call moves the bytes the segments still hold; the next one
    // meets the missing segment and says so, with the cursor left standing.
    let first = read ? try iter.readv(from: fd) : try iter.writev(to: fd)
    #expect(first.byteCount == 128)
    let state = iter.saveState()
    do {
      _ = read ? try iter.readv(from: fd) : try iter.writev(to: fd)
      Issue.record("no error")
    } catch {
      guard case .iterator(.sourceChanged) = error.reason else {
        Issue.record("\(error)")
        return
      }
    }
    #expect(iter.saveState() == state)
    // The loops stop the same way, with the progress they made.
    var again = try IovIter(ChangingSource(box: box), direction: read ? .destination : .source, count: 128)
    box.segments = []
    #expect(throws: IterIOError.self) {
      _ = read ? try again.readAll(from: fd) : try again.writeAll(to: fd)
    }
  }
}
