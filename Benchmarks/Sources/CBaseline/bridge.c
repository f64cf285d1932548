//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: the C baseline for IterBridge.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "CBridgeBaseline.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define PM_PRESENT (1ull << 63)
#define PM_FRAME_MASK ((1ull << 55) - 1)
#define PAGE_SHIFT_4K 12

long cbb_pagemap_runs(int fd, uintptr_t addr, size_t len, uint64_t *entries, size_t batch,
                      cbb_run *runs, size_t cap) {
  if (len == 0) return 0;
  const uint64_t page_size = 1ull << PAGE_SHIFT_4K;
  uint64_t first = addr >> PAGE_SHIFT_4K;
  uint64_t last = (addr + len - 1) >> PAGE_SHIFT_4K;
  uint64_t in_page = addr & (page_size - 1);
  size_t nruns = 0;
  uint64_t run_frame = 0, run_pages = 0;
  size_t left = len;
  for (uint64_t page = first; page <= last;) {
    size_t want = (size_t)(last - page + 1);
    if (want > batch) want = batch;
    ssize_t got;
    do {
      got = pread(fd, entries, want * 8, (off_t)(page * 8));
    } while (got < 0 && errno == EINTR);
    if (got < 8) return -1;
    size_t n = (size_t)got / 8;
    for (size_t i = 0; i < n; i++) {
      uint64_t e = entries[i];
      if (!(e & PM_PRESENT)) return -2;
      uint64_t frame = e & PM_FRAME_MASK;
      if (frame == 0) return -3;
      if (run_pages && frame == run_frame + run_pages) {
        run_pages++;
        continue;
      }
      if (run_pages) {
        if (nruns == cap) return -4;
        uint64_t off = nruns == 0 ? in_page : 0;
        uint64_t bytes = run_pages * page_size - off;
        if (bytes > left) bytes = left;
        runs[nruns++] = (cbb_run){(run_frame << PAGE_SHIFT_4K) | off, bytes};
        left -= bytes;
      }
      run_frame = frame;
      run_pages = 1;
    }
    page += n;
  }
  if (nruns == cap) return -4;
  uint64_t off = nruns == 0 ? in_page : 0;
  uint64_t bytes = run_pages * page_size - off;
  if (bytes > left) bytes = left;
  runs[nruns++] = (cbb_run){(run_frame << PAGE_SHIFT_4K) | off, bytes};
  return (long)nruns;
}

static inline uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

// One request of the split/merge loop, from the cursor (*pidx, *poff) on,
// which it moves past the request's bytes. With `pool` NULL the pieces are
// (phys, len) already (the check below folds away); otherwise they are
// (virtual address, len) and every piece is translated through the pool's
// arena when it is fed, run by run (a run ends at the end of the arena), as
// the Swift mapper does. Returns the request's chunks, or a negative error.
// The limits come in as values, read once by the caller: inlined into
// map_core's loop they stay in registers across requests.
static inline __attribute__((always_inline)) long map_one(
    const cbb_run *pieces, size_t n, size_t *pidx, uint64_t *poff, const cbb_pool *pool,
    const cbb_limits *lim, uint64_t mask, uint64_t vbm, uint64_t seg_max, size_t max_segs,
    size_t max_bytes, cbb_vec *req) {
  size_t idx = *pidx;  // current piece
  uint64_t off = *poff;  // bytes of it already mapped
  size_t count = 0, bytes = 0;
  int open = 0, limited = 0;
  uint64_t open_max = 0;
  // Feed pieces until one is not taken whole.
  while (idx < n) {
    uint64_t p = pieces[idx].phys + off, left = pieces[idx].len - off;
    if (left == 0) { idx++; off = 0; continue; }
    if ((p | left) & lim->align_mask) return -1;
    uint64_t done = 0;
    uint64_t run_start = 0, run_end = left, phys = p;
    while (done < left) {
      if (pool && done == run_end) {
        // The next run of the piece (only past the end of the arena).
        run_start = done;
        run_end = left;
      }
      if (pool && done == run_start) {
        uint64_t va = p + done;
        if (va < pool->start || va - pool->start >= pool->size) return -5;
        uint64_t in = va - pool->start, avail = pool->size - in;
        phys = pool->phys_base + in - done;  // so that phys + done is the address
        if (run_end - done > avail) run_end = done + avail;
      }
      uint64_t a = phys + done, rest = run_end - done, room = max_bytes - bytes;
      if (room == 0) { limited = 1; break; }
      if (open) {
        cbb_vec *last = &req[count - 1];
        if (last->addr + last->len == a && last->len < open_max) {
          uint64_t take = min64(min64(rest, open_max - last->len), room);
          last->len += (uint32_t)take;
          bytes += take;
          done += take;
          continue;
        }
      }
      if (count == max_segs) { limited = 1; break; }
      if (vbm && count && ((req[count - 1].addr + req[count - 1].len) | a) & vbm) {
        limited = 1;
        break;
      }
      uint64_t seg = min64(mask - (mask & a), seg_max) + 1;
      uint64_t take = min64(min64(rest, seg), room);
      req[count++] = (cbb_vec){a, (uint32_t)take, 0};
      open = 1;
      open_max = seg;
      bytes += take;
      done += take;
    }
    off += done;
    if (limited) break;
    idx++;
    off = 0;
  }
  if (limited) {
    // Cut back to a multiple of the logical block and give the bytes back.
    size_t trim = bytes % lim->block_size;
    if (bytes == trim) return -2;
    size_t given = trim;
    while (trim) {
      cbb_vec *last = &req[count - 1];
      if (last->len <= trim) { trim -= last->len; count--; }
      else { last->len -= (uint32_t)trim; trim = 0; }
    }
    while (given) {
      if (off == 0) { idx--; off = pieces[idx].len; }
      uint64_t back = min64(given, off);
      off -= back;
      given -= back;
    }
  }
  if (count) req[count - 1].flags |= CBB_END_OF_REQUEST;
  *pidx = idx;
  *poff = off;
  return (long)count;
}

