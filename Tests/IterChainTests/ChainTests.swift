//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import Glibc
import IterCore
import IterTestSupport
import IterTypes
import Testing

// Serialized: the retention probe counts the process's pins
// (UserPinRegistry.shared), so two of these tests at once see each other's.
@Suite("Mixed-type chains", .serialized, .pinsExclusively)
struct ChainTests {
  /// Random mixes of all four kinds, nested chains, empty, one-byte and
  /// one-byte-per-segment members, cursor members; discard in destinations.
  /// 2 directions × 10 layouts × 5,000 operations = 100,000 operations.
  @Test(arguments: [IterDirection.source, .destination])
  func modelBasedRandomMixes(direction: IterDirection) throws {
    let factory = try MemberFactory()
    var rng = SeededGenerator(seed: TestSeed.base ^ (direction == .source ? 0xC1 : 0xC2))
    for layout in 0..<10 {
      let seed = rng.next()
      var layoutRNG = SeededGenerator(seed: seed)
      let size = [0, 1, 9, 700, 5000, 20_000][layout % 6]
      let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &layoutRNG) }
      let chain = try factory.chain(bytes, direction: direction, discard: true, &layoutRNG)
      try checkAgainstModel(
        chain, direction: direction, operations: 5_000, seed: seed,
        label: "chain #\(layout) \(direction): \(chain.memberCount) members, \(chain.segmentCount) segments",
        retentionProbe: { [factory] in factory.heldRetentions })
    }
  }

  @Test func chainPassesTheConformanceSuite() throws {
    let factory = try MemberFactory()
    var options = ConformanceOptions()
    options.operationsPerRun = 2_000
    options.retentionProbe = { [factory] in factory.heldRetentions }
    for direction in [IterDirection.source, .destination] {
      let report = checkIterConformance(of: "IterChain (\(direction))", options: options) { bytes, seed in
        var rng = SeededGenerator(seed: seed)
        return try factory.chain(bytes, direction: direction, &rng)
      }
      report.recordIssues()
      #expect(report.isClean)
    }
  }

  /// Header in kernel-virtual memory, payload in page fragments, trailer in a
  /// user buffer, read into user memory + discard + kernel-virtual memory.
  @Test func headerPayloadTrailerIntoAChainWithDiscardInTheMiddle() throws {
    let factory = try MemberFactory()
    var rng = SeededGenerator(seed: 7)
    let header = Array("HEADER:".utf8)
    let payload = (0..<9000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
    let trailer = Array(":END".utf8)
    let source = IterChain(direction: .source)
    try source.append(factory.kvec(header, &rng))
    try source.append(factory.pageFragments(payload, &rng))
    let trailerMemory = UnsafeMutableRawBufferPointer.allocate(byteCount: trailer.count, alignment: 8)
    defer { trailerMemory.deallocate() }
    trailerMemory.copyBytes(from: trailer)
    try source.append(UserBuffer(importing: UnsafeRawBufferPointer(trailerMemory)))
    #expect(source.memberCount == 3 && source.byteCount == 9011)

    let first = UnsafeMutableRawBufferPointer.allocate(byteCount: 10, alignment: 8)
    defer { first.deallocate() }
    let slab = try factory.regions.allocate(byteCount: 4096)
    let destination = IterChain(direction: .destination)
    try destination.append(UserBuffer(importing: first))
    try destination.append(DiscardSink(count: 8990))
    try destination.append(KVecArray([KVec(slab, offset: 0, count: 11)]))
    var from = try IovIter(source)
    var into = try IovIter(destination)
    #expect(try into.copy(from: &from) == 9011)
    let all = header + payload + trailer
    #expect(Array(first) == Array(all[0..<10]))
    let tail = slab.withUnsafeMutableBytes { Array($0[0..<11]) }
    #expect(tail == Array(all[9000..<9011]))
    #expect(from.count == 0 && into.count == 0)
  }

  /// A member that exposes one byte per segment must be exported whole
  /// before the next member's bytes (the `bytes` crate's bug #701).
  @Test func gatherNeverReordersAcrossMembers() throws {
    let chain = IterChain(direction: .source)
    try chain.append(OneBytePerSegmentSource(contents: [1, 2, 3, 4, 5]))
    try chain.append(StaccatoSource(contents: [6, 7, 8], segmentSizes: [3]))
    let iter = try IovIter(chain)
    for capacity in 0...8 {
      var vectors = [iovec](repeating: iovec(), count: capacity)
      let result = try vectors.withUnsafeMutableBufferPointer { try iter.gather(into: $0) }
      var exported: [UInt8] = []
      for v in vectors[0..<result.vectorCount] {
        exported += UnsafeRawBufferPointer(start: v.iov_base, count: v.iov_len)
      }
      #expect(exported == Array([1, 2, 3, 4, 5, 6, 7, 8].prefix(exported.count)), "capacity \(capacity)")
      #expect(result.isComplete == (capacity >= 6))
    }
  }

  /// `members` lists each member's source, where its bytes start in that
  /// source, and its byte and segment ranges in the chain: an empty member,
  /// a cursor appended part-way (its source and position), and a chain
  /// appended into a chain (its own members, cut to the range it covered).
  @Test func membersSayWhereEachMemberSits() throws {
    let first = StaccatoSource(contents: [1, 2, 3], segmentSizes: [1, 0, 2])
    let empty = StaccatoSource(contents: [], segmentSizes: [0])
    let chain = try IterChain(direction: .source, members: [first, empty])
    var cursor = try IovIter(StaccatoSource(contents: [4, 5, 6, 7, 8], segmentSizes: [2, 3]), direction: .source)
    try cursor.advance(by: 3)  // inside the second segment: [7, 8] are left
    try chain.append(cursor)
    let inner = try IterChain(
      direction: .source,
      members: [
        StaccatoSource(contents: [9], segmentSizes: [1]), StaccatoSource(contents: [10, 11], segmentSizes: [2]),
      ])
    var innerCursor = try IovIter(inner)
    try innerCursor.advance(by: 2)  // [11] is left, in the inner chain's second member
    try chain.append(innerCursor)

    let members = chain.members
    #expect(members.count == chain.memberCount)
    #expect(members.map(\.bytes) == [0..<3, 3..<3, 3..<5, 5..<6])
    #expect(members.map(\.segments) == [0..<3, 3..<4, 4..<5, 5..<6])
    #expect(
      members.map(\.sourceStart) == [
        IterPosition(segmentIndex: 0, offset: 0), IterPosition(segmentIndex: 0, offset: 0),
        IterPosition(segmentIndex: 1, offset: 1), IterPosition(segmentIndex: 0, offset: 1),
      ])
    #expect(members.allSatisfy { $0.memoryKind == first.memoryKind })
    #expect((members[2].source as? StaccatoSource)?.segmentCount == 2)
    // The ranges tile the chain: bytes and segments, in order, no gaps.
    #expect(members.last?.bytes.upperBound == chain.byteCount)
    #expect(members.last?.segments.upperBound == chain.segmentCount)
    // Each member's bytes read back from the chain are the member's own.
    var iter = try IovIter(chain)
    #expect(try iter.read(upTo: 10) == [1, 2, 3, 7, 8, 11])
    #expect(IterChain(direction: .destination).members.isEmpty)
  }

  @Test func revertCrossesBackIntoEarlierMembers() throws {
    let chain = try IterChain(
      direction: .source,
      members: [
        StaccatoSource(contents: [1, 2, 3], segmentSizes: [1, 0, 2]),
        StaccatoSource(contents: [], segmentSizes: [0]),
        StaccatoSource(contents: [4, 5, 6, 7], segmentSizes: [4]),
      ])
    var iter = try IovIter(chain)
    #expect(try iter.read(upTo: 6) == [1, 2, 3, 4, 5, 6])
    try iter.revert(by: 5)
    #expect(try iter.read(upTo: 3) == [2, 3, 4])
    let state = iter.saveState()
    try iter.advance(by: 10)
    try iter.restore(state)
    #expect(try iter.read(upTo: 10) == [5, 6, 7])
  }

  @Test func extractionStopsAtMemberBoundariesWithEachMembersRetention() throws {
    let factory = try MemberFactory()
    var rng = SeededGenerator(seed: 3)
    let kvec = try factory.kvec([UInt8](repeating: 1, count: 100), &rng)
    let bvec = try factory.pageFragments([UInt8](repeating: 2, count: 100), &rng)
    let user = try factory.userIOVecs([UInt8](repeating: 3, count: 100), &rng)
    let chain = try IterChain(direction: .source, members: [kvec, bvec, user])
    var iter = try IovIter(chain)
    var retained: [IterRetentionKind] = []
    var consumed = 0
    while !iter.isEmpty {
      let member = consumed / 100
      let expected = [IterRetentionKind.ownerReference, .pageReference, .pin][member]
      #expect(try chain.retention(for: [.retain], at: iter.position) == expected)
      #expect(iter.extractionWillPin == (member == 2))
      let extraction = try iter.extractPages(maxBytes: .max, maxPages: 64, options: [.retain])
      #expect(extraction.count > 0 && (consumed + extraction.count - 1) / 100 == member, "a run crossed members")
      retained.append(extraction.retentionKind)
      consumed += extraction.count
      extraction.release()
    }
    #expect(consumed == 300)
    #expect(Set(retained) == [.ownerReference, .pageReference, .pin])
    #expect(factory.heldRetentions == 0)
  }

  @Test func directionsAreCheckedPerMember() throws {
    let source = IterChain(direction: .source)
    #expect(throws: IterError.unsupportedDirection(.source, kind: .discard)) {
      try source.append(DiscardSink(count: 4))
    }
    let memory = StaccatoSource(contents: [1, 2], segmentSizes: [2])
    let destinationCursor = try IovIter(memory, direction: .destination)
    #expect(throws: IterError.wrongDirection(operation: "append to a source chain", direction: .destination)) {
      try source.append(destinationCursor)
    }
    #expect(source.memberCount == 0)
    #expect(throws: IterError.unsupportedDirection(.destination, kind: IterMemoryKind("chain"))) {
      try IovIter(source, direction: .destination)
    }
  }

  @Test func appendWhileInUse() throws {
    let chain = IterChain(direction: .source)
    try chain.append(StaccatoSource(contents: [1, 2], segmentSizes: [2]))
    var iter = try IovIter(chain)
    #expect(try iter.read(upTo: 10) == [1, 2])
    try iter.append(StaccatoSource(contents: [3, 4, 5], segmentSizes: [1, 2]))
    #expect(iter.count == 3)
    #expect(try iter.read(upTo: 10) == [3, 4, 5])
    // Another cursor over the same chain sees the member after extending.
    var other = try IovIter(chain, direction: .source, count: 2)
    try other.extend(by: 3)
    #expect(try other.read(upTo: 10) == [1, 2, 3, 4, 5])
    try iter.revert(by: 5)
    #expect(try iter.read(upTo: 10) == [1, 2, 3, 4, 5])
  }

  /// The cursor walks the chain's segment array in bulk; a member appended
  /// from inside the walk (which reallocates that array) must neither trap
  /// nor move the bytes under the walk, and is there for the next walk.
  @Test func appendFromInsideABulkWalk() throws {
    let chain = IterChain(direction: .source)
    try chain.append(StaccatoSource(contents: Array(1...40), segmentSizes: Array(repeating: 4, count: 10)))
    var iter = try IovIter(chain)
    var seen: [UInt8] = []
    let n = iter.iterateAndAdvance(maxCount: .max) { chunk, _ in
      try? chain.append(StaccatoSource(contents: [99], segmentSizes: [1]))
      seen += Array(chunk)
      return chunk.count
    }
    #expect(n == 40 && seen == Array(1...40))
    #expect(chain.segmentCount == 20)
    try iter.extend(by: 10)
    #expect(try iter.read(upTo: 20) == Array(repeating: 99, count: 10))
  }

  /// A chain is a handle: a copy of the value shares the storage.
  @Test func copiesOfAChainShareItsStorage() throws {
    let chain = IterChain(direction: .source)
    let copy = chain
    try copy.append(StaccatoSource(contents: [9, 8, 7], segmentSizes: [1, 2]))
    #expect(chain.segmentCount == 2)
    var iter = try IovIter(chain)
    #expect(try iter.read(upTo: 10) == [9, 8, 7])
    let independent = IterChain(direction: .source)
    #expect(independent.segmentCount == 0)
  }

  @Test func nestedChainsAndTheSameMemberTwice() throws {
    let inner = try IterChain(
      direction: .source,
      members: [
        StaccatoSource(contents: [1, 2], segmentSizes: [1, 1])
      ])
    let outer = try IterChain(direction: .source, members: [inner, inner])
    try outer.append(outer)  // a snapshot of itself: its four bytes again
    var iter = try IovIter(outer)
    #expect(try iter.read(upTo: 100) == [1, 2, 1, 2, 1, 2, 1, 2])
    var extraction = try IovIter(outer)
    try extraction.advance(by: 6)
    let run = try extraction.extractPages(maxBytes: .max, maxPages: 4)
    #expect(run.count == 1)
  }

  @Test func cursorMembersContributeOnlyWhatIsLeft() throws {
    let memory = StaccatoSource(contents: Array(0..<20), segmentSizes: [5, 5, 10])
    var cursor = try IovIter(memory, direction: .source)
    try cursor.advance(by: 7)
    try cursor.truncate(to: 6)
    let chain = IterChain(direction: .source)
    try chain.append(cursor)
    #expect(cursor.count == 6)  // not moved by the append
    var iter = try IovIter(chain)
    #expect(try iter.read(upTo: 100) == [7, 8, 9, 10, 11, 12])
    var extracting = try IovIter(chain)
    let run = try extracting.extractPages(maxBytes: .max, maxPages: 4)
    #expect(run.count == 3)  // the rest of the source's second segment
  }
}

