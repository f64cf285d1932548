//===----------------------------------------------------------------------===//
// swift-iov-iter: the Linux kernel's iov_iter, in user-space Swift.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
#include "CIterChecksum.h"

#include <pthread.h>
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

static void cic_build_shift_tables(void);

/// 0 unknown, 1 no, 2 yes; set once, by cic_decide, after the tables it needs.
static int cic_decided = 0;

static void cic_decide(void) {
  const char *forced = getenv("ITER_CRC32C");
  int software = forced != NULL && strcmp(forced, "software") == 0;
  int hardware = !software && cic_cpu_has_crc32c();
  if (hardware) cic_build_shift_tables();
  __atomic_store_n(&cic_decided, hardware ? 2 : 1, __ATOMIC_RELEASE);
}

int cic_crc32c_hw_available(void) {
  int d = __atomic_load_n(&cic_decided, __ATOMIC_ACQUIRE);
  if (d == 0) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, cic_decide);
    d = __atomic_load_n(&cic_decided, __ATOMIC_ACQUIRE);
  }
  return d == 2;
}

// MARK: - Unaligned native-order loads

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

// Three streams at once: the crc32 instruction takes 3 cycles and can start
// one a cycle, so one dependent chain runs at a third of its speed. Blocks of
// 3 × CIC_STREAM bytes are checksummed as three independent streams, then
// combined: crc(s, A‖B‖C) = shift(crc(s, A), 2L) ⊕ shift(crc(0, B), L) ⊕ crc(0, C),
// where shift(c, L) is c times x^(8L) modulo the polynomial, linear in c and
// so a lookup in four 256-entry tables per L.
#define CIC_STREAM 256

/// shift(c, CIC_STREAM) and shift(c, 2 × CIC_STREAM), a table per byte of c.
static uint32_t cic_shift1[4][256], cic_shift2[4][256];

CIC_CRC_TARGET static inline uint32_t cic_crc_tail(uint32_t crc, const unsigned char *p,
                                                   size_t n) {
  for (size_t i = 0; i < n; i++) crc = CIC_CRC8(crc, p[i]);
  return crc;
}

/// shift(c, n): the register after n zero bytes (crc(0, zeros) is 0).
CIC_CRC_TARGET static uint32_t cic_shift_slow(uint32_t c, size_t n) {
  for (size_t i = 0; i < n / 8; i++) c = CIC_CRC64(c, 0);
  return c;
}

static void cic_build_table(uint32_t table[4][256], size_t n) {
  uint32_t bit[32];
  for (int b = 0; b < 32; b++) bit[b] = cic_shift_slow(1u << b, n);
  for (int k = 0; k < 4; k++) {
    for (int v = 0; v < 256; v++) {
      uint32_t t = 0;
      for (int b = 0; b < 8; b++)
        if (v & (1 << b)) t ^= bit[8 * k + b];
      table[k][v] = t;
    }
  }
}

static void cic_build_shift_tables(void) {
  cic_build_table(cic_shift1, CIC_STREAM);
  cic_build_table(cic_shift2, 2 * CIC_STREAM);
}

static inline uint32_t cic_shift(uint32_t table[4][256], uint32_t c) {
  return table[0][c & 0xff] ^ table[1][(c >> 8) & 0xff] ^ table[2][(c >> 16) & 0xff] ^
         table[3][c >> 24];
}

CIC_CRC_TARGET uint32_t cic_crc32c_hw(uint32_t state, const void *p, size_t n) {
  const unsigned char *s = p;
  uint32_t crc = state;
  size_t i = 0;
  for (; n - i >= 3 * CIC_STREAM; i += 3 * CIC_STREAM) {
    const unsigned char *a = s + i, *b = a + CIC_STREAM, *c = b + CIC_STREAM;
    uint32_t ca = crc, cb = 0, cc = 0;
    for (size_t k = 0; k < CIC_STREAM; k += 8) {
      ca = CIC_CRC64(ca, cic_load64(a + k));
      cb = CIC_CRC64(cb, cic_load64(b + k));
      cc = CIC_CRC64(cc, cic_load64(c + k));
    }
    crc = cic_shift(cic_shift2, ca) ^ cic_shift(cic_shift1, cb) ^ cc;
  }
  for (; n - i >= 8; i += 8) crc = CIC_CRC64(crc, cic_load64(s + i));
  return cic_crc_tail(crc, s + i, n - i);
}

#else

// No CRC instruction on this architecture: cic_crc32c_hw_available() is 0
// and Swift's table path runs; these are never called.
static void cic_build_shift_tables(void) {}

uint32_t cic_crc32c_hw(uint32_t state, const void *p, size_t n) {
  (void)p;
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
