//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

public import IterCore

/// Everything that can go wrong between an iterator and a device: limits,
/// translation, mapping and IOVA allocation.
///
/// Every case carries the values that show the problem. An operation that
/// throws one leaves its iterator where it was.
///
/// Sendable: plain values, as every `Error` is.
public enum DMAError: Error, Hashable, Sendable {
  /// A DMA limit is out of range on its own: zero where zero means nothing,
  /// a mask that is not `2^k - 1`, a value below the kernel's minimum. The
  /// kernel's `blk_validate_limits` returns `-EINVAL` (with a `WARN`).
  case invalidLimit(name: String, value: UInt64, reason: String)
  /// Two limits contradict each other (a virt boundary with a finite
  /// `max_segment_size`, a logical block larger than `max_hw_sectors`).
  case contradictoryLimits(String)

  /// The translator does not know the address (outside its pool, table or
  /// mapping).
  case notTranslatable(address: UInt)
  /// `/proc/self/pagemap` says the page is not present (never touched, or
  /// dropped): there is no frame to give.
  case pageNotPresent(address: UInt)
  /// `/proc/self/pagemap` says the page is swapped out.
  case pageSwapped(address: UInt)
  /// `/proc/self/pagemap` reads the page as present but shows frame 0: the
  /// process lacks `CAP_SYS_ADMIN`, so the kernel hides frame numbers (since
  /// Linux 4.2). Not the same as a missing page: the memory is there, the
  /// frames are not visible.
  case framesHidden(address: UInt)
  /// A system call failed (`errno` and the call's name).
  case systemCall(name: String, errno: Int32)

  /// A piece of the buffer breaks the device's `dma_alignment`: its start or
  /// its length is not a multiple of `alignmentMask + 1`. `piece` counts the
  /// pieces of the request from 0; `offset` is the piece's first byte, counted
  /// from the request's start. The kernel's `bio_split_io_at` returns `-EINVAL`.
  case misaligned(piece: Int, offset: Int, address: UInt, length: Int, alignmentMask: UInt32)
  /// Cutting the request at a limit and rounding down to the logical block
  /// size leaves nothing (the kernel's `bio_split_io_at` returns `-EINVAL`).
  case requestBelowBlockSize(bytes: Int, logicalBlockSize: Int)
  /// The request buffer holds fewer entries than `max_segments`.
  case requestBufferTooSmall(capacity: Int, maxSegments: Int)
  /// The iterator has bytes without memory (a discard sink): a device cannot
  /// be given an address for them.
  case noMemory(offset: Int)
  /// The iterator refused an operation (extraction, revert).
  case iterator(IterError)

  /// The IOVA allocator has no room for `size` bytes.
  case iovaExhausted(size: UInt64)
  /// An IOVA link breaks the merge boundary: every link but the first must
  /// start on it and every link but the last must end on it (the kernel's
  /// `dma_iova_link` rule).
  case iovaLinkMisaligned(offset: UInt64, length: UInt64, mergeBoundary: UInt64)
}

extension DMAError: CustomStringConvertible {
  /// What went wrong in words, with addresses in hexadecimal.
  public var description: String {
    func hex<T: BinaryInteger>(_ value: T) -> String { "0x" + String(value, radix: 16) }
    switch self {
    case .invalidLimit(let name, let value, let reason):
      return "DMA limit \(name) = \(value) (\(hex(value))) is invalid: \(reason)"
    case .contradictoryLimits(let reason):
      return "DMA limits contradict each other: \(reason)"
    case .notTranslatable(let address):
      return "the translator does not know the address \(hex(address))"
    case .pageNotPresent(let address):
      return "the page at \(hex(address)) is not present (never touched, or dropped): no frame to give"
    case .pageSwapped(let address):
      return "the page at \(hex(address)) is swapped out: no frame to give"
    case .framesHidden(let address):
      return "/proc/self/pagemap hides the frame of \(hex(address)) (frame numbers need CAP_SYS_ADMIN)"
    case .systemCall(let name, let errno):
      return "\(name) failed with errno \(errno)"
    case .misaligned(let piece, let offset, let address, let length, let alignmentMask):
      return "piece \(piece) at request offset \(offset) (address \(hex(address)), \(length) bytes) "
        + "breaks dma_alignment: start and length must be multiples of \(UInt64(alignmentMask) + 1)"
    case .requestBelowBlockSize(let bytes, let logicalBlockSize):
      return
        "cutting the request at a limit leaves \(bytes) bytes, less than one \(logicalBlockSize)-byte logical block"
    case .requestBufferTooSmall(let capacity, let maxSegments):
      return "the request buffer holds \(capacity) entries, fewer than max_segments (\(maxSegments))"
    case .noMemory(let offset):
      return
        "the bytes at offset \(offset) have no memory (a discard sink): a device cannot be given an address for them"
    case .iterator(let error):
      return "the iterator refused: \(error)"
    case .iovaExhausted(let size):
      return "the IOVA allocator has no room for \(size) bytes"
    case .iovaLinkMisaligned(let offset, let length, let mergeBoundary):
      return "IOVA link at \(hex(offset)) of \(length) bytes breaks the merge boundary \(hex(mergeBoundary))"
    }
  }
}
