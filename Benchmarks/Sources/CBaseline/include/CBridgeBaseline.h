//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: the C baseline for IterBridge.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
// What a C program does by hand to get from virtual memory to DMA chunks:
// read /proc/self/pagemap in batches, and split and merge (phys, len) pieces
// under a device's limits (blk_map_iter_next, get_max_segment_size,
// biovec_phys_mergeable, bvec_gap_to_prev, bio_split_rw_at).
#ifndef CBRIDGEBASELINE_H
#define CBRIDGEBASELINE_H

#include <stddef.h>
#include <stdint.h>

/// A physically contiguous run: the device address and the bytes from it.
typedef struct cbb_run {
  uint64_t phys;
  uint64_t len;
} cbb_run;

/// Translates `len` bytes at `addr` into physically contiguous runs, reading
/// pagemap entries from `fd` with one `pread` per `batch` entries into
/// `entries` (room for `batch`): present bit, frame number, runs of frames
/// that follow one another. Writes at most `cap` runs to `runs`. Returns the
/// number of runs; -1 when a read fails, -2 when a page is not present, -3
/// when its frame is hidden (0), -4 when `runs` is too small.
long cbb_pagemap_runs(int fd, uintptr_t addr, size_t len, uint64_t *entries, size_t batch,
                      cbb_run *runs, size_t cap);

/// One DMA chunk, laid out as IterBridge's `BioVec` (16 bytes).
typedef struct cbb_vec {
  uint64_t addr;
  uint32_t len;
  uint32_t flags; ///< CBB_END_OF_REQUEST on the last chunk of a request.
} cbb_vec;

#define CBB_END_OF_REQUEST (1u << 3)

/// The limits the split and merge loop obeys (as IterBridge's `DMALimits`).
typedef struct cbb_limits {
  uint64_t max_segment_size;  ///< Bytes; UINT32_MAX with a virt boundary.
  uint64_t seg_boundary_mask; ///< 2^k - 1.
  uint64_t virt_boundary_mask;///< 0 for none.
  uint64_t align_mask;        ///< dma_alignment.
  size_t max_segments;
  size_t max_bytes;           ///< max_sectors * 512.
  size_t block_size;          ///< logical_block_size.
} cbb_limits;

/// Splits and merges `n` pieces of (phys, len) into requests of at most
/// `max_segments` chunks each, filling `req` (room for `max_segments`) one
/// request at a time, as a driver would. When `all` is not NULL, every
/// request's chunks are also appended to it (room for `all_cap`), for
/// checking. Returns the total number of chunks, and the number of requests
/// in `*requests`; -1 on a misaligned piece, -2 when a request would round to
/// 0 blocks, -3 when `all` is too small.
long cbb_map_requests(const cbb_run *pieces, size_t n, const cbb_limits *lim, cbb_vec *req,
                      cbb_vec *all, size_t all_cap, size_t *requests);

/// A page pool's arena as a translator: virtual `start` to `start + size` is
/// physical `phys_base` on (as IterBridge's `PagePoolTranslator`).
typedef struct cbb_pool {
  uintptr_t start;
  uint64_t size;
  uint64_t phys_base;
} cbb_pool;

/// The whole job of `BioVecMapper.mapNextRequest` with a `PagePoolTranslator`:
/// as `cbb_map_requests`, but the `n` segments are (virtual address, len)
/// and each piece is translated through `pool` when it is fed (checked against
/// the arena, one run to the end of the arena), then split and merged.
/// Returns as `cbb_map_requests`, and -5 for an address outside the arena.
long cbb_map_segments(const cbb_run *segments, size_t n, const cbb_pool *pool,
                      const cbb_limits *lim, cbb_vec *req, cbb_vec *all, size_t all_cap,
                      size_t *requests);

/// Where the next request starts: a piece and the bytes of it already mapped.
typedef struct cbb_cursor {
  size_t idx;
  uint64_t off;
} cbb_cursor;

/// The next request from `cursor` (moved past it) into `req`: its chunk
/// count, 0 when no bytes are left, or a negative error. Not inlined.
long cbb_map_next_request(const cbb_run *segments, size_t n, cbb_cursor *cursor,
                          const cbb_pool *pool, const cbb_limits *lim, cbb_vec *req);

/// cbb_map_segments' job, one cbb_map_next_request call a request.
long cbb_map_segments_per_request(const cbb_run *segments, size_t n, const cbb_pool *pool,
                                  const cbb_limits *lim, cbb_vec *req, size_t *requests);

#endif
