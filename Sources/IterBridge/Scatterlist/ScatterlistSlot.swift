//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// One entry of one array: what the kernel passes around as a
/// `struct scatterlist *`.
///
/// A slot holds its array, so the entry it names stays valid. Make one with
/// ``ScatterlistArray/slot(at:)``.
///
/// Not Sendable: it names an entry of a ``ScatterlistArray``, which is written in place.
public struct ScatterlistSlot {
  /// The array.
  public let array: ScatterlistArray
  /// The entry's index in ``array``.
  public let index: Int

  internal init(_array: ScatterlistArray, index: Int) {
    self.array = _array
    self.index = index
  }

  /// The entry the slot names.
  ///
  /// - Complexity: O(1).
  public var entry: ScatterlistEntry { array._entries[index] }

  /// Whether two slots name the same entry of the same array.
  ///
  /// - Complexity: O(1).
  public func isSame(as other: ScatterlistSlot) -> Bool {
    array === other.array && index == other.index
  }

  /// The entry after this one: `nil` when this one is marked as the end;
  /// otherwise the next entry of the array, or, when that is a link, the
  /// entry the link leads to.
  ///
  /// - Throws: `IterError.invalidSegment(index:count:reason:)` (with this
  ///   slot's index) when the array ends without an end mark (the kernel
  ///   reads past the allocation), or the link points nowhere, past its
  ///   array, or at another link.
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `sg_next`.
  public func next() throws(IterError) -> ScatterlistSlot? {
    let e = entry
    if e.isEnd { return nil }
    let n = index + 1
    guard n < array.count else {
      throw .invalidSegment(
        index: index, count: e.length, reason: "the array ends here without an end marker or a chain link")
    }
    let following = array._entries[n]
    guard let target = following.chainTarget else { return ScatterlistSlot(_array: array, index: n) }
    guard let to = target.array else {
      throw .invalidSegment(index: n, count: 0, reason: "the chain link points nowhere")
    }
    guard target.index >= 0, target.index < to.count else {
      throw .invalidSegment(
        index: n, count: 0, reason: "the chain link points to entry \(target.index) of a \(to.count)-entry array")
    }
    guard !to._entries[target.index].isChain else {
      throw .invalidSegment(index: n, count: 0, reason: "the chain link points at another chain link")
    }
    return ScatterlistSlot(_array: to, index: target.index)
  }
}

/// Walks a list entry by entry, checking what it reaches: at most `limit`
/// entries, no cycle, no link as the first entry.
internal struct _ScatterlistWalker {
  /// The entry the walker will yield next, or `nil` at the end.
  private var _next: ScatterlistSlot?
  private var _remaining: Int
  /// Walk positions so far (the index errors report).
  internal private(set) var position = 0
  private var _started = false
  /// Link targets followed, to find cycles; the arrays are kept alive so
  /// their identities stay unique.
  private var _visited: [ObjectIdentifier: [Int]] = [:]
  private var _keep: [ScatterlistArray] = []

  internal init(first: ScatterlistSlot?, limit: Int) throws(IterError) {
    guard limit >= 0 else { throw .negativeCount(argument: "nents", value: limit) }
    if let first, first.entry.isChain {
      throw .invalidSegment(index: 0, count: 0, reason: "the list starts with a chain link")
    }
    _next = limit > 0 ? first : nil
    _remaining = limit
    if let first {
      _visited[ObjectIdentifier(first.array)] = [first.index]
      _keep.append(first.array)
    }
  }

  /// The next slot, or `nil` when the list or the limit ends.
  internal mutating func next() throws(IterError) -> ScatterlistSlot? {
    guard _remaining > 0, let current = _next else { return nil }
    if _started { position += 1 }
    _started = true
    _remaining -= 1
    if _remaining == 0 {
      _next = nil
      return current
    }
    // Step now so that the caller sees the error at the entry that causes it.
    let following: ScatterlistSlot?
    do throws(IterError) {
      following = try current.next()
    } catch {
      throw _renumber(error)
    }
    if let following, following.array !== current.array || following.index != current.index + 1 {
      let id = ObjectIdentifier(following.array)
      if _visited[id]?.contains(following.index) == true {
        throw .invalidSegment(
          index: position, count: 0,
          reason: "cyclic chain: the link after walk entry \(position) leads back to an entry already walked")
      }
      _visited[id, default: []].append(following.index)
      _keep.append(following.array)
      // A walk that re-enters an array at an earlier entry than it left
      // without a new link is caught here too: every re-entry goes through
      // a link, and a link target walked before is a cycle.
    }
    _next = following
    return current
  }

  private func _renumber(_ error: IterError) -> IterError {
    if case .invalidSegment(_, let count, let reason) = error {
      return .invalidSegment(index: position, count: count, reason: reason)
    }
    return error
  }
}

@available(*, unavailable, message: "it names an entry of a ScatterlistArray, which is written in place")
extension ScatterlistSlot: Sendable {}
