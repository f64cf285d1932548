//===----------------------------------------------------------------------===//
// swift-iov-iter: the Linux kernel's iov_iter, in user-space Swift.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "CIterChecksum.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define CIC_X86 1
#elif defined(__aarch64__)
#include <arm_acle.h>
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#define CIC_ARM 1
#endif

// MARK: - Run-time choice

static int cic_cpu_has_crc32c(void) {
#if defined(CIC_X86)
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") ? 1 : 0;
#elif defined(CIC_ARM) && defined(__linux__)
  // HWCAP_CRC32 is bit 7 of AT_HWCAP on arm64 Linux.
  return (getauxval(AT_HWCAP) & (1UL << 7)) ? 1 : 0;
#else
  return 0;
#endif
}

int cic_crc32c_hw_available(void) {
  // 0 unknown, 1 no, 2 yes. Racing first callers compute the same answer.
  static int decided = 0;
  int d = __atomic_load_n(&decided, __ATOMIC_RELAXED);
  if (d == 0) {
    const char *forced = getenv("ITER_CRC32C");
    int software = forced != NULL && strcmp(forced, "software") == 0;
    d = (!software && cic_cpu_has_crc32c()) ? 2 : 1;
    __atomic_store_n(&decided, d, __ATOMIC_RELAXED);
  }
  return d == 2;
}

// MARK: - Unaligned native-order loads and stores

static inline uint64_t cic_load64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
static inline void cic_store64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

/// The 0..7 bytes at `p`, in their places of a zeroed native-order word.
static inline uint64_t cic_load_tail(const unsigned char *p, size_t n) {
  uint64_t v = 0;
  memcpy(&v, p, n);
  return v;
}

// MARK: - CRC-32C, hardware

#if defined(CIC_X86)
#define CIC_CRC_TARGET __attribute__((target("sse4.2")))
#define CIC_CRC64(c, v) ((uint32_t)_mm_crc32_u64((c), (v)))
#define CIC_CRC8(c, v) _mm_crc32_u8((c), (v))
#elif defined(CIC_ARM)
// Untested here (no arm64 machine): the same loop through __crc32cd.
#define CIC_CRC_TARGET __attribute__((target("+crc")))
#define CIC_CRC64(c, v) __crc32cd((c), (v))
#define CIC_CRC8(c, v) __crc32cb((c), (v))
#endif

#if defined(CIC_CRC_TARGET)

CIC_CRC_TARGET static inline uint32_t cic_crc_tail(uint32_t crc, const unsigned char *p,
                                                   size_t n) {
  for (size_t i = 0; i < n; i++) crc = CIC_CRC8(crc, p[i]);
  return crc;
}

CIC_CRC_TARGET uint32_t cic_crc32c_hw(uint32_t state, const void *p, size_t n) {
  const unsigned char *s = p;
  uint32_t crc = state;
  size_t i = 0;
  for (; n - i >= 32; i += 32) {
    crc = CIC_CRC64(crc, cic_load64(s + i));
    crc = CIC_CRC64(crc, cic_load64(s + i + 8));
    crc = CIC_CRC64(crc, cic_load64(s + i + 16));
    crc = CIC_CRC64(crc, cic_load64(s + i + 24));
  }
  for (; n - i >= 8; i += 8) crc = CIC_CRC64(crc, cic_load64(s + i));
  return cic_crc_tail(crc, s + i, n - i);
}

CIC_CRC_TARGET uint32_t cic_copy_crc32c_hw(void *dst, const void *src, size_t n,
                                           uint32_t state) {
  const unsigned char *s = src;
  unsigned char *d = dst;
  uint32_t crc = state;
  size_t i = 0;
  for (; n - i >= 32; i += 32) {
    uint64_t a = cic_load64(s + i), b = cic_load64(s + i + 8);
    uint64_t c = cic_load64(s + i + 16), e = cic_load64(s + i + 24);
    cic_store64(d + i, a);
    cic_store64(d + i + 8, b);
    cic_store64(d + i + 16, c);
    cic_store64(d + i + 24, e);
    crc = CIC_CRC64(crc, a);
    crc = CIC_CRC64(crc, b);
    crc = CIC_CRC64(crc, c);
    crc = CIC_CRC64(crc, e);
  }
  for (; n - i >= 8; i += 8) {
    uint64_t a = cic_load64(s + i);
    cic_store64(d + i, a);
    crc = CIC_CRC64(crc, a);
  }
  memcpy(d + i, s + i, n - i);
  return cic_crc_tail(crc, s + i, n - i);
}

#else

// No CRC instruction on this architecture: cic_crc32c_hw_available() is 0
// and Swift's table path runs; these are never called.
uint32_t cic_crc32c_hw(uint32_t state, const void *p, size_t n) {
  (void)p;
  (void)n;
  abort();
  return state;
}
uint32_t cic_copy_crc32c_hw(void *dst, const void *src, size_t n, uint32_t state) {
  (void)dst;
  (void)src;
  (void)n;
  abort();
  return state;
}

#endif

// MARK: - Internet checksum, 64-bit adds

/// Folds a 128-bit sum of 64-bit words to 64 bits, end-around carry: the
/// result is congruent modulo 2^64 - 1, and so modulo 0xffff.
static inline uint64_t cic_fold128(unsigned __int128 acc) {
  uint64_t lo = (uint64_t)acc, hi = (uint64_t)(acc >> 64);
  uint64_t sum = lo + hi;
  return sum + (sum < lo);
}

uint64_t cic_csum_partial(const void *p, size_t n) {
  const unsigned char *s = p;
  // Two accumulators, so the add-with-carry chains run side by side.
  unsigned __int128 a = 0, b = 0;
  size_t i = 0;
  for (; n - i >= 32; i += 32) {
    a += cic_load64(s + i);
    b += cic_load64(s + i + 8);
    a += cic_load64(s + i + 16);
    b += cic_load64(s + i + 24);
  }
  for (; n - i >= 8; i += 8) a += cic_load64(s + i);
  a += cic_load_tail(s + i, n - i);
  return cic_fold128(a + b);
}

uint64_t cic_copy_csum_partial(void *dst, const void *src, size_t n) {
  const unsigned char *s = src;
  unsigned char *d = dst;
  unsigned __int128 a = 0, b = 0;
  size_t i = 0;
  for (; n - i >= 32; i += 32) {
    uint64_t w0 = cic_load64(s + i), w1 = cic_load64(s + i + 8);
    uint64_t w2 = cic_load64(s + i + 16), w3 = cic_load64(s + i + 24);
    cic_store64(d + i, w0);
    cic_store64(d + i + 8, w1);
    cic_store64(d + i + 16, w2);
    cic_store64(d + i + 24, w3);
    a += w0;
    b += w1;
    a += w2;
    b += w3;
  }
  for (; n - i >= 8; i += 8) {
    uint64_t w = cic_load64(s + i);
    cic_store64(d + i, w);
    a += w;
  }
  memcpy(d + i, s + i, n - i);
  a += cic_load_tail(s + i, n - i);
  return cic_fold128(a + b);
}
