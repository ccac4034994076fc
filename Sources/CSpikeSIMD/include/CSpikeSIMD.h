/* Vector operations Swift's SIMD types do not spell: a lane permutation with indices chosen at run time.
 *
 * `cs_left_pack8` writes the lanes of `index` and `value` selected by a firing mask to consecutive slots,
 * in lane order: `perm` is the mask's row of a 256 x 8 table of lane numbers (the set lanes in ascending
 * order, then anything). All eight slots are written; the caller advances by the mask's population count,
 * so the spikes of eight neurons are emitted with two permutations and two stores, without a branch per
 * spike. AVX2 only: the Swift callers use it when the package is built for x86-64-v3 (SPIKESCALE_AVX2). */
#ifndef CSPIKESIMD_H
#define CSPIKESIMD_H

#include <stdint.h>

typedef int32_t cs_int8 __attribute__((ext_vector_type(8)));
typedef float cs_float8 __attribute__((ext_vector_type(8)));

#if defined(__x86_64__)
#include <immintrin.h>

static inline __attribute__((target("avx2")))
void cs_left_pack8(cs_int8 index, cs_float8 value, const int32_t *perm, int32_t *indexOut, float *valueOut) {
    __m256i p = _mm256_loadu_si256((const __m256i *)perm);
    _mm256_storeu_si256((__m256i *)indexOut, _mm256_permutevar8x32_epi32((__m256i)index, p));
    _mm256_storeu_ps(valueOut, _mm256_permutevar8x32_ps((__m256)value, p));
}

/* The lanes of a comparison mask (lanes all ones or all zeros) as bits, lane i as bit i: one movemask. */
static inline __attribute__((target("avx2")))
uint32_t cs_lane_bits8(cs_int8 mask) {
    return (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps((__m256i)mask));
}
#endif

#endif
