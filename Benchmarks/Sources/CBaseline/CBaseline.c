//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: the C baseline.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "CBaseline.h"

#include <string.h>

void cb_iter_init(cb_iter *it, const struct iovec *iov, size_t nr, size_t count) {
  it->iov = iov;
  it->nr_segs = nr;
  it->index = 0;
  it->offset = 0;
  it->count = count;
  it->consumed = 0;
}

size_t cb_gather(const struct iovec *iov, size_t nr, void *dst, size_t len) {
  char *to = dst;
  size_t done = 0;
  for (size_t i = 0; i < nr && done < len; i++) {
    size_t part = iov[i].iov_len;
    if (part > len - done) part = len - done;
    memcpy(to + done, iov[i].iov_base, part);
    done += part;
  }
  return done;
}

size_t cb_scatter(const struct iovec *iov, size_t nr, const void *src, size_t len) {
  const char *from = src;
  size_t done = 0;
  for (size_t i = 0; i < nr && done < len; i++) {
    size_t part = iov[i].iov_len;
    if (part > len - done) part = len - done;
    memcpy(iov[i].iov_base, from + done, part);
    done += part;
  }
  return done;
}

size_t cb_scatter_sink(const struct iovec *iov, size_t nr, const void *src, size_t len) {
  const char *from = src;
  size_t done = 0;
  for (size_t i = 0; i < nr && done < len; i++) {
    size_t part = iov[i].iov_len;
    if (part > len - done) part = len - done;
    if (iov[i].iov_base) memcpy(iov[i].iov_base, from + done, part);
    done += part;
  }
  return done;
}

size_t cb_iov_to_iov(const struct iovec *dst, size_t dnr, const struct iovec *src, size_t snr,
                     size_t len) {
  size_t di = 0, doff = 0, si = 0, soff = 0, done = 0;
  while (done < len && di < dnr && si < snr) {
    size_t dleft = dst[di].iov_len - doff;
    size_t sleft = src[si].iov_len - soff;
    size_t n = dleft < sleft ? dleft : sleft;
    if (n > len - done) n = len - done;
    memcpy((char *)dst[di].iov_base + doff, (const char *)src[si].iov_base + soff, n);
    done += n;
    doff += n;
    soff += n;
    if (doff == dst[di].iov_len) { di++; doff = 0; }
    if (soff == src[si].iov_len) { si++; soff = 0; }
  }
  return done;
}

void cb_advance(cb_iter *it, size_t n) {
  if (it->count == 0) return;
  if (n > it->count) n = it->count;
  it->count -= n;
  it->consumed += n;
  size_t size = n + it->offset;
  size_t i = it->index;
  while (i < it->nr_segs && size >= it->iov[i].iov_len) {
    size -= it->iov[i].iov_len;
    i++;
  }
  it->index = i;
  it->offset = size;
}

void cb_revert(cb_iter *it, size_t n) {
  if (n == 0 || n > it->consumed) return;
  it->count += n;
  it->consumed -= n;
  if (n <= it->offset) {
    it->offset -= n;
    return;
  }
  size_t unroll = n - it->offset;
  size_t i = it->index;
  for (;;) {
    size_t len = it->iov[--i].iov_len;
    if (unroll <= len) {
      it->index = i;
      it->offset = len - unroll;
      return;
    }
    unroll -= len;
  }
}

size_t cb_export(const cb_iter *it, struct iovec *out, size_t cap, size_t max_bytes,
                 size_t *bytes) {
  size_t size = max_bytes < it->count ? max_bytes : it->count;
  size_t written = 0, total = 0, i = it->index, skip = it->offset;
  while (size > 0 && written < cap) {
    size_t len = it->iov[i].iov_len - skip;
    if (len > size) len = size;
    if (len > 0) {
      out[written].iov_base = (char *)it->iov[i].iov_base + skip;
      out[written].iov_len = len;
      written++;
      total += len;
      size -= len;
    }
    i++;
    skip = 0;
  }
  *bytes = total;
  return written;
}

size_t cb_save_restore(cb_iter *it, size_t n) {
  size_t sum = 0;
  for (size_t k = 0; k < n; k++) {
    cb_iter saved = *it; // iov_iter_save_state
    cb_opaque(&saved);   // as the Swift loop does: the state escapes
    *it = saved;         // iov_iter_restore
    sum += it->offset + it->count;
  }
  return sum;
}

size_t cb_build(struct iovec *out, char *base, size_t n, size_t segment) {
  for (size_t i = 0; i < n; i++) {
    out[i].iov_base = base + i * segment;
    out[i].iov_len = segment;
  }
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = out[i].iov_len;
    if ((ssize_t)len < 0 || total + len < total) return SIZE_MAX;
    total += len;
  }
  return total;
}

__attribute__((noinline)) void cb_opaque(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

void cb_memcpy(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
