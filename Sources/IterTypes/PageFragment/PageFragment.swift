//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterCore

/// One entry of a ``BioVecArray``: `length` bytes of a folio, starting
/// `offset` bytes into it.
///
/// As in the kernel, an entry may cover several pages of a multi-page folio,
/// and its offset may be a page size or more (an offset into the folio, not
/// into its first page). Like a multi-page `bio_vec`, it may also run on past
/// the end of its folio over the frames that follow it in the pool's arena,
/// when those are allocated. The entry is plain data; ``BioVecArray``
/// validates it when it is added.
///
/// The corresponding kernel structure is `struct bio_vec`
/// (`bv_page`, `bv_offset`, `bv_len`), as `bvec_set_folio` fills it.
///
/// Sendable: a `Sendable` folio and two integers.
public struct PageFragment: Hashable, Sendable, CustomStringConvertible {
  /// The folio the bytes live in.
  public var folio: Folio
  /// The offset of the first byte from the folio's first byte.
  public var offset: Int
  /// The number of bytes.
  public var length: Int

  /// Describes `length` bytes of `folio` from `offset`.
  ///
  /// - Parameters:
  ///   - folio: The folio.
  ///   - offset: Bytes from the folio's start; may be past its first page.
  ///   - length: The number of bytes; `nil` for the rest of the folio
  ///     (`Int.max` when that overflows, which only a negative offset can do;
  ///     ``BioVecArray`` refuses it).
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `bvec_set_folio`.
  public init(folio: Folio, offset: Int = 0, length: Int? = nil) {
    self.folio = folio
    self.offset = offset
    // A negative offset is refused when the entry is added; here it must
    // not overflow.
    let (rest, overflow) = folio.byteCount.subtractingReportingOverflow(offset)
    self.length = length ?? (overflow ? Int.max : rest)
  }

  /// The address of the first byte.
  ///
  /// - Complexity: O(1).
  ///
  /// The corresponding kernel function is `bvec_virt`.
  public var address: UInt { folio.address &+ UInt(bitPattern: offset) }

  /// `folio+offset:length`.
  public var description: String { "\(folio)+\(offset):\(length)" }
}
