//===----------------------------------------------------------------------===//
// swift-iov-iter: iter-demo
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
//
// Parts 2 to 5: one buffer made of three kinds of memory, taken through real
// I/O, page extraction and the DMA bridge. Every number printed is computed,
// and every claim is checked.

import Glibc
import IterBridge
import IterCore
import IterDiscard
import IterIO
import IterKernelVirtual
import IterPageFragment
import IterUser

/// A failure that is not a check: the demo cannot go on.
struct DemoFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// The memory of the mixed chain, and the bytes it should hold.
final class Story {
  let options: Options
  let profile: DeviceProfile
  let report: Report

  // The header: a slab object (or a vmalloc-like region when it is larger
  // than half a page), as a kvec.
  let slab: SlabAllocator?
  let regions = VirtualAllocator()
  let neighbour: SlabObject?
  let header: KernelVirtualAllocation
  let headerOffset: Int
  let kvec: KVecArray
  // The payload: page-pool folios, as a bio_vec array.
  let pool: PagePool
  let folios: [Folio]
  let bvec: BioVecArray
  // The trailer: memory the application lends, as a ubuf.
  let trailerMemory: UnsafeMutableRawBufferPointer
  let user: UserBuffer

  let memberNames = ["header", "payload", "trailer"]
  let memberSizes: [Int]
  let expected: [UInt8]
  var total: Int { expected.count }

  /// The folio size the payload is cut into, and where in the first folio it starts.
  static let folioOrder = 2
  static let payloadStart = 1024

  init(options: Options, profile: DeviceProfile, report: Report) throws {
    self.options = options
    self.profile = profile
    self.report = report
    memberSizes = [options.headerBytes, options.payloadBytes, options.trailerBytes]

    // Header: the second object of a slab cache whose first object belongs to
    // someone else, so the header shares its page, as slab objects do.
    if options.headerBytes <= IterPage.size / 2 {
      let cache = try SlabAllocator(objectSize: options.headerBytes, alignment: 512)
      let other = try cache.allocate(zeroed: true)
      let object = try cache.allocate(zeroed: true)
      slab = cache
      neighbour = other
      header = object
    } else {
      slab = nil
      neighbour = nil
      header = try regions.allocate(byteCount: options.headerBytes)
    }
    headerOffset = Int(header.address % UInt(IterPage.size))
    kvec = try KVecArray([KVec(header, offset: 0, count: options.headerBytes)])

    // Payload: order-2 folios (16 KiB); the first fragment starts 1 KiB into
    // its folio, as a payload after a protocol header would.
    let folioBytes = IterPage.size << Story.folioOrder
    let folioCount = (Story.payloadStart + options.payloadBytes + folioBytes - 1) / folioBytes
    pool = try PagePool(pageCount: folioCount << Story.folioOrder)
    var folios: [Folio] = []
    var fragments: [PageFragment] = []
    var left = options.payloadBytes
    while left > 0 {
      let folio = try pool.allocateFolio(order: Story.folioOrder, zeroed: true)
      let offset = folios.isEmpty ? Story.payloadStart : 0
      let length = min(left, folioBytes - offset)
      folios.append(folio)
      fragments.append(PageFragment(folio: folio, offset: offset, length: length))
      left -= length
    }
    self.folios = folios
    bvec = try BioVecArray(fragments)

    // Trailer: page-aligned memory of the application's.
    trailerMemory = UnsafeMutableRawBufferPointer.allocate(
      byteCount: options.trailerBytes, alignment: IterPage.size)
    trailerMemory.initializeMemory(as: UInt8.self, repeating: 0)
    user = try UserBuffer(importing: trailerMemory)

    // What the chain should hold: text in the header and the trailer, a
    // counting pattern (mod 251, so no two pages look alike) in the payload.
    func text(_ word: String, _ n: Int) -> [UInt8] {
      let bytes = Array(word.utf8)
      return (0..<n).map { bytes[$0 % bytes.count] }
    }
    expected =
      text("HEADER__", options.headerBytes) + (0..<options.payloadBytes).map { UInt8($0 % 251) }
      + text("trailer!", options.trailerBytes)
  }

  deinit { trailerMemory.deallocate() }

  /// A fresh chain of the three members, for cursors of `direction`.
  func chain(_ direction: IterDirection) throws(IterError) -> IterChain {
    try IterChain(direction: direction, members: [kvec, bvec, user])
  }

  /// The member that holds byte `offset` of the chain.
  func member(at offset: Int) -> Int {
    offset < memberSizes[0] ? 0 : offset < memberSizes[0] + memberSizes[1] ? 1 : 2
  }

