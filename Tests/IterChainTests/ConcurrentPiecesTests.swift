//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore
import IterTestSupport
import IterTypes
import Testing

/// A chain's cursor crossing into a task. `IterChain` is not `Sendable`: an
/// append changes storage every copy sees. These tests append nothing once
/// the tasks start, which the type system cannot express; ThreadSanitizer
/// checks that walking one chain from several tasks at once is then race-free.
private struct FrozenChainPiece: @unchecked Sendable {
  var cursor: IovIter<IterChain>
}

/// The bytes `kind` holds, read through a fresh source cursor.
private func contents<S: IterSegmentSource>(of kind: S) throws -> [UInt8] {
  var reader = try IovIter(kind, direction: .source)
  return try reader.read(upTo: reader.count)
}

/// Where each piece starts in the whole: the sum of the counts before it.
private func starts<S>(of pieces: [IovIter<S>]) -> [Int] {
  var at = 0
  return pieces.map { piece in
    defer { at += piece.count }
    return at
  }
}

/// Runs `body` on every piece, each in its own task, all at once, and
/// returns what each gave, in the pieces' order.
private func eachInItsOwnTask<P: Sendable, R: Sendable>(
  _ pieces: [P], _ body: @escaping @Sendable (Int, P) throws -> R
) async throws -> [R] {
  try await withThrowingTaskGroup(of: (Int, R).self) { group in
    for (index, piece) in pieces.enumerated() {
      group.addTask {
        let result = try body(index, piece)
        return (index, result)
      }
    }
    var results: [R?] = Array(repeating: nil, count: pieces.count)
    for try await (index, result) in group { results[index] = result }
    return results.map { $0! }
  }
}

/// Splits a destination cursor over `kind` into `pieceCount` pieces, writes
/// `payload`'s share into each piece from its own task, all at once, and
/// returns what the memory holds afterwards.
private func writeConcurrently<S: IterSegmentSource & Sendable>(
  _ payload: [UInt8], into kind: S, pieceCount: Int
) async throws -> [UInt8] {
  let pieces = try IovIter(kind, direction: .destination).split(maxPieceCount: pieceCount)
  #expect(pieces.map(\.count).reduce(0, +) == payload.count)
  let at = starts(of: pieces)
  // Each piece is sent to a task: IovIter<S> is Sendable because S is.
  let left = try await eachInItsOwnTask(pieces) { index, piece in
    var piece = piece
    try piece.writeFull(Array(payload[at[index]..<(at[index] + piece.count)]))
    return piece.count
  }
  #expect(left.allSatisfy { $0 == 0 })
  return try contents(of: kind)
}

/// Splits a source cursor over `kind` into `pieceCount` pieces, reads each
/// from its own task, all at once, and returns the pieces' bytes in order.
private func readConcurrently<S: IterSegmentSource & Sendable>(
  from kind: S, pieceCount: Int
) async throws -> [UInt8] {
  let pieces = try IovIter(kind, direction: .source).split(maxPieceCount: pieceCount)
  return try await eachInItsOwnTask(pieces) { _, piece in
    var piece = piece
    return try piece.read(upTo: piece.count)
  }.flatMap { $0 }
}

/// `count` random bytes.
private func randomBytes(_ count: Int, _ rng: inout SeededGenerator) -> [UInt8] {
  (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
}

@Suite("Split pieces copied from several tasks at once", .serialized)
struct ConcurrentPiecesTests {
  static let sizes = [1, 4097, 70_000]

  /// Random bytes of `size`, a zeroed destination of each kind, and the
  /// payload written into 12 pieces at once: every byte lands where it belongs.
  @Test(arguments: sizes)
  func destinationPiecesFromManyTasks(size: Int) async throws {
    let memory = try KindMemory(pageCount: 4096, maxOrder: 5)
    var rng = SeededGenerator(seed: TestSeed.base ^ 0xC0C0 ^ UInt64(size))
    let payload = randomBytes(size, &rng)
    let zeros = [UInt8](repeating: 0, count: size)

    let user = try memory.userIOVecs(zeros, &rng)
    #expect(try await writeConcurrently(payload, into: user, pieceCount: 12) == payload)
    let kvec = try memory.kvec(zeros, &rng)
    #expect(try await writeConcurrently(payload, into: kvec, pieceCount: 12) == payload)
    let bvec = try memory.pageFragments(zeros, &rng)
    #expect(try await writeConcurrently(payload, into: bvec, pieceCount: 12) == payload)
    try memory.releaseFolios()
  }

  /// The same through one chain of the three kinds (a third of the bytes in
  /// each): the pieces walk the chain's shared storage from every task.
  @Test(arguments: sizes)
  func chainDestinationPiecesFromManyTasks(size: Int) async throws {
    let memory = try KindMemory(pageCount: 4096, maxOrder: 5)
    var rng = SeededGenerator(seed: TestSeed.base ^ 0xC4A1 ^ UInt64(size))
    let payload = randomBytes(size, &rng)
    let thirds = [0, size / 3, 2 * size / 3, size]
    let user = try memory.userIOVecs([UInt8](repeating: 0, count: thirds[1]), &rng)
    let bvec = try memory.pageFragments([UInt8](repeating: 0, count: thirds[2] - thirds[1]), &rng)
    let kvec = try memory.kvec([UInt8](repeating: 0, count: size - thirds[2]), &rng)
    let chain = IterChain(direction: .destination)
    try chain.append(user)
    try chain.append(bvec)
    try chain.append(kvec)

    let pieces = try IovIter(chain).split(maxPieceCount: 12).map(FrozenChainPiece.init)
    let at = starts(of: pieces.map(\.cursor))
    _ = try await eachInItsOwnTask(pieces) { index, piece in
      var cursor = piece.cursor
      try cursor.writeFull(Array(payload[at[index]..<(at[index] + cursor.count)]))
    }
    let got = try contents(of: user) + contents(of: bvec) + contents(of: kvec)
    #expect(got == payload)
    try memory.releaseFolios()
  }

  /// Source pieces of each kind read from 12 tasks at once give the bytes
  /// in order; and a chain of the three, likewise.
  @Test(arguments: sizes)
  func sourcePiecesFromManyTasks(size: Int) async throws {
    let memory = try KindMemory(pageCount: 4096, maxOrder: 5)
    var rng = SeededGenerator(seed: TestSeed.base ^ 0x50C0 ^ UInt64(size))
    let payload = randomBytes(size, &rng)

    let user = try memory.userIOVecs(payload, &rng)
    #expect(try await readConcurrently(from: user, pieceCount: 12) == payload)
    let kvec = try memory.kvec(payload, &rng)
    #expect(try await readConcurrently(from: kvec, pieceCount: 12) == payload)
    let bvec = try memory.pageFragments(payload, &rng)
    #expect(try await readConcurrently(from: bvec, pieceCount: 12) == payload)

    let chain = IterChain(direction: .source)
    try chain.append(user)
    try chain.append(kvec)
    try chain.append(bvec)
    let pieces = try IovIter(chain).split(maxPieceCount: 12).map(FrozenChainPiece.init)
    let read = try await eachInItsOwnTask(pieces) { _, piece in
      var cursor = piece.cursor
      return try cursor.read(upTo: cursor.count)
    }.flatMap { $0 }
    #expect(read == payload + payload + payload)
    try memory.releaseFolios()
  }

}
