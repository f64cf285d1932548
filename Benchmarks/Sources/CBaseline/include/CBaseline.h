//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: the C baseline.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
// Plain C over plain `struct iovec` arrays: what a C program does by hand, and
// what the kernel's iterate_iovec / iov_iter_advance / iov_iter_revert do.
#ifndef CBASELINE_H
#define CBASELINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "CBaselineIO.h" // real I/O: writev loops, a raw io_uring

/// A cursor over an iovec array: the user-space shape of `struct iov_iter`.
typedef struct cb_iter {
  const struct iovec *iov; ///< The whole array.
  size_t nr_segs;          ///< Entries in the array.
  size_t index;            ///< Current entry.
  size_t offset;           ///< Offset into the current entry (iov_offset).
  size_t count;            ///< Bytes left.
  size_t consumed;         ///< Bytes moved over since the start.
} cb_iter;

/// Sets `it` to the start of `iov[0..<nr]`, covering `count` bytes.
void cb_iter_init(cb_iter *it, const struct iovec *iov, size_t nr, size_t count);

/// Gather: copies up to `len` bytes out of `iov` into `dst`; returns the bytes copied.
size_t cb_gather(const struct iovec *iov, size_t nr, void *dst, size_t len);

/// Scatter: copies up to `len` bytes from `src` into `iov`; returns the bytes copied.
size_t cb_scatter(const struct iovec *iov, size_t nr, const void *src, size_t len);

/// Scatter into iovecs of which some have a NULL base: those consume their
/// bytes and keep none (a discard sink, the kernel's ITER_DISCARD).
size_t cb_scatter_sink(const struct iovec *iov, size_t nr, const void *src, size_t len);

/// Copies up to `len` bytes from the `src` iovecs into the `dst` iovecs, which
/// may cut the bytes at different places (SPDK's `spdk_iovcpy`).
size_t cb_iov_to_iov(const struct iovec *dst, size_t dnr, const struct iovec *src, size_t snr,
                     size_t len);

/// Moves the cursor forward by `n` bytes (the kernel's iov_iter_advance for ITER_IOVEC).
void cb_advance(cb_iter *it, size_t n);

/// Moves the cursor back by `n` bytes (the kernel's iov_iter_revert for ITER_IOVEC).
void cb_revert(cb_iter *it, size_t n);

/// Writes up to `cap` iovecs describing the cursor's next `max_bytes` bytes; returns
/// the number written and stores the bytes described in `*bytes`.
size_t cb_export(const cb_iter *it, struct iovec *out, size_t cap, size_t max_bytes,
                 size_t *bytes);

/// Saves a cursor and restores it `n` times (the cost of iov_iter_save_state +
/// iov_iter_restore, a struct copy each way); returns a checksum of the states.
size_t cb_save_restore(cb_iter *it, size_t n);

/// Builds an iovec array of `n` entries over `base`, each `segment` bytes, into
/// `out`, and validates it as the kernel's import does (total, no overflow);
/// returns the total, or SIZE_MAX on a malformed entry.
size_t cb_build(struct iovec *out, char *base, size_t n, size_t segment);

/// An opaque call the optimiser cannot see through (it may read and write `*p`);
/// both languages pay it once per operation in the save/restore and export loops.
void cb_opaque(void *p);

/// One plain memcpy: the limit.
void cb_memcpy(void *dst, const void *src, size_t n);

// checksum.c: the inline-copy loops and the checksum references.

/// Segments up to this many bytes are copied inline by the `_inline` loops.
#define CB_INLINE_LIMIT 64

/// `cb_gather` with a length-dispatched inline copy per segment instead of a
/// memcpy call: two overlapping 32-byte moves for 33–64 bytes, 16-byte for
/// 17–32, 8, 4, 2, 1 below; memcpy above CB_INLINE_LIMIT.
size_t cb_gather_inline(const struct iovec *iov, size_t nr, void *dst, size_t len);

/// `cb_scatter` with the same inline copy per segment.
size_t cb_scatter_inline(const struct iovec *iov, size_t nr, const void *src, size_t len);

/// 1 when the CPU has the SSE 4.2 crc32 instruction the CRC references use.
int cb_has_crc32c(void);

/// Gathers like `cb_gather` and returns the CRC-32C of the bytes, computed in
/// the same pass (SSE 4.2 crc32, one stream).
uint32_t cb_gather_crc32c(const struct iovec *iov, size_t nr, void *dst, size_t len);

/// `cb_gather`, then the CRC-32C over the destination: two passes.
uint32_t cb_gather_then_crc32c(const struct iovec *iov, size_t nr, void *dst, size_t len);

/// Gathers like `cb_gather` and returns the Internet checksum's one's-complement
/// sum of the bytes (big-endian words, as `InternetChecksum.sum`), computed in
/// the same pass with 64-bit adds.
uint16_t cb_gather_csum(const struct iovec *iov, size_t nr, void *dst, size_t len);

/// `cb_gather`, then the sum over the destination: two passes.
uint16_t cb_gather_then_csum(const struct iovec *iov, size_t nr, void *dst, size_t len);

#include "CBridgeBaseline.h" // IterBridge: pagemap runs, split and merge (bridge.c)

#endif
