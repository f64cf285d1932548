//===----------------------------------------------------------------------===//
// swift-iov-iter: the Linux kernel's iov_iter, in user-space Swift.
// SPDX-License-Identifier: Apache-2.0
//===----------------------------------------------------------------------===//
// Checksum kernels that Swift cannot reach by itself: CRC-32C through the
// CPU's crc32 instruction (SSE 4.2, ARMv8 CRC), chosen at run time, and the
// Internet checksum with 64-bit adds. IterCore imports this module internally;
// it is no API. (Kernels that copy and checksum in one loop were tried and
// measured slower than memcpy plus these kernels over each cache-hot block.)
#ifndef CITERCHECKSUM_H
#define CITERCHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/// 1 when `cic_crc32c_hw` may be called: the CPU has
/// a CRC-32C instruction and the environment variable ITER_CRC32C is not
/// `software`. Decided once per process.
int cic_crc32c_hw_available(void);

/// The raw CRC-32C register (reflected polynomial 0x82F63B78, no final
/// complement) after feeding `n` bytes at `p` to `state`. Only after
/// `cic_crc32c_hw_available()` has returned 1.
uint32_t cic_crc32c_hw(uint32_t state, const void *p, size_t n);

/// The sum of the `n` bytes at `p` as native-order 16-bit words, the first
/// byte starting a word and an odd last byte padded with zero, as a 64-bit
/// value whose one's-complement fold to 16 bits is the Internet checksum's
/// partial sum. Never 0 unless every byte is 0.
uint64_t cic_csum_partial(const void *p, size_t n);

/// Copies `n` bytes from `src` to `dst` (which must not overlap) and returns
/// `cic_csum_partial(src, n)`, in one pass.
uint64_t cic_copy_csum_partial(void *dst, const void *src, size_t n);

#endif
