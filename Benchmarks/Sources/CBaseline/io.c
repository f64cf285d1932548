//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: the C baseline for real I/O.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#define _GNU_SOURCE
#include "CBaselineIO.h"

#include <errno.h>
#include <limits.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CB_IOV_MAX 1024                        /* UIO_MAXIOV */
#define CB_MAX_RW_COUNT ((size_t)0x7ffff000)   /* INT_MAX & PAGE_MASK */

/* A cursor over a segment list: the position IterIO keeps in an IovIter. */
typedef struct cb_cursor {
  const struct iovec *segs;
  size_t nr;
  size_t index;
  size_t offset;
  size_t count; /* bytes left */
} cb_cursor;

static void cursor_init(cb_cursor *c, const struct iovec *segs, size_t nr) {
  c->segs = segs;
  c->nr = nr;
  c->index = 0;
  c->offset = 0;
  c->count = 0;
  for (size_t i = 0; i < nr; i++) c->count += segs[i].iov_len;
}

/* Fills at most `cap` entries describing at most `max` of the cursor's next
 * bytes (empty segments skipped, stopping before a segment without memory);
 * returns the entries and stores the bytes. */
static size_t cursor_export(const cb_cursor *c, struct iovec *out, size_t cap, size_t max,
                            size_t *bytes) {
  size_t n = 0, done = 0, skip = c->offset;
  for (size_t i = c->index; i < c->nr && n < cap && done < max; i++, skip = 0) {
    size_t len = c->segs[i].iov_len - skip;
    if (len == 0) continue;
    if (c->segs[i].iov_base == NULL) break;
    if (len > max - done) len = max - done;
    out[n].iov_base = (char *)c->segs[i].iov_base + skip;
    out[n].iov_len = len;
    n++;
    done += len;
  }
  *bytes = done;
  return n;
}

static void cursor_advance(cb_cursor *c, size_t n) {
  c->count -= n;
  size_t size = n + c->offset;
  while (c->index < c->nr && size >= c->segs[c->index].iov_len && size > 0) {
    size -= c->segs[c->index].iov_len;
    c->index++;
  }
  c->offset = size;
}

/* One call, retried on EINTR; returns the result or -errno. */
static ssize_t write_once(int fd, const struct iovec *v, size_t n, int64_t offset) {
  for (;;) {
    ssize_t r;
    if (offset >= 0)
      r = n == 1 ? pwrite(fd, v[0].iov_base, v[0].iov_len, offset)
                 : pwritev(fd, v, (int)n, offset);
    else
      r = n == 1 ? write(fd, v[0].iov_base, v[0].iov_len) : writev(fd, v, (int)n);
    if (r >= 0) return r;
    if (errno != EINTR) return -errno;
  }
}

ssize_t cb_io_write_all(int fd, const struct iovec *segs, size_t nr, int64_t offset) {
  cb_cursor c;
  cursor_init(&c, segs, nr);
  size_t total = 0;
  while (c.count > 0) {
    struct iovec v[CB_IOV_MAX];
    size_t cap = c.nr - c.index < CB_IOV_MAX ? c.nr - c.index : CB_IOV_MAX;
    size_t max = c.count < CB_MAX_RW_COUNT ? c.count : CB_MAX_RW_COUNT;
    size_t bytes;
    size_t n = cursor_export(&c, v, cap, max, &bytes);
    if (n == 0) return -EFAULT; /* a segment without memory */
    ssize_t r = write_once(fd, v, n, offset >= 0 ? offset + (int64_t)total : -1);
    if (r == -EAGAIN || r == -EWOULDBLOCK) return (ssize_t)total;
    if (r < 0) return r;
    if (r == 0) return -EIO; /* no progress */
    if ((size_t)r > bytes) r = (ssize_t)bytes;
    cursor_advance(&c, (size_t)r);
    total += (size_t)r;
  }
  return (ssize_t)total;
}

/* MARK: - Pipe reader */

struct cb_io_reader {
  int fd;
  pthread_t thread;
  const unsigned char *expected;
  size_t period;
  _Atomic uint64_t consumed;
  _Atomic int checking;
  _Atomic size_t mismatches;
};

