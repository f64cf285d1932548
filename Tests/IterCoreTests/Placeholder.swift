import Testing
import IterCore

@Test func smoke() throws {
  var a = [UInt8](repeating: 0, count: 10)
  var b = [UInt8](repeating: 0, count: 5)
  try a.withUnsafeMutableBytes { pa in
    try b.withUnsafeMutableBytes { pb in
      let list = UnsafeSegmentList(buffers: [pa, pb])
      var it = try IovIter(list, direction: .destination)
      #expect(try it.write(Array(1...12)) == 12)
      #expect(it.count == 3)
      try it.revert(by: 4)
      #expect(it.position == IterPosition(segmentIndex: 0, offset: 8))
    }
  }
  #expect(a == [1,2,3,4,5,6,7,8,9,10])
  #expect(b == [11,12,0,0,0])
}