  func run() throws {
    try build()
    try writeAndReadBack()
    try extractAndRelease()
    try mapToBioVecs()
  }

  // MARK: - 2. The chain

  func build() throws {
    let mixed = try chain(.destination)
    var fill = try IovIter(mixed, direction: .destination)
    try fill.writeFull(expected)

    report.section("2. A mixed chain, filled through one destination cursor (IterChain)")
    var table = Table(["member", "kind", "memory", "bytes", "segments", "starts with"], right: [3, 4])
    let headerMemory =
      slab.map { "slab object at page offset \(headerOffset) (\($0.objectSize)-byte cache)" }
      ?? "vmalloc-like region of \(counted(header.byteCount / IterPage.size, "page"))"
    let firstPayload = Array(expected[memberSizes[0]..<(memberSizes[0] + 8)])
    table.add(
      "header", kvec.memoryKind, headerMemory, kvec.byteCount, kvec.segmentCount,
      printable(Array(expected[0..<8])))
    table.add(
      "payload", bvec.memoryKind,
      "\(counted(folios.count, "folio")) of \(1 << Story.folioOrder) pages, from offset \(Story.payloadStart)",
      bvec.byteCount, bvec.segmentCount, hexBytes(firstPayload))
    table.add(
      "trailer", user.memoryKind, "ubuf, page-aligned", user.count, user.segmentCount,
      printable(Array(expected[(total - memberSizes[2])...].prefix(8))))
    table.add("chain", mixed.memoryKind, "\(mixed.memberCount) members", mixed.byteCount, mixed.segmentCount, "")
    report.table(table)

    // Read each member's memory directly: the cursor put every byte in place.
    var landed = header.withUnsafeMutableBytes { Array($0.prefix(memberSizes[0])) }
    for fragment in bvec.fragments {
      landed += fragment.folio.withUnsafeMutableBytes {
        Array($0[fragment.offset..<(fragment.offset + fragment.length)])
      }
    }
    landed += Array(trailerMemory)
    report.check(fill.count == 0 && fill.consumedCount == total, "the fill cursor used the whole chain")
    report.check(mixed.byteCount == total && mixed.memberCount == 3, "the chain holds the three members")
    report.check(landed == expected, "every member's memory holds its part of the pattern")
  }

  // MARK: - 3. writev and readv

  func writeAndReadBack() throws {
    let (path, keep) = try openFile()
    let fd = open(path, O_RDWR)
    guard fd >= 0 else { throw DemoFailure("cannot reopen \(path): \(String(cString: strerror(errno)))") }
    defer {
      close(fd)
      if !keep { unlink(path) }
    }

    var source = try IovIter(try chain(.source), direction: .source)
    let (writes, written) = try calls(&source) { iter throws(IterIOError) in try iter.writev(to: fd) }

    // Read it back into another layout: the application's buffer takes the
    // front, a discard sink swallows the middle, a kvec takes the end.
    let frontBytes = total / 3
    let discardBytes = total / 3
    let backBytes = total - frontBytes - discardBytes
    let front = UnsafeMutableRawBufferPointer.allocate(byteCount: frontBytes, alignment: 16)
    defer { front.deallocate() }
    front.initializeMemory(as: UInt8.self, repeating: 0)
    let back = try regions.allocate(byteCount: backBytes)
    let sink = try DiscardSink(count: discardBytes)
    let layout = try IterChain(
      direction: .destination,
      members: [try UserBuffer(importing: front), sink, try KVecArray([KVec(back, offset: 0, count: backBytes)])])
    guard lseek(fd, 0, SEEK_SET) == 0 else { throw DemoFailure("lseek: \(String(cString: strerror(errno)))") }
    var into = try IovIter(layout, direction: .destination)
    let (reads, readBytes) = try calls(&into) { iter throws(IterIOError) in try iter.readv(from: fd) }

    // The file, read flat with pread(2), is the reference.
    var stats = stat()
    let size = fstat(fd, &stats) == 0 ? Int(stats.st_size) : -1
    var file = [UInt8](repeating: 0, count: total)
    let got = file.withUnsafeMutableBytes { pread(fd, $0.baseAddress, total, 0) }
    let keptFront = Array(front)
    let keptBack = back.withUnsafeMutableBytes { Array($0.prefix(backBytes)) }
    let fileFront = Array(file[0..<frontBytes])
    let fileBack = Array(file[(frontBytes + discardBytes)...])

    report.section("3. writev(2) to a real file, readv(2) back into another layout (IterIO, IterDiscard)")
    report.say("  file \(keep ? path : "\(path) (temporary, removed at the end)"): \(size) bytes")
    report.say("  the discard sink's \(discardBytes) bytes were read into a scratch page and dropped")
    var table = Table(["call", "cursor", "calls", "bytes", "CRC32C"], right: [2, 3])
    table.add(
      "writev", "header | payload | trailer (\(source.source.segmentCount) segments)", writes, written,
      hex(crc(expected)))
    table.add("readv", "ubuf \(frontBytes) | discard \(discardBytes) | kvec \(backBytes)", reads, readBytes, "")
    table.add("  kept", "ubuf + kvec", "", frontBytes + backBytes, hex(crc(keptFront + keptBack)))
    table.add(
      "  file", "the same ranges, read with pread(2)", "", fileFront.count + fileBack.count,
      hex(crc(fileFront + fileBack)))
    report.table(table)
    report.check(written == total && size == total, "writev wrote the chain's \(total) bytes (file: \(size))")
    report.check(got == total && file == expected, "the file holds the chain's bytes, in order")
    report.check(readBytes == total && into.count == 0, "readv filled the whole layout, discard included")
    report.check(keptFront == fileFront && keptBack == fileBack, "the kept bytes are the file's bytes")
    report.check(crc(keptFront + keptBack) == crc(fileFront + fileBack), "CRC32C of kept bytes = CRC32C of the file's")
  }