static void *reader_main(void *arg) {
  cb_io_reader *r = arg;
  size_t cap = 1 << 20;
  unsigned char *buf = malloc(cap);
  uint64_t pos = 0;
  for (;;) {
    ssize_t n = read(r->fd, buf, cap);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (atomic_load_explicit(&r->checking, memory_order_relaxed)) {
      size_t bad = 0;
      for (ssize_t i = 0; i < n; i++)
        if (buf[i] != r->expected[(pos + (uint64_t)i) % r->period]) bad++;
      atomic_fetch_add(&r->mismatches, bad);
    }
    pos += (uint64_t)n;
    atomic_store_explicit(&r->consumed, pos, memory_order_release);
  }
  free(buf);
  close(r->fd);
  return NULL;
}

cb_io_reader *cb_io_reader_start(int fd, const void *expected, size_t period) {
  cb_io_reader *r = calloc(1, sizeof *r);
  r->fd = fd;
  r->expected = expected;
  r->period = period;
  if (pthread_create(&r->thread, NULL, reader_main, r) != 0) {
    free(r);
    return NULL;
  }
  return r;
}

void cb_io_reader_check(cb_io_reader *r, int on) {
  if (on) atomic_store(&r->mismatches, 0);
  atomic_store(&r->checking, on);
}

size_t cb_io_reader_mismatches(cb_io_reader *r) { return atomic_load(&r->mismatches); }

void cb_io_reader_wait(cb_io_reader *r, uint64_t total) {
  for (int spins = 0; atomic_load_explicit(&r->consumed, memory_order_acquire) < total; spins++)
    if (spins > 64) sched_yield();
}

void cb_io_reader_join(cb_io_reader *r) {
  pthread_join(r->thread, NULL);
  free(r);
}

/* MARK: - io_uring, raw system calls */

int cb_uring_init(cb_uring *r, unsigned entries) {
  memset(r, 0, sizeof *r);
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = (int)syscall(__NR_io_uring_setup, entries, &p);
  if (fd < 0) return -errno;
  r->fd = fd;
  r->entries = p.sq_entries;
  size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single && cq_len > sq_len) sq_len = cq_len;
  void *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                  IORING_OFF_SQ_RING);
  if (sq == MAP_FAILED) goto fail;
  r->sq_ring = sq;
  r->sq_ring_len = sq_len;
  void *cq = sq;
  if (!single) {
    cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
              IORING_OFF_CQ_RING);
    if (cq == MAP_FAILED) goto fail;
    r->cq_ring = cq;
    r->cq_ring_len = cq_len;
  }
  r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
  r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                 IORING_OFF_SQES);
  if (r->sqes == MAP_FAILED) goto fail;
  char *s = sq, *c = cq;
  r->sq_head = (unsigned *)(s + p.sq_off.head);
  r->sq_tail = (unsigned *)(s + p.sq_off.tail);
  r->sq_mask = (unsigned *)(s + p.sq_off.ring_mask);
  r->sq_array = (unsigned *)(s + p.sq_off.array);
  r->cq_head = (unsigned *)(c + p.cq_off.head);
  r->cq_tail = (unsigned *)(c + p.cq_off.tail);
  r->cq_mask = (unsigned *)(c + p.cq_off.ring_mask);
  r->cqes = c + p.cq_off.cqes;
  for (unsigned i = 0; i < p.sq_entries; i++) r->sq_array[i] = i; /* slot i = SQE i */
  return 0;
fail:;
  int e = errno;
  cb_uring_exit(r);
  return -e;
}

void cb_uring_exit(cb_uring *r) {
  if (r->sqes && r->sqes != MAP_FAILED) munmap(r->sqes, r->sqes_len);
  if (r->cq_ring_len) munmap(r->cq_ring, r->cq_ring_len);
  if (r->sq_ring && r->sq_ring != MAP_FAILED) munmap(r->sq_ring, r->sq_ring_len);
  if (r->fd > 0) close(r->fd);
  memset(r, 0, sizeof *r);
}

