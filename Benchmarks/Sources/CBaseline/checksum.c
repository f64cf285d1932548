//===----------------------------------------------------------------------===//
// swift-iov-iter benchmarks: the C baseline, inline copies and checksums.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "CBaseline.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

// MARK: - Inline copies

/// Copies `n` bytes with a length-dispatched inline copy: two overlapping
/// moves of the largest power of two not above `n` (32 bytes for 33–64, 16 for
/// 17–32, …), memcpy above CB_INLINE_LIMIT.
static inline __attribute__((always_inline)) void cb_inline_copy(char *d, const char *s, size_t n) {
  if (n > CB_INLINE_LIMIT) {
    memcpy(d, s, n);
  } else if (n > 32) {
    char a[32], b[32];
    memcpy(a, s, 32);
    memcpy(b, s + n - 32, 32);
    memcpy(d, a, 32);
    memcpy(d + n - 32, b, 32);
  } else if (n > 16) {
    char a[16], b[16];
    memcpy(a, s, 16);
    memcpy(b, s + n - 16, 16);
    memcpy(d, a, 16);
    memcpy(d + n - 16, b, 16);
  } else if (n > 8) {
    uint64_t a, b;
    memcpy(&a, s, 8);
    memcpy(&b, s + n - 8, 8);
    memcpy(d, &a, 8);
    memcpy(d + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    memcpy(&a, s, 4);
    memcpy(&b, s + n - 4, 4);
    memcpy(d, &a, 4);
    memcpy(d + n - 4, &b, 4);
  } else if (n >= 2) {
    uint16_t a, b;
    memcpy(&a, s, 2);
    memcpy(&b, s + n - 2, 2);
    memcpy(d, &a, 2);
    memcpy(d + n - 2, &b, 2);
  } else if (n == 1) {
    *d = *s;
  }
}

size_t cb_gather_inline(const struct iovec *iov, size_t nr, void *dst, size_t len) {
  char *to = dst;
  size_t done = 0;
  for (size_t i = 0; i < nr && done < len; i++) {
    size_t part = iov[i].iov_len;
    if (part > len - done) part = len - done;
    cb_inline_copy(to + done, iov[i].iov_base, part);
    done += part;
  }
  return done;
}

size_t cb_scatter_inline(const struct iovec *iov, size_t nr, const void *src, size_t len) {
  const char *from = src;
  size_t done = 0;
  for (size_t i = 0; i < nr && done < len; i++) {
    size_t part = iov[i].iov_len;
    if (part > len - done) part = len - done;
    cb_inline_copy(iov[i].iov_base, from + done, part);
    done += part;
  }
  return done;
}

// MARK: - CRC-32C (SSE 4.2)

int cb_has_crc32c(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
#else
  return 0;
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t cb_crc_bytes(uint32_t crc, const char *p,
                                                                size_t n) {
  size_t i = 0;
  for (; n - i >= 8; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    crc = (uint32_t)_mm_crc32_u64(crc, w);
  }
  for (; i < n; i++) crc = _mm_crc32_u8(crc, (unsigned char)p[i]);
  return crc;
}

__attribute__((target("sse4.2"))) static uint32_t cb_copy_crc_bytes(uint32_t crc, char *d,
                                                                     const char *s, size_t n) {
  size_t i = 0;
  for (; n - i >= 8; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    memcpy(d + i, &w, 8);
    crc = (uint32_t)_mm_crc32_u64(crc, w);
  }
  for (; i < n; i++) {
    d[i] = s[i];
    crc = _mm_crc32_u8(crc, (unsigned char)s[i]);
  }
  return crc;
}
#else
static uint32_t cb_crc_bytes(uint32_t crc, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    crc ^= (unsigned char)p[i];
    for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return crc;
}
static uint32_t cb_copy_crc_bytes(uint32_t crc, char *d, const char *s, size_t n) {
  memcpy(d, s, n);
  return cb_crc_bytes(crc, s, n);
}
#endif

uint32_t cb_gather_crc32c(const struct iovec *iov, size_t nr, void *dst, size_t len) {
  char *to = dst;
  size_t done = 0;
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < nr && done < len; i++) {
    size_t part = iov[i].iov_len;
    if (part > len - done) part = len - done;
    crc = cb_copy_crc_bytes(crc, to + done, iov[i].iov_base, part);
    done += part;
  }
  return ~crc;
}

uint32_t cb_gather_then_crc32c(const struct iovec *iov, size_t nr, void *dst, size_t len) {
  size_t done = cb_gather(iov, nr, dst, len);
  return ~cb_crc_bytes(0xffffffffu, dst, done);
}

// MARK: - Internet checksum (64-bit adds, as the kernel's csum_partial)

static uint64_t cb_sum_bytes(const char *p, size_t n) {
  unsigned __int128 acc = 0;
  size_t i = 0;
  for (; n - i >= 8; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    acc += w;
  }
  uint64_t tail = 0;
  memcpy(&tail, p + i, n - i);
  acc += tail;
  uint64_t lo = (uint64_t)acc, hi = (uint64_t)(acc >> 64);
  uint64_t s = lo + hi;
  return s + (s < lo);
}

static uint64_t cb_copy_sum_bytes(char *d, const char *s, size_t n) {
  unsigned __int128 acc = 0;
  size_t i = 0;
  for (; n - i >= 8; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    memcpy(d + i, &w, 8);
    acc += w;
  }
  uint64_t tail = 0;
  memcpy(&tail, s + i, n - i);
  memcpy(d + i, s + i, n - i);
  acc += tail;
  uint64_t lo = (uint64_t)acc, hi = (uint64_t)(acc >> 64);
  uint64_t sum = lo + hi;
  return sum + (sum < lo);
}

static uint16_t cb_fold(uint64_t v) {
  while (v >> 16) v = (v & 0xffff) + (v >> 16);
  return (uint16_t)v;
}

/// The one's-complement sum of native-order words, as big-endian words.
static uint16_t cb_to_big_endian(uint16_t native) {
  return (uint16_t)__builtin_bswap16(native);
}

uint16_t cb_gather_csum(const struct iovec *iov, size_t nr, void *dst, size_t len) {
  char *to = dst;
  size_t done = 0;
  uint64_t total = 0;
  for (size_t i = 0; i < nr && done < len; i++) {
    size_t part = iov[i].iov_len;
    if (part > len - done) part = len - done;
    uint16_t partial = cb_fold(cb_copy_sum_bytes(to + done, iov[i].iov_base, part));
    // A segment that starts at an odd offset has its words shifted by a byte.
    total += (done & 1) ? __builtin_bswap16(partial) : partial;
    done += part;
  }
  return cb_to_big_endian(cb_fold(total));
}

uint16_t cb_gather_then_csum(const struct iovec *iov, size_t nr, void *dst, size_t len) {
  size_t done = cb_gather(iov, nr, dst, len);
  return cb_to_big_endian(cb_fold(cb_sum_bytes(dst, done)));
}
