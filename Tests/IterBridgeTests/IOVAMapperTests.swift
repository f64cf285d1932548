//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterBridge
import IterCore
import Testing

@Suite("IOVAMapper")
struct IOVAMapperTests {
  /// A request over made-up physical pages given as (address, length) pieces.
  func request(_ pieces: [(UInt, Int)], limits: DMALimits) throws -> BioVecRequest {
    let list = UnsafeSegmentList(
      pieces.map { IterSegment(base: UnsafeMutableRawPointer(bitPattern: $0.0), count: $0.1) })
    var iter = try IovIter(list, direction: .source)
    var mapper = BioVecMapper(limits: limits, translator: IdentityTranslator())
    var r = BioVecRequest(for: limits)
    _ = try mapper.mapNextRequest(from: &iter, into: &r)
    return r
  }

  @Test func pageAlignedRequestBecomesOneRange() throws {
    let limits = try DMALimits(dmaAlignment: 0)
    // Three discontiguous physical pieces, inner boundaries on 4 KiB.
    let r = try request([(0x10_0100, 0xF00), (0x50_0000, 0x2000), (0x90_0000, 0x80)], limits: limits)
    #expect(r.count == 3)
    let allocator = try SimpleIOVAAllocator(base: 0x1_0000_0000, size: 1 << 30)
    let mapper = IOVAMapper(allocator: allocator)
    var ranges: [DMARange] = []
    let mapping = try mapper.map(r, into: &ranges)
    #expect(mapping.kind == .coalesced)
    #expect(ranges.count == 1 && ranges[0].length == UInt64(r.byteCount))
    #expect(ranges[0].address & 0xFFF == 0x100)
    #expect(allocator.syncCount == 1)
    // Every byte of the range leads back to the chunk's physical byte.
    var offset: UInt64 = 0
    for v in r.array {
      #expect(allocator.physicalAddress(of: ranges[0].address + offset) == v.address)
      #expect(allocator.physicalAddress(of: ranges[0].address + offset + UInt64(v.length) - 1) == v.endAddress - 1)
      offset += UInt64(v.length)
    }
    let before = allocator.freeBytes
    mapper.unmap(mapping, ranges: ranges)
    #expect(allocator.freeBytes > before && allocator.freeBytes == 1 << 30)
  }

  @Test func aRequestMixingDeviceMemoryAndRAMMapsTheRAMAndPassesTheBusAddressesThrough() throws {
    let limits = try DMALimits(dmaAlignment: 0)
    // RAM at 0x10_0000 (identity), then an aperture whose CPU mapping is at
    // 0x80_0000 and whose bus address is 0x4000_0000.
    let aperture = try DeviceAperture(cpuAddress: 0x80_0000, length: 0x2000, busAddress: 0x4000_0000)
    let translator = try DeviceApertureTranslator(apertures: [aperture], ram: IdentityTranslator())
    let list = UnsafeSegmentList([
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x10_0000), count: 0x1000),
      IterSegment(base: UnsafeMutableRawPointer(bitPattern: 0x80_0000), count: 0x1000),
    ])
    var iter = try IovIter(list, direction: .source)
    var mapper = BioVecMapper(limits: limits, translator: translator)
    var r = BioVecRequest(for: limits)
    _ = try mapper.mapNextRequest(from: &iter, into: &r)
    try #require(r.count == 2)
    #expect(!r[0].flags.contains(.busAddress) && r[1].flags.contains(.busAddress))
    let allocator = try SimpleIOVAAllocator(base: 0x1_0000_0000, size: 1 << 30)
    let iova = IOVAMapper(allocator: allocator)
    var ranges: [DMARange] = []
    let mapping = try iova.map(r, into: &ranges)
    #expect(mapping.kind == .perSegment)
    try #require(ranges.count == 2)
    // The RAM chunk went through the allocator; the device chunk is its bus address.
    #expect(ranges[0].flags.isEmpty && allocator.physicalAddress(of: ranges[0].address) == 0x10_0000)
    #expect(ranges[1] == DMARange(address: 0x4000_0000, length: 0x1000, flags: .busAddress))
    #expect(allocator.freeBytes < 1 << 30)
    iova.unmap(mapping, ranges: ranges)
    #expect(allocator.freeBytes == 1 << 30)
  }

  @Test func gapInsideAGranuleFallsBackPerSegment() throws {
    let limits = try DMALimits(dmaAlignment: 0)
    let r = try request([(0x10_0000, 0x800), (0x50_0000, 0x1000)], limits: limits)
    let allocator = try SimpleIOVAAllocator(base: 0x1_0000_0000, size: 1 << 30)
    let mapper = IOVAMapper(allocator: allocator)
    var ranges: [DMARange] = []
    let mapping = try mapper.map(r, into: &ranges)
    #expect(mapping.kind == .perSegment)
    #expect(ranges.count == 2)
    for (v, range) in zip(r.array, ranges) { #expect(allocator.physicalAddress(of: range.address) == v.address) }
    mapper.unmap(mapping, ranges: ranges)
    #expect(allocator.freeBytes == 1 << 30)
  }

  @Test func fullApertureFallsBackThenFailsTyped() throws {
    let limits = try DMALimits(dmaAlignment: 0)
    let r = try request([(0x10_0000, 0x1000), (0x50_0000, 0x1000)], limits: limits)
    let allocator = try SimpleIOVAAllocator(base: 0x1000, size: 0x1000)
    var ranges: [DMARange] = []
    #expect(throws: DMAError.iovaExhausted(size: 0x1000)) {
      _ = try IOVAMapper(allocator: allocator).map(r, into: &ranges)
    }
    #expect(ranges.isEmpty && allocator.freeBytes == 0x1000)
  }

  @Test func badAllocatorsAreTypedErrors() {
    #expect(throws: DMAError.self) { try SimpleIOVAAllocator(base: 0, size: 4096, granule: 3000) }
    #expect(throws: DMAError.self) { try SimpleIOVAAllocator(base: 1, size: 4096) }
    #expect(throws: DMAError.self) { try SimpleIOVAAllocator(base: UInt64.max - 4095, size: 8192) }
  }
}