@Suite("Chain lifetimes")
struct ChainLifetimeTests {
  final class Tracker: @unchecked Sendable {
    nonisolated(unsafe) static var alive = 0
    let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: 8, alignment: 8)
    init() { Tracker.alive += 1 }
    deinit {
      memory.deallocate()
      Tracker.alive -= 1
    }
  }
  struct Tracked: IterSegmentSource {
    let tracker: Tracker
    var segmentCount: Int { 1 }
    func segment(at index: Int) -> IterSegment { IterSegment(tracker.memory) }
  }

  /// A chain that appends itself, or two chains that append each other, hold
  /// no reference cycle: appending a chain appends its members.
  @Test func chainsThatAppendEachOtherAreFreed() throws {
    let before = Tracker.alive
    do {
      let a = IterChain(direction: .source)
      try a.append(Tracked(tracker: Tracker()))
      try a.append(a)
      let b = IterChain(direction: .source)
      try b.append(a)
      try a.append(b)
      #expect(a.byteCount == 8 * 4 && a.memberCount == 4)
      var iter = try IovIter(a)
      _ = try iter.read(upTo: 32)
      #expect(Tracker.alive == before + 1)
    }
    #expect(Tracker.alive == before)
  }

  @Test func aChainCursorAppendedToAChainAddsItsRemainingMembers() throws {
    let inner = try IterChain(
      direction: .source,
      members: [
        StaccatoSource(contents: [1, 2, 3], segmentSizes: [3]),
        StaccatoSource(contents: [4, 5, 6], segmentSizes: [1, 2]),
        StaccatoSource(contents: [7, 8, 9], segmentSizes: [3]),
      ])
    var cursor = try IovIter(inner)
    try cursor.advance(by: 4)
    try cursor.truncate(to: 3)
    let outer = IterChain(direction: .source)
    try outer.append(cursor)
    #expect(outer.memberCount == 2)
    var iter = try IovIter(outer)
    #expect(try iter.read(upTo: 10) == [5, 6, 7])
    var extracting = try IovIter(outer)
    let run = try extracting.extractPages(maxBytes: .max, maxPages: 4)
    #expect(run.count == 2)  // the middle member's rest, never into the next member
  }
}