// Every request in one call: the loop keeps its cursor in registers.
static inline __attribute__((always_inline)) long map_core(
    const cbb_run *pieces, size_t n, const cbb_pool *pool, const cbb_limits *lim, cbb_vec *req,
    cbb_vec *all, size_t all_cap, size_t *requests) {
  const uint64_t mask = lim->seg_boundary_mask, vbm = lim->virt_boundary_mask;
  const uint64_t seg_max = lim->max_segment_size - 1;
  const size_t max_segs = lim->max_segments, max_bytes = lim->max_bytes;
  size_t idx = 0;
  uint64_t off = 0;
  long chunks = 0;
  size_t nreq = 0, nall = 0;
  while (idx < n) {
    long count = map_one(pieces, n, &idx, &off, pool, lim, mask, vbm, seg_max, max_segs, max_bytes, req);
    if (count < 0) return count;
    if (all) {
      if (nall + (size_t)count > all_cap) return -3;
      memcpy(all + nall, req, (size_t)count * sizeof *req);
      nall += (size_t)count;
    }
    chunks += count;
    nreq++;
  }
  *requests = nreq;
  return chunks;
}

long cbb_map_requests(const cbb_run *pieces, size_t n, const cbb_limits *lim, cbb_vec *req,
                      cbb_vec *all, size_t all_cap, size_t *requests) {
  return map_core(pieces, n, NULL, lim, req, all, all_cap, requests);
}

long cbb_map_segments(const cbb_run *segments, size_t n, const cbb_pool *pool,
                      const cbb_limits *lim, cbb_vec *req, cbb_vec *all, size_t all_cap,
                      size_t *requests) {
  return map_core(segments, n, pool, lim, req, all, all_cap, requests);
}

// One request a call, as `mapNextRequest` (and the kernel's `blk_rq_map_sg`)
// is called: the cursor lives in memory between calls, and the call is not
// inlined into the driver's loop.
__attribute__((noinline)) long cbb_map_next_request(const cbb_run *segments, size_t n,
                                                    cbb_cursor *cursor, const cbb_pool *pool,
                                                    const cbb_limits *lim, cbb_vec *req) {
  if (cursor->idx >= n) return 0;
  return map_one(segments, n, &cursor->idx, &cursor->off, pool, lim, lim->seg_boundary_mask,
                 lim->virt_boundary_mask, lim->max_segment_size - 1, lim->max_segments,
                 lim->max_bytes, req);
}

long cbb_map_segments_per_request(const cbb_run *segments, size_t n, const cbb_pool *pool,
                                  const cbb_limits *lim, cbb_vec *req, size_t *requests) {
  cbb_cursor cursor = {0, 0};
  long chunks = 0;
  size_t nreq = 0;
  long count;
  while ((count = cbb_map_next_request(segments, n, &cursor, pool, lim, req)) > 0) {
    chunks += count;
    nreq++;
  }
  if (count < 0) return count;
  *requests = nreq;
  return chunks;
}