  /// Makes `call` until `iter` is empty or a call moves nothing (a short
  /// transfer is normal: the cursor stands where it stopped).
  ///
  /// - Returns: The calls made and the bytes they moved.
  func calls<S: IterSegmentSource>(
    _ iter: inout IovIter<S>, _ call: (inout IovIter<S>) throws(IterIOError) -> IOResult
  ) throws(IterIOError) -> (calls: Int, bytes: Int) {
    var made = 0
    var bytes = 0
    while iter.count > 0 {
      let result = try call(&iter)
      made += 1
      bytes += result.byteCount
      if result.status != .transferred || result.byteCount == 0 { break }
    }
    return (made, bytes)
  }

  /// The file to write: `--file`, or a new temporary file.
  func openFile() throws -> (path: String, keep: Bool) {
    if let path = options.filePath {
      let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
      guard fd >= 0 else { throw DemoFailure("cannot create \(path): \(String(cString: strerror(errno)))") }
      close(fd)
      return (path, true)
    }
    let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array("\(directory)/iter-demo-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else { throw DemoFailure("mkstemp in \(directory): \(String(cString: strerror(errno)))") }
    close(fd)
    return (template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, false)
  }

  // MARK: - 4. Extraction

  /// The holds the library can count, so that a release can be seen.
  struct Holds: Equatable, CustomStringConvertible {
    var pins: Int
    var pageReferences: Int
    var ownerReferences: Int
    var description: String {
      "pinned pages \(pins), page references \(pageReferences), owner references \(ownerReferences)"
    }
  }

  func holds() -> Holds {
    Holds(
      pins: UserPinRegistry.shared.totalPinCount,
      // Each folio holds the one reference its allocation gave it.
      pageReferences: pool.outstandingReferences - folios.count,
      ownerReferences: (slab?.extractionRetentionCount ?? 0) + regions.extractionRetentionCount)
  }

  func extractAndRelease() throws {
    let before = holds()
    var cursor = try IovIter(try chain(.source), direction: .source)
    var retentions = BioVecRetentions()
    var table = Table(["run", "member", "pages", "offset0", "bytes", "retention", "first page"], right: [0, 2, 3, 4])
    var run = 0
    var byteTotal = 0
    var contiguous = true
    var trailerPage: IterPage? = nil
    while cursor.count > 0 {
      let at = cursor.consumedCount
      let extraction = try cursor.extractPages(maxBytes: cursor.count, maxPages: 16, options: .retain)
      run += 1
      let name = memberNames[member(at: at)]
      let first =
        extraction.pages.first.map { page in
          page.frame.map { "pool frame \($0)" } ?? hex(page.address)
        } ?? "-"
      table.add(run, name, extraction.pages.count, extraction.offset, extraction.count, extraction.retentionKind, first)
      byteTotal += extraction.count
      // The first page's offset plus the run's bytes is where the run lies.
      let start = extraction.pages.first.map { $0.address + UInt(extraction.offset) }
      if let start, start != expectedAddress(at: at) { contiguous = false }
      if name == "trailer", trailerPage == nil { trailerPage = extraction.pages.first }
      retentions.append(extraction.takeRetention())
    }
    let held = holds()
    let trailerPins = trailerPage.map { UserPinRegistry.shared.pinCount(of: $0) } ?? 0
    let count = retentions.count
    retentions.release()
    let after = holds()
    let leaks = pool.audit().filter { $0.references != 1 }

    report.section("4. Page extraction with retentions (iov_iter_extract_pages, .retain), then release")
    report.table(table)
    let holding = "holding \(counted(count, "retention")):"
    let released = "released:"
    report.say("  \(holding) \(held.description)")
    report.say(
      "  \(released)\(String(repeating: " ", count: max(1, holding.count + 1 - released.count)))\(after.description)")
    report.say(
      "  pool audit: \(pool.audit().count) folios live, each with only its own reference; "
        + "\(leaks.count) leaks")
    report.check(byteTotal == total, "the runs cover the chain's \(total) bytes (got \(byteTotal))")
    report.check(contiguous, "every run starts where the chain's memory for it lies")
    report.check(count == run, "one retention per run")
    report.check(held.pins > before.pins && trailerPins > 0, "the trailer's pages were pinned while held")
    report.check(held.pageReferences > before.pageReferences, "the payload's folios were referenced while held")
    report.check(held.ownerReferences > before.ownerReferences, "the header's owner was held while held")
    report.check(after == before, "releasing every retention undid every hold (\(after) vs \(before))")
    report.check(leaks.isEmpty, "the pool's leak audit is clean")
  }

  /// The virtual address of byte `offset` of the chain.
  func expectedAddress(at offset: Int) -> UInt {
    switch member(at: offset) {
    case 0:
      return header.address + UInt(offset)
    case 1:
      var local = offset - memberSizes[0]
      for fragment in bvec.fragments {
        if local < fragment.length { return fragment.address + UInt(local) }
        local -= fragment.length
      }
      return 0
    default:
      return UInt(bitPattern: trailerMemory.baseAddress) + UInt(offset - memberSizes[0] - memberSizes[1])
    }
  }

  // MARK: - 5. BioVecs

  func mapToBioVecs() throws {
    report.section("5. BioVecs under a device's DMA limits (IterBridge: BioVecMapper, --device \(profile.name))")
    let limits = profile.limits
    report.say("  \(profile.summary)")
    let segmentSize = limits.maxSegmentSize == UInt32.max ? "unlimited" : "\(limits.maxSegmentSize)"
    report.say(
      "  limits: max_segments \(limits.maxSegments), max_segment_size \(segmentSize), "
        + "virt_boundary_mask \(hex(limits.virtBoundaryMask)), seg_boundary_mask \(hex(limits.segmentBoundaryMask)),")
    report.say(
      "          dma_alignment \(limits.dmaAlignment), max_sectors \(limits.maxSectors) "
        + "(\(limits.maxRequestBytes / 1024) KiB per request), logical_block_size \(limits.logicalBlockSize)")

    // Which translator: real frames when /proc/self/pagemap shows them.
    var reason = "--translator pool"
    var pagemap: PagemapTranslator? = nil
    if options.translator != .pool {
      do {
        let translator = try PagemapTranslator()
        _ = try translator.translate(header.address, length: 1)
        pagemap = translator
      } catch {
        switch error {
        case .framesHidden(let address):
          reason =
            "/proc/self/pagemap hides the frames (reads them as 0) without CAP_SYS_ADMIN"
            + (options.translator == .pagemap ? " (the header at \(hex(address)))" : "")
        default:
          reason = "/proc/self/pagemap cannot be used: \(error)"
        }
        if options.translator == .pagemap { throw DemoFailure("--translator pagemap: \(reason)") }
      }
    }
    if let pagemap {
      report.say(
        "  translator: PagemapTranslator, because /proc/self/pagemap shows real frames (CAP_SYS_ADMIN):")
      report.say("  the whole chain is mapped to physical addresses (they differ from run to run)")
      var iter = try IovIter(try chain(.source), direction: .source)
      try map(&iter, with: pagemap, check: nil)
      report.say("  pagemap reads: \(pagemap.readCount) (entries are read in batches)")
      return
    }
    report.say("  translator: PagePoolTranslator, because \(reason):")
    report.say(
      "  only the payload (pool pages) is mapped, to the pool's frame addresses (frame x 4096), not physical ones")
    let translator = PagePoolTranslator(pool: pool)
    var iter = try IovIter(bvec, direction: .source)
    try map(&iter, with: translator) { address, length in
      // The inverse is exact: read each chunk's bytes back through it.
      guard let virtual = translator.virtualAddress(of: address),
        let base = UnsafeRawPointer(bitPattern: virtual)
      else { return [] }
      return Array(UnsafeRawBufferPointer(start: base, count: length))
    }
  }

  /// Maps `iter` request by request, prints the chunks, checks the limits,
  /// and releases what the mapper held. `check` reads a chunk's bytes back
  /// when the translator can be inverted.
  func map<T: PhysicalTranslator, S: IterSegmentSource>(
    _ iter: inout IovIter<S>, with translator: T, check: ((UInt64, Int) -> [UInt8])?
  ) throws {
    let limits = profile.limits
    let before = holds()
    let mapped = iter.count
    var mapper = BioVecMapper(limits: limits, translator: translator)
    var request = BioVecRequest(for: limits)
    var table = Table(["request", "chunk", "device address", "length", "flags", "request ended by"], right: [0, 1, 3])
    let shownRows = 24
    var rows = 0
    var requests = 0
    var chunks = 0
    var bytes = 0
    var readBack: [UInt8] = []
    var broken: [String] = []
    var ends: [RequestEnd] = []
    while try mapper.extractNextRequest(from: &iter, into: &request) {
      requests += 1
      let vecs = request.array
      for (k, vec) in vecs.enumerated() {
        rows += 1
        chunks += 1
        if rows <= shownRows {
          table.add(requests, k + 1, hex(vec.address), vec.length, vec.flags, k == vecs.count - 1 ? request.end : "")
        }
        if let check { readBack += check(vec.address, Int(vec.length)) }
        // The limits, chunk by chunk.
        if UInt64(vec.length) > UInt64(limits.maxSegmentSize) { broken.append("chunk longer than max_segment_size") }
        let boundary = limits.segmentBoundaryMask
        if vec.address & ~boundary != (vec.endAddress - 1) & ~boundary { broken.append("chunk crosses seg_boundary") }
        if limits.virtBoundaryMask != 0 {
          if k > 0 && vec.address & limits.virtBoundaryMask != 0 { broken.append("gap before a chunk (virt_boundary)") }
          if k < vecs.count - 1 && vec.endAddress & limits.virtBoundaryMask != 0 {
            broken.append("gap after a chunk (virt_boundary)")
          }
        }
      }
      if vecs.count > limits.maxSegments { broken.append("more chunks than max_segments") }
      if request.byteCount > limits.maxRequestBytes { broken.append("request longer than max_sectors") }
      if iter.count > 0 && request.byteCount % Int(limits.logicalBlockSize) != 0 {
        broken.append("a request that is not the last is not a multiple of the logical block size")
      }
      bytes += request.byteCount
      if !ends.contains(request.end) { ends.append(request.end) }
    }
    let held = mapper.retentionCount
    mapper.finish().release()
    let after = holds()

    report.table(table)
    if rows > shownRows { report.say("  ... and \(rows - shownRows) more chunks") }
    let why: [RequestEnd: String] = [
      .endOfInput: "no bytes left",
      .maxSegments: "the next chunk would pass max_segments",
      .maxBytes: "the request reached max_sectors (\(limits.maxRequestBytes / 1024) KiB)",
      .virtBoundaryGap: "the next chunk would leave a gap at a virt boundary (NVMe PRP rule)",
    ]
    report.say("  " + ends.map { "\($0): \(why[$0] ?? "")" }.joined(separator: "; "))
    let kept =
      held == 0
      ? "the mapper kept no retention (bio_vec pages are held only when .retain asks)"
      : "the mapper kept \(counted(held, "retention")) until the device was done, then released them"
    report.say("  \(mapped) bytes -> \(counted(requests, "request")) of \(counted(chunks, "chunk")); \(kept)")
    report.check(bytes == mapped && iter.count == 0, "the requests carry every byte (\(bytes) of \(mapped))")
    report.check(broken.isEmpty, "every request keeps the device's limits: \(Set(broken).sorted())")
    report.check(after == before, "the mapper's holds were all released (\(after))")
    if check != nil {
      let payload = Array(expected[memberSizes[0]..<(memberSizes[0] + memberSizes[1])])
      report.check(readBack == payload, "reading the chunks back through the translator gives the payload")
      report.say("  read back through the translator's inverse: \(readBack.count) bytes, CRC32C \(hex(crc(readBack)))")
    }
  }
}

/// The CRC32C of `bytes`.
func crc(_ bytes: [UInt8]) -> UInt32 {
  var sum = CRC32C()
  bytes.withUnsafeBytes { sum.update($0) }
  return sum.value
}
