//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore

/// One page reference to take: the folio that holds the page, and the index
/// of the cursor segment it was listed for (to name it in an error).
internal struct _PageReference {
  internal var folio: Folio
  internal var segmentIndex: Int
  internal var segmentCount: Int
}

/// Takes one reference per listed page (`folio_get` on the page's folio, so a
/// folio under *n* listed pages gains *n*), all or nothing, and returns a
/// retention whose release puts each of them exactly once.
///
/// - Throws: `IterError.invalidSegment(index:count:reason:)` naming the
///   first segment whose folio is no longer live; nothing is held then.
internal func _takePageReferences(_ references: [_PageReference]) throws(IterError) -> IterRetention {
  var groups: [(pool: PagePool, folios: [Folio])] = []
  for r in references {
    if let k = groups.firstIndex(where: { $0.pool === r.folio.pool }) {
      groups[k].folios.append(r.folio)
    } else {
      groups.append((r.folio.pool, [r.folio]))
    }
  }
  for (k, group) in groups.enumerated() {
    do throws(PagePoolError) {
      try group.pool._adjust(group.folios, by: 1)
    } catch {
      for earlier in groups[..<k] { try? earlier.pool._adjust(earlier.folios, by: -1) }
      let frame: Int? =
        switch error {
        case .notAllocated(let f), .staleFolio(let f, _), .referenceOverflow(let f, _): f
        default: nil
        }
      let culprit =
        references.first { $0.folio.pool === group.pool && $0.folio.frame == frame }
        ?? references.first { $0.folio.pool === group.pool } ?? references[0]
      throw .invalidSegment(
        index: culprit.segmentIndex, count: culprit.segmentCount,
        reason: "cannot take a page reference: \(error)")
    }
  }
  let held = groups
  return IterRetention(kind: .pageReference) {
    for group in held {
      do throws(PagePoolError) {
        try group.pool._adjust(group.folios, by: -1)
      } catch {
        // Someone put references they did not own; put what is still ours.
        for folio in group.folios { try? group.pool.put(folio) }
      }
    }
  }
}
