//===----------------------------------------------------------------------===//
// swift-iov-iter
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//

import IterBridge
import IterCore
import IterDeviceMemory
import IterPageFragment
import IterTestSupport
import Testing

extension DeviceAperture {
  /// The bridge's description of `memory` (what a driver would register).
  init(_ memory: DeviceMemory, region: UInt32 = 1, attributes: BioVecFlags = .busAddress) throws(DMAError) {
    try self.init(
      cpuAddress: memory.address, length: memory.byteCount, busAddress: memory.busAddress, region: region,
      attributes: attributes)
  }
}

@Suite("Device memory through the bridge")
struct DeviceMemoryBridgeTests {
  let pageSize = IterPage.size

  @Test func theTranslatorGivesBusAddressesToTheApertureEnd() throws {
    let bar = try DeviceMemory(byteCount: 3 * pageSize, busAddress: 0xC000_0000)
    let t = try DeviceApertureTranslator(apertures: [try DeviceAperture(bar)])
    let run = try t.translate(bar.address + 100, length: 10 * pageSize)
    #expect(run == PhysicalRun(address: 0xC000_0064, length: 3 * pageSize - 100, attributes: .busAddress, region: 1))
    #expect(try t.translate(bar.address + 100, length: 5).length == 5)
    #expect(t.virtualAddress(of: 0xC000_0064) == bar.address + 100)
    #expect(t.virtualAddress(of: 0xC000_0000 + UInt64(3 * pageSize)) == nil)
    // Outside every aperture and without RAM: not translatable.
    #expect(
      thrown { () throws(DMAError) in _ = try t.translate(bar.address - 1, length: 1) }
        == .notTranslatable(address: bar.address - 1))
    #expect(
      thrown { () throws(DMAError) in _ = try t.translate(bar.address + UInt(3 * pageSize), length: 1) }
        == .notTranslatable(address: bar.address + UInt(3 * pageSize)))
    // RAM below an aperture is never asked past the aperture's start.
    let withRAM = try DeviceApertureTranslator(apertures: [try DeviceAperture(bar)], ram: IdentityTranslator())
    let below = try withRAM.translate(bar.address - 10, length: 100)
    #expect(below == PhysicalRun(address: UInt64(bar.address - 10), length: 10))
    // MMIO apertures carry the flag too.
    let mmio = try DeviceApertureTranslator(apertures: [
      try DeviceAperture(bar, region: 7, attributes: [.busAddress, .mmio])
    ])
    let m = try mmio.translate(bar.address, length: 1)
    #expect(m.attributes == [.busAddress, .mmio] && m.region == 7)
  }

  @Test func badAperturesAreTypedErrors() throws {
    let cases: [(String, () throws(DMAError) -> Void)] = [
      ("empty", { () throws(DMAError) in _ = try DeviceAperture(cpuAddress: 0x1000, length: 0, busAddress: 0) }),
      ("negative", { () throws(DMAError) in _ = try DeviceAperture(cpuAddress: 0x1000, length: -4096, busAddress: 0) }),
      (
        "cpu wraps", { () throws(DMAError) in _ = try DeviceAperture(cpuAddress: .max - 10, length: 12, busAddress: 0) }
      ),
      (
        "bus wraps", { () throws(DMAError) in _ = try DeviceAperture(cpuAddress: 0, length: 12, busAddress: .max - 10) }
      ),
      (
        "region 0",
        { () throws(DMAError) in _ = try DeviceAperture(cpuAddress: 0, length: 1, busAddress: 0, region: 0) }
      ),
      (
        "no flags",
        { () throws(DMAError) in _ = try DeviceAperture(cpuAddress: 0, length: 1, busAddress: 0, attributes: []) }
      ),
      (
        "bounce flag",
        { () throws(DMAError) in
          _ = try DeviceAperture(cpuAddress: 0, length: 1, busAddress: 0, attributes: [.busAddress, .needsBounce])
        }
      ),
      (
        "cpu overlap",
        { () throws(DMAError) in
          _ = try DeviceApertureTranslator(apertures: [
            try DeviceAperture(cpuAddress: 0x10000, length: 0x2000, busAddress: 0),
            try DeviceAperture(cpuAddress: 0x11000, length: 0x1000, busAddress: 0x10000),
          ])
        }
      ),
      (
        "bus overlap",
        { () throws(DMAError) in
          _ = try DeviceApertureTranslator(apertures: [
            try DeviceAperture(cpuAddress: 0x10000, length: 0x1000, busAddress: 0x5000),
            try DeviceAperture(cpuAddress: 0x20000, length: 0x1000, busAddress: 0x4800),
          ])
        }
      ),
    ]
    for (name, make) in cases {
      let error = thrown(make)
      guard case .invalidLimit? = error else {
        Issue.record("\(name): \(String(describing: error))")
        continue
      }
    }
    // Neighbours in both spaces are fine.
    _ = try DeviceApertureTranslator(apertures: [
      try DeviceAperture(cpuAddress: 0x11000, length: 0x1000, busAddress: 0x1000),
      try DeviceAperture(cpuAddress: 0x10000, length: 0x1000, busAddress: 0),
    ])
  }

  /// A chain of page-pool RAM and device memory, mapped to BioVecs with the
  /// device's bus address placed right after the pool's last frame: device
  /// chunks carry the bus flag, never merge with RAM although the addresses
  /// meet, and every byte reads back exactly through the translator's inverse.
  @Test(arguments: [false, true])
  func aMixedChainKeepsDeviceChunksApart(extract: Bool) throws {
    let pool = try PagePool(pageCount: 8, maxOrder: 3)
    let poolBytes = UInt64(pool.byteCount)
    // RAM frames are 0 ..< poolBytes; the aperture's bus range starts at poolBytes.
    let bar = try DeviceMemory(byteCount: 4 * pageSize, busAddress: poolBytes)
    let other = try DeviceMemory(byteCount: pageSize, busAddress: poolBytes + UInt64(4 * pageSize))
    let translator = try DeviceApertureTranslator(
      apertures: [try DeviceAperture(bar), try DeviceAperture(other, region: 2)],
      ram: PagePoolTranslator(pool: pool))
    let folio = try pool.allocateFolio(order: 3)  // the whole arena: its last byte is frame 7's end
    defer { try? pool.put(folio) }
    let ramTail = try BioVecArray([PageFragment(folio: folio, offset: folio.byteCount - 1024, length: 1024)])
    let ramHead = try BioVecArray([PageFragment(folio: folio, offset: 0, length: 512)])
    let device = try DeviceRangeArray([DeviceRange(bar, offset: 0, count: 2 * pageSize)])
    let deviceTail = try DeviceRangeArray([DeviceRange(bar, offset: 2 * pageSize, count: 2 * pageSize)])
    let otherDevice = try DeviceRangeArray([DeviceRange(other, offset: 0, count: 512)])
    // RAM that ends at bus address poolBytes, then device memory that starts
    // there; the aperture's two halves (one chunk); the second aperture, whose
    // bus range starts where the first's ends; RAM again.
    let chain = try IterChain(
      direction: .destination, members: [ramTail, device, deviceTail, otherDevice, ramHead])
    let total = chain.byteCount
    let payload = randomBytes(total, seed: TestSeed.base ^ 0xB4D)
    var writer = try IovIter(chain, direction: .destination)
    #expect(try writer.write(payload) == total)

    let limits = try DMALimits(maxSegmentSize: UInt32.max, maxSegments: 16, dmaAlignment: 0, maxHWSectors: 1024)
    var mapper = BioVecMapper(limits: limits, translator: translator)
    var request = BioVecRequest(for: limits)
    var iter = try IovIter(chain, direction: .destination)
    var chunks: [BioVec] = []
    while extract
      ? try mapper.extractNextRequest(from: &iter, into: &request)
      : try mapper.mapNextRequest(from: &iter, into: &request)
    {
      chunks += request.array
    }
    mapper.finish().release()
    let plain = chunks.map {
      BioVec(address: $0.address, length: $0.length, flags: $0.flags.subtracting(.endOfRequest))
    }
    let bus = BioVecFlags.busAddress
    #expect(
      plain == [
        BioVec(address: poolBytes - 1024, length: 1024),
        // Adjacent to the RAM chunk, and the aperture's two halves are one chunk.
        BioVec(address: poolBytes, length: UInt32(4 * pageSize), flags: bus),
        // The second aperture follows on in bus addresses but is another region.
        BioVec(address: poolBytes + UInt64(4 * pageSize), length: 512, flags: bus),
        BioVec(address: 0, length: 512),
      ], "\(chunks)")
    // Read every chunk back through the inverse: the bytes are the payload.
    var readBack: [UInt8] = []
    for c in chunks {
      let va = try #require(translator.virtualAddress(of: c.address))
      readBack += UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: va), count: Int(c.length)).map { $0 }
    }
    #expect(readBack == payload)
  }

  @Test func retainingExtractionOfDeviceMemoryFailsTyped() throws {
    let bar = try DeviceMemory(byteCount: pageSize, busAddress: 0x8000_0000)
    let translator = try DeviceApertureTranslator(apertures: [try DeviceAperture(bar)])
    var iter = try IovIter(try DeviceRangeArray([DeviceRange(bar, offset: 0, count: 1024)]), direction: .source)
    var mapper = BioVecMapper(limits: .default, translator: translator)
    var request = BioVecRequest(for: .default)
    let error = thrown { () throws(DMAError) in
      _ = try mapper.extractNextRequest(from: &iter, into: &request, options: .retain)
    }
    #expect(error == .iterator(.extractionUnsupported(kind: .deviceMemory)))
    #expect(iter.count == 1024 && request.isEmpty)
    #expect(try mapper.extractNextRequest(from: &iter, into: &request))
    #expect(request.array == [BioVec(address: 0x8000_0000, length: 1024, flags: [.busAddress, .endOfRequest])])
    mapper.finish().release()
  }
}