/* One transfer's state: its cursor, its iovec storage, where it writes next. */
typedef struct uring_transfer {
  cb_cursor cursor;
  struct iovec *vectors;
  size_t cap;
  int64_t offset;
  size_t in_flight;
} uring_transfer;

static void push_writev(cb_uring *r, unsigned *tail, int fd, uring_transfer *t, uint64_t token) {
  size_t max = t->cursor.count < CB_MAX_RW_COUNT ? t->cursor.count : CB_MAX_RW_COUNT;
  size_t cap = t->cursor.nr - t->cursor.index;
  if (cap > t->cap) cap = t->cap;
  size_t bytes;
  size_t n = cursor_export(&t->cursor, t->vectors, cap, max, &bytes);
  t->in_flight = bytes;
  struct io_uring_sqe *sqe = (struct io_uring_sqe *)r->sqes + (*tail & *r->sq_mask);
  memset(sqe, 0, sizeof *sqe);
  sqe->opcode = IORING_OP_WRITEV;
  sqe->fd = fd;
  sqe->off = (uint64_t)t->offset;
  sqe->addr = (uint64_t)(uintptr_t)t->vectors;
  sqe->len = (unsigned)n;
  sqe->user_data = token;
  (*tail)++;
}

ssize_t cb_uring_writev_batch(cb_uring *r, int fd, const struct iovec *segs, size_t n,
                              size_t per, size_t bytes_per, int64_t offset,
                              struct iovec *vectors) {
  if (n > r->entries || n > 4096) return -EINVAL;
  uring_transfer ts[n];
  unsigned tail = *r->sq_tail;
  for (size_t i = 0; i < n; i++) {
    cursor_init(&ts[i].cursor, segs + i * per, per);
    ts[i].vectors = vectors + i * per;
    ts[i].cap = per < CB_IOV_MAX ? per : CB_IOV_MAX;
    ts[i].offset = offset + (int64_t)(i * bytes_per);
    push_writev(r, &tail, fd, &ts[i], i);
  }
  atomic_store_explicit((_Atomic unsigned *)r->sq_tail, tail, memory_order_release);
  size_t unsubmitted = n, in_flight = n, total = 0;
  while (in_flight > 0) {
    long k = syscall(__NR_io_uring_enter, r->fd, (unsigned)unsubmitted, (unsigned)in_flight,
                     IORING_ENTER_GETEVENTS, NULL, 0);
    if (k < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EBUSY) k = 0;
      else return -errno;
    }
    unsubmitted -= (size_t)k < unsubmitted ? (size_t)k : unsubmitted;
    unsigned head = *r->cq_head;
    unsigned ctail = atomic_load_explicit((_Atomic unsigned *)r->cq_tail, memory_order_acquire);
    size_t again = 0;
    for (; head != ctail; head++) {
      struct io_uring_cqe *cqe = (struct io_uring_cqe *)r->cqes + (head & *r->cq_mask);
      uring_transfer *t = &ts[cqe->user_data];
      int res = cqe->res;
      in_flight--;
      if (res < 0) {
        if (res == -ECANCELED || res == -EINTR || res == -EAGAIN) {
          push_writev(r, &tail, fd, t, cqe->user_data);
          again++;
          continue;
        }
        atomic_store_explicit((_Atomic unsigned *)r->cq_head, head + 1, memory_order_release);
        return res;
      }
      if (res == 0) {
        atomic_store_explicit((_Atomic unsigned *)r->cq_head, head + 1, memory_order_release);
        return -EIO;
      }
      size_t moved = (size_t)res < t->in_flight ? (size_t)res : t->in_flight;
      cursor_advance(&t->cursor, moved);
      t->offset += (int64_t)moved;
      total += moved;
      if (t->cursor.count > 0) { /* short: the rest goes again */
        push_writev(r, &tail, fd, t, cqe->user_data);
        again++;
      }
    }
    atomic_store_explicit((_Atomic unsigned *)r->cq_head, head, memory_order_release);
    if (again) {
      atomic_store_explicit((_Atomic unsigned *)r->sq_tail, tail, memory_order_release);
      unsubmitted += again;
      in_flight += again;
    }
  }
  return (ssize_t)total;
}