@Suite("Discard chunks")
struct DiscardChunkTests {
  /// Skipping memoryless bytes takes them whole, not maxCount at a time (a
  /// fuzzer found the old loop took count/maxCount steps).
  @Test func nextMutableChunkSkipsAHugeDiscardAtOnce() throws {
    var iter = try IovIter(discarding: Int.max / 2)
    let clock = ContinuousClock()
    let start = clock.now
    let chunk = try iter.nextMutableChunk(maxCount: 1)
    #expect(chunk.byteCount == 0)
    #expect(iter.count == 0)
    #expect(clock.now - start < .seconds(1))
  }
}

@Suite("Appending through a cursor")
struct ChainCursorAppendTests {
  /// Found by the fuzzer's author: a cursor whose range stops before the
  /// chain's end would have taken in the bytes after its range.
  @Test func appendThroughACursorWhoseRangeStopsShortIsRefused() throws {
    let chain = try IterChain(direction: .source, members: [StaccatoSource(contents: [1, 2, 3, 4], segmentSizes: [4])])
    let whole = try IovIter(chain)
    var (head, _) = try whole.split(at: 2)
    #expect(throws: IterError.self) { try head.append(StaccatoSource(contents: [9], segmentSizes: [1])) }
    #expect(chain.byteCount == 4 && head.count == 2)
    var tail = try whole.split(at: 2).tail
    try tail.append(StaccatoSource(contents: [9], segmentSizes: [1]))
    #expect(try tail.read(upTo: 10) == [3, 4, 9])
  }
}
