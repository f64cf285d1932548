//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

/// A folio that still holds references, as ``PagePool/audit()`` reports it.
///
/// An allocated folio always has at least one reference (the pool frees it at
/// 0), so every allocated folio is reported; after code that put every
/// reference it got, the audit is empty.
///
/// Sendable: plain values.
public struct PageLeak: Hashable, Sendable, CustomStringConvertible {
  /// The frame number of the folio's first page.
  public let frame: Int
  /// The folio's order.
  public let order: Int
  /// The folio's reference count.
  public let references: Int
  /// The address of the folio's first byte.
  public let address: UInt

  /// Creates a report.
  ///
  /// - Complexity: O(1).
  public init(frame: Int, order: Int, references: Int, address: UInt) {
    self.frame = frame
    self.order = order
    self.references = references
    self.address = address
  }

  /// `order-N folio at frame F (0x…): R references`.
  public var description: String {
    "order-\(order) folio at frame \(frame) (0x\(String(address, radix: 16))): "
      + "\(references) reference\(references == 1 ? "" : "s")"
  }
}
