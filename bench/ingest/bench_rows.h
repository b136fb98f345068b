/* bench_rows.h - the benchmark's rows, shared by gen_pages.c (which serves
 * them through the testnet connector) and sqlite_limit.c (which inserts them
 * straight into SQLite), so both store exactly the same data.
 *
 * Row i (0-based): remote_id "bench:<i>", author "user<i % authors>" named
 * "User <i % authors>", created_at 1700000000 + i, and bench_text(i). */
#ifndef SRM_BENCH_INGEST_BENCH_ROWS_H
#define SRM_BENCH_INGEST_BENCH_ROWS_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_WORDS 12

static const char *const bench_syl[16] = {
    "ka", "lo", "mi", "nu", "pe", "ra", "si", "to",
    "va", "ze", "bo", "du", "fi", "gu", "ho", "ju"};

static inline uint64_t bench_mix(uint64_t x)
{
    x *= 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    return x;
}

/* Row i's text: its number, a fixed phrase, then BENCH_WORDS words from a
 * 4,096-word vocabulary, skewed towards the first words like real text. */
static inline void bench_text(int64_t i, char *buf, size_t cap)
{
    size_t o = (size_t)snprintf(buf, cap, "item %" PRId64 " mentions srmd:",
                                i);

    for (int k = 0; k < BENCH_WORDS && o + 8 < cap; k++) {
        uint64_t h = bench_mix((uint64_t)i * 16 + (uint64_t)k + 1);
        unsigned a = (unsigned)(h & 4095), b = (unsigned)((h >> 12) & 4095);
        unsigned j = (a * b) >> 12;

        o += (size_t)snprintf(buf + o, cap - o, " %s%s%s",
                              bench_syl[j & 15], bench_syl[(j >> 4) & 15],
                              bench_syl[(j >> 8) & 15]);
    }
}

#endif
