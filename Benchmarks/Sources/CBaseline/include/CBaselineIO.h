//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: the C baseline for real I/O.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
// What a C program does by hand: writev/pwritev loops and a raw-syscall
// io_uring (no liburing), over a segment list walked with a cursor, exactly
// as IterIO does from an IovIter: before every call the iovec array is built
// anew from the cursor (at most IOV_MAX entries and MAX_RW_COUNT bytes, empty
// segments skipped), and a short write resumes where the kernel stopped.
#ifndef CBASELINE_IO_H
#define CBASELINE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/// Writes every byte of the segments `segs[0..<nr]` to `fd`, call after call:
/// `writev` (`write` for one entry), or `pwritev` (`pwrite`) at `offset` plus
/// the bytes written so far when `offset >= 0`. Each call's iovec array is
/// built on the stack from the cursor. `EINTR` is retried.
/// Returns the bytes written, or -errno (bytes written before it are lost to
/// the caller, as in a plain C loop); `EAGAIN` returns the bytes so far.
ssize_t cb_io_write_all(int fd, const struct iovec *segs, size_t nr, int64_t offset);

/// A thread that drains a pipe, optionally checking the bytes against a
/// pattern repeated every `period` bytes.
typedef struct cb_io_reader cb_io_reader;

/// Starts a reader on `fd` (the pipe's read end), which it closes when done.
/// `expected[0..<period]` is the stream it checks against while checking is on.
cb_io_reader *cb_io_reader_start(int fd, const void *expected, size_t period);
/// Turns checking on (resetting the mismatch count) or off.
void cb_io_reader_check(cb_io_reader *r, int on);
/// Bytes that differed from the pattern while checking was on.
size_t cb_io_reader_mismatches(cb_io_reader *r);
/// Waits until the reader has read `total` bytes in all (spins, then yields).
void cb_io_reader_wait(cb_io_reader *r, uint64_t total);
/// Joins the reader (the write end must be closed first) and frees it.
void cb_io_reader_join(cb_io_reader *r);

/// A raw io_uring: the descriptor and the mapped rings.
typedef struct cb_uring {
  int fd;
  unsigned entries;
  void *sq_ring;
  size_t sq_ring_len;
  void *cq_ring;
  size_t cq_ring_len; ///< 0 when the kernel maps both rings at once
  void *sqes;
  size_t sqes_len;
  unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
  unsigned *cq_head, *cq_tail, *cq_mask;
  void *cqes;
} cb_uring;

/// `io_uring_setup` with `entries`, then maps the rings. Returns 0 or -errno.
int cb_uring_init(cb_uring *r, unsigned entries);
/// Unmaps and closes.
void cb_uring_exit(cb_uring *r);

/// One batch of `n` WRITEV transfers, at most the ring's size: transfer `i`
/// writes the segments `segs[i * per ..< (i + 1) * per]` at file offset
/// `offset + i * bytes_per` (its iovecs built from its cursor into
/// `vectors[i * per ...]`). Everything is submitted with one `io_uring_enter`,
/// which waits for all completions; a short write is resubmitted for the rest.
/// Returns the bytes written, or -errno.
ssize_t cb_uring_writev_batch(cb_uring *r, int fd, const struct iovec *segs, size_t n,
                              size_t per, size_t bytes_per, int64_t offset,
                              struct iovec *vectors);

#endif
