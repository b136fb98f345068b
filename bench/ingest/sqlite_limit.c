/* sqlite_limit.c - the raw SQLite ingest limit on srmd's own schema.
 *
 *   sqlite_limit [--rows N] [--batch B] [--fts] [--authors A]
 *                [--cache-kib K] DB
 *
 * Opens DB with the daemon's srm_db_open (so the schema, its indexes, the
 * FTS5 table and the pragmas are exactly srmd's: WAL, synchronous=NORMAL,
 * foreign_keys=ON), then inserts N mention rows with srmd's own
 * SRM_SQL_MENTION_INSERT in transactions of B rows (default 1000). With
 * --fts each transaction also indexes its rows with srmd's one
 * INSERT ... SELECT (SRM_SQL_FTS_INDEX_NEW), as srm_db_apply_batch does.
 *
 * The rows are the ones bench/ingest/gen_pages serves (same remote ids,
 * text, authors and times: bench_rows.h).
 * With --authors A (default 1000) the A authors' people and identities are
 * created first, untimed, and each mention points at its author, so the
 * foreign-key checks are srmd's too; what srmd does on top (the identity
 * upsert and lookups per record) is what the benchmark measures.
 *
 * Parameters are bound by position, resolved once: this is the floor, not
 * a copy of the daemon's code path. Prints one JSON line on stdout. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "db_sql.h"

#include "bench_rows.h"

static double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_exec(sqlite3 *h, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sqlite_limit: %s: %s\n", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int bench_prepare(sqlite3 *h, const char *sql, sqlite3_stmt **ret)
{
    if (sqlite3_prepare_v3(h, sql, -1, SQLITE_PREPARE_PERSISTENT, ret,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite_limit: prepare: %s\n", sqlite3_errmsg(h));
        return -1;
    }
    return 0;
}

static int bench_step_done(sqlite3 *h, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "sqlite_limit: step: %s\n", sqlite3_errmsg(h));
        return -1;
    }
    return 0;
}

/* The authors' people and identities, as srmd would create them from the
 * first page (named people, full identities). Returns their first id. */
static int bench_authors(sqlite3 *h, int64_t source_id, int64_t n,
                         int64_t *ret_first)
{
    sqlite3_stmt *person = NULL, *ident = NULL;
    char rid[32], name[32];
    int r = -1;

    if (bench_exec(h, "BEGIN IMMEDIATE") < 0)
        return -1;
    if (bench_prepare(h, SRM_SQL_PERSON_INSERT, &person) < 0 ||
        bench_prepare(h, SRM_SQL_IDENTITY_INSERT, &ident) < 0)
        goto fail;
    for (int64_t a = 0; a < n; a++) {
        int64_t pid;

        snprintf(rid, sizeof(rid), "user%" PRId64, a);
        snprintf(name, sizeof(name), "User %" PRId64, a);
        sqlite3_bind_text(person, sqlite3_bind_parameter_index(
                                      person, ":display_name"),
                          name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(person,
                           sqlite3_bind_parameter_index(person, ":now"),
                           (int64_t)time(NULL));
        if (bench_step_done(h, person) < 0)
            goto fail;
        pid = sqlite3_last_insert_rowid(h);
        sqlite3_clear_bindings(ident);
#define BIND_T(p, v)                                                          \
    sqlite3_bind_text(ident, sqlite3_bind_parameter_index(ident, p), v, -1,  \
                      SQLITE_TRANSIENT)
#define BIND_I(p, v)                                                          \
    sqlite3_bind_int64(ident, sqlite3_bind_parameter_index(ident, p), v)
        BIND_I(":person_id", pid);
        BIND_T(":network", "testnet");
        BIND_T(":remote_id", rid);
        BIND_T(":handle", rid);
        BIND_T(":display_name", name);
        BIND_I(":source_id", source_id);
        BIND_I(":now", (int64_t)time(NULL));
#undef BIND_T
#undef BIND_I
        if (bench_step_done(h, ident) < 0)
            goto fail;
        if (a == 0)
            *ret_first = sqlite3_last_insert_rowid(h);
    }
    r = bench_exec(h, "COMMIT");
fail:
    if (r < 0)
        bench_exec(h, "ROLLBACK");
    sqlite3_finalize(person);
    sqlite3_finalize(ident);
    return r;
}

static void bench_usage(void)
{
    fprintf(stderr, "usage: sqlite_limit [--rows N] [--batch B] [--fts] "
                    "[--authors A] [--cache-kib K] DB\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int64_t rows = 1000000, batch = 1000, authors = 1000, cache_kib = 0;
    int64_t source_id = 0, first_identity = 0, last_id = 0, now;
    const char *path = NULL;
    bool fts = false;
    struct srm_db *db = NULL;
    sqlite3_stmt *ins = NULL, *idx = NULL;
    sqlite3 *h;
    char text[512], rid[48];
    int p_network, p_remote, p_source, p_identity, p_text, p_created,
        p_now, p_matched, p_flags, p_deleted, p_after;
    double t0, t1;
    int r;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fts") == 0)
            fts = true;
        else if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
            rows = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--authors") == 0 && i + 1 < argc)
            authors = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--cache-kib") == 0 && i + 1 < argc)
            cache_kib = strtoll(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && path == NULL)
            path = argv[i];
        else
            bench_usage();
    }
    if (path == NULL || rows <= 0 || batch <= 0 || authors < 0)
        bench_usage();

    r = srm_db_open(path, false, (int)cache_kib, &db);
    if (r < 0) {
        fprintf(stderr, "sqlite_limit: %s: %s\n", path, strerror(-r));
        return 1;
    }
    h = srm_db_handle(db);
    now = (int64_t)time(NULL);
    if (srm_db_source_ensure(db, "bench", "testnet", now, &source_id) < 0)
        goto fail;
    if (authors > 0 &&
        bench_authors(h, source_id, authors, &first_identity) < 0)
        goto fail;
    if (bench_prepare(h, SRM_SQL_MENTION_INSERT, &ins) < 0 ||
        bench_prepare(h, SRM_SQL_FTS_INDEX_NEW, &idx) < 0)
        goto fail;
    p_network = sqlite3_bind_parameter_index(ins, ":network");
    p_remote = sqlite3_bind_parameter_index(ins, ":remote_id");
    p_source = sqlite3_bind_parameter_index(ins, ":source_id");
    p_identity = sqlite3_bind_parameter_index(ins, ":identity_id");
    p_text = sqlite3_bind_parameter_index(ins, ":text");
    p_created = sqlite3_bind_parameter_index(ins, ":created_at");
    p_now = sqlite3_bind_parameter_index(ins, ":now");
    p_matched = sqlite3_bind_parameter_index(ins, ":matched");
    p_flags = sqlite3_bind_parameter_index(ins, ":flags");
    p_deleted = sqlite3_bind_parameter_index(ins, ":deleted");
    p_after = sqlite3_bind_parameter_index(idx, ":after");

    t0 = bench_now();
    for (int64_t i = 0; i < rows;) {
        int64_t after = last_id;

        if (bench_exec(h, "BEGIN IMMEDIATE") < 0)
            goto fail;
        for (int64_t n = 0; n < batch && i < rows; n++, i++) {
            snprintf(rid, sizeof(rid), "bench:%" PRId64, i);
            bench_text(i, text, sizeof(text));
            sqlite3_bind_text(ins, p_network, "testnet", -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, p_remote, rid, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, p_source, source_id);
            if (authors > 0)
                sqlite3_bind_int64(ins, p_identity,
                                   first_identity + i % authors);
            else
                sqlite3_bind_null(ins, p_identity);
            sqlite3_bind_text(ins, p_text, text, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, p_created, 1700000000 + i);
            sqlite3_bind_int64(ins, p_now, now);
            sqlite3_bind_text(ins, p_matched, "testnet", -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, p_flags, 0);
            sqlite3_bind_int64(ins, p_deleted, 0);
            if (bench_step_done(h, ins) < 0)
                goto fail;
            last_id = sqlite3_last_insert_rowid(h);
        }
        if (fts) {
            sqlite3_bind_int64(idx, p_after, after);
            if (bench_step_done(h, idx) < 0)
                goto fail;
        }
        if (bench_exec(h, "COMMIT") < 0)
            goto fail;
    }
    t1 = bench_now();
    printf("{\"rows\": %" PRId64 ", \"batch\": %" PRId64 ", \"fts\": %s, "
           "\"authors\": %" PRId64 ", \"seconds\": %.3f, "
           "\"rows_per_s\": %.0f}\n",
           rows, batch, fts ? "true" : "false", authors, t1 - t0,
           (double)rows / (t1 - t0));
    sqlite3_finalize(ins);
    sqlite3_finalize(idx);
    srm_db_close(db);
    return 0;
fail:
    sqlite3_finalize(ins);
    sqlite3_finalize(idx);
    srm_db_close(db);
    return 1;
}
