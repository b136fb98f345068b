/* db.c - the SQLite store: open, migrate, transactions, and the writes the
 * core makes (sources, cursors, validators, members, ingest batches). */
#include "db.h"

#include <assert.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fts_rank.h"
#include "idcache.h"
#include "log.h"
#include "mem.h"
#include "people.h"
#include "people_score.h"
#include "rankacc.h"

struct srm_db {
    sqlite3 *h;
    char *path;
    bool read_only;
    sqlite3_stmt *stmts[SRM_STMT_COUNT_];
    struct srm_idcache *ids; /* the identities of the batch being applied */
    bool fulltext_off;       /* daemon.fulltext: false */
    int64_t fts_max;         /* highest rowid in mentions_fts; -1 unknown */
    bool index_due;          /* new mentions: index them before COMMIT */
    struct srm_rankacc *rank; /* their ranking facts, per person */
    bool rank_broken;        /* a merge, split or undone job: use the SQL */
    /* SRM_SQL_PROFILE=1 in the environment: time spent per statement, by
     * srm_sql_id (the last slot: statements run outside the table), logged
     * when the connection closes. NULL otherwise. */
    struct db_profile *profile;
};

struct db_profile {
    uint64_t ns[SRM_STMT_COUNT_ + 1];
    uint64_t runs[SRM_STMT_COUNT_ + 1];
};

#define DB_SQL_NAME_(name) [SRM_STMT_##name] = #name,
static const char *const db_sql_names[SRM_STMT_COUNT_] = {
    SRM_SQL_STATEMENTS(DB_SQL_NAME_)};
#undef DB_SQL_NAME_

#define DB_SQL_TEXT_(name) [SRM_STMT_##name] = SRM_SQL_##name,
static const char *const db_sql[SRM_STMT_COUNT_] = {
    SRM_SQL_STATEMENTS(DB_SQL_TEXT_)};
#undef DB_SQL_TEXT_

/* Version N is db_migrations[N - 1]; append, never edit. */
static const char *const db_migrations[] = {
    SRM_SQL_MIGRATION_1,
    SRM_SQL_MIGRATION_2, /* db_sql_people.h */
    SRM_SQL_MIGRATION_3, /* db_sql_inbox.h */
    SRM_SQL_MIGRATION_4, /* mentions.status CHECK without IN */
    SRM_SQL_MIGRATION_5, /* db_sql_people.h: people_owner covers the load */
    SRM_SQL_MIGRATION_6, /* db_sql_people.h: config links, suggest ranking */
    SRM_SQL_MIGRATION_7, /* db_sql_people.h: people_fts prefixes 4 to 6 */
};
_Static_assert(SRM_ARRAY_LEN(db_migrations) == SRM_DB_SCHEMA_VERSION,
               "one migration per schema version");

static int db_run(struct srm_db *db, sqlite3_stmt *st, const char *what);
static int db_exec_id(struct srm_db *db, enum srm_sql_id id);

/* ------------------------------------------------------------------ */
/* Errors and statement helpers                                        */

int srm_err_from_sqlite(int rc)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return -EEXIST;
    case SQLITE_CANTOPEN_ISDIR:
        return -EISDIR;
    default:
        break;
    }
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE: return 0;
    case SQLITE_FULL: return -ENOSPC;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return -EBUSY;
    case SQLITE_READONLY: return -EROFS;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_IOERR: return -EIO;
    case SQLITE_NOMEM: return -ENOMEM;
    case SQLITE_CANTOPEN: return -ENOENT;
    case SQLITE_PERM:
    case SQLITE_AUTH: return -EACCES;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_MISUSE: return -EINVAL;
    case SQLITE_TOOBIG: return -E2BIG;
    case SQLITE_INTERRUPT: return -EINTR;
    case SQLITE_ABORT: return -ECANCELED;
    case SQLITE_SCHEMA: return -EAGAIN;
    case SQLITE_PROTOCOL: return -EPROTO;
    default: return -EIO;
    }
}

int srm_db_fail(struct srm_db *db, int rc, const char *what)
{
    if (what == NULL)
        SRM_ERROR("db: %s: %s", db->path, sqlite3_errmsg(db->h));
    else
        SRM_ERROR("db: %s: %s: %s", db->path, what, sqlite3_errmsg(db->h));
    return srm_err_from_sqlite(rc);
}

const char *srm_db_path(struct srm_db *db)
{
    return db->path;
}

sqlite3 *srm_db_handle(struct srm_db *db)
{
    return db->h;
}

sqlite3_stmt *srm_db_stmt(struct srm_db *db, enum srm_sql_id id)
{
    int rc;

    assert(id >= 0 && id < SRM_STMT_COUNT_);
    if (db->stmts[id] != NULL)
        return db->stmts[id];
    rc = sqlite3_prepare_v3(db->h, db_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                            &db->stmts[id], NULL);
    if (rc != SQLITE_OK) {
        srm_db_fail(db, rc, "prepare");
        SRM_DEBUG("failed SQL: %s", db_sql[id]);
        db->stmts[id] = NULL;
        return NULL;
    }
    return db->stmts[id];
}

void srm_db_stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* sqlite3_bind_parameter_index() compares the name with each parameter in
 * turn: with ~20 named parameters bound per ingested row it was 4.7% of the
 * ingest path's instructions. Statements live as long as their connection
 * (db_sql's table, finalized only by srm_db_close) and the names are
 * literals, so each thread remembers (statement, name) -> index. A slot is
 * trusted only in the generation it was filled in: srm_db_close starts a
 * new one before it finalizes, so a statement prepared later at a freed
 * address never meets an old slot. (Confirming each hit with
 * sqlite3_bind_parameter_name() instead cost 2.5% of ingest: SQLite walks
 * its parameter list to answer.) */
#define DB_PARAM_SLOTS 512 /* power of two; ~300 (statement, name) pairs */

struct db_param_slot {
    const sqlite3_stmt *st;
    const char *name;
    unsigned gen;
    int index;
};

static _Thread_local struct db_param_slot db_param_cache[DB_PARAM_SLOTS];
static _Atomic unsigned db_param_gen = 1;

static int db_param(sqlite3_stmt *st, const char *name)
{
    uintptr_t h = ((uintptr_t)st >> 4) * 0x9E3779B1u ^ (uintptr_t)name;
    struct db_param_slot *slot = &db_param_cache[(h ^ (h >> 9)) &
                                                 (DB_PARAM_SLOTS - 1)];
    unsigned gen = atomic_load_explicit(&db_param_gen, memory_order_acquire);
    int i;

    if (slot->st == st && slot->name == name && slot->gen == gen)
        return slot->index;
    i = sqlite3_bind_parameter_index(st, name);
    /* A name missing from the statement is a bug in db_sql.h. */
    assert(i > 0);
    *slot = (struct db_param_slot){st, name, gen, i};
    return i;
}

void srm_db_bind_text(sqlite3_stmt *st, const char *name, const char *s)
{
    int i = db_param(st, name);

    if (s == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

void srm_db_bind_int64(sqlite3_stmt *st, const char *name, int64_t v)
{
    sqlite3_bind_int64(st, db_param(st, name), v);
}

void srm_db_bind_double(sqlite3_stmt *st, const char *name, double v)
{
    sqlite3_bind_double(st, db_param(st, name), v);
}

void srm_db_bind_int64_or_null(sqlite3_stmt *st, const char *name, int64_t v,
                               int64_t null_value)
{
    if (v == null_value)
        sqlite3_bind_null(st, db_param(st, name));
    else
        sqlite3_bind_int64(st, db_param(st, name), v);
}

/* Strings in a batch outlive the statement's use, so SQLite need not copy
 * them: this is the ingest path's bind. */
static void db_bind_static(sqlite3_stmt *st, const char *name, const char *s)
{
    int i = db_param(st, name);

    if (s == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Step st to the end (ignoring rows, e.g. RETURNING), then reset it. */
static int db_run(struct srm_db *db, sqlite3_stmt *st, const char *what)
{
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE) {
        int err = srm_db_fail(db, rc, what);
        srm_db_stmt_done(st);
        return err;
    }
    srm_db_stmt_done(st);
    return 0;
}

static int db_exec_id(struct srm_db *db, enum srm_sql_id id)
{
    sqlite3_stmt *st = srm_db_stmt(db, id);

    if (st == NULL)
        return srm_err_from_sqlite(sqlite3_errcode(db->h));
    return db_run(db, st, db_sql[id]);
}

/* Run a statement returning one integer row into *ret. */
static int db_query_int64(struct srm_db *db, sqlite3_stmt *st,
                          const char *what, int64_t *ret)
{
    int rc = sqlite3_step(st);
    int err = 0;

    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int64(st, 0);
    else
        err = srm_db_fail(db, rc == SQLITE_DONE ? SQLITE_ERROR : rc, what);
    srm_db_stmt_done(st);
    return err;
}

#define DB_STMT(db, id, st)                                                   \
    do {                                                                      \
        (st) = srm_db_stmt((db), (id));                                       \
        if ((st) == NULL) {                                                   \
            r = srm_err_from_sqlite(sqlite3_errcode((db)->h));                \
            goto fail;                                                        \
        }                                                                     \
    } while (0)

/* ------------------------------------------------------------------ */
/* Open, migrate, close                                                */

/* mkdir -p with mode 0700: the database holds people's data. */
static int db_mkdirs(const char *dir)
{
    char *p = srm_xstrdup(dir);
    int r = 0;

    for (char *s = p + 1;; s++) {
        bool end = *s == '\0';
        if (*s != '/' && !end)
            continue;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST) {
            r = -errno;
            SRM_ERROR("db: %s: cannot create folder: %s", p, strerror(errno));
            goto fail;
        }
        if (end)
            break;
        *s = '/';
    }
fail:
    free(p);
    return r;
}

/* Create the parent folder and the file itself before SQLite does, so the
 * file gets mode 0600 (SQLite would use 0644 & ~umask); the -wal and -shm
 * files copy the database file's mode. */
static int db_prepare_file(const char *path)
{
    const char *slash;
    struct stat sb;
    int fd, r = 0;

    if (path[0] == '\0' || strcmp(path, ":memory:") == 0 ||
        strncmp(path, "file:", 5) == 0)
        return 0;
    slash = strrchr(path, '/');
    if (slash != NULL && slash != path) {
        char *dir = srm_xstrndup(path, (size_t)(slash - path));
        if (stat(dir, &sb) < 0)
            r = db_mkdirs(dir);
        free(dir);
        if (r < 0)
            return r;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        r = -errno;
        SRM_ERROR("db: %s: cannot create: %s", path, strerror(errno));
        return r;
    }
    close(fd);
    return 0;
}

static int db_user_version(struct srm_db *db, int64_t *ret)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_USER_VERSION);

    if (st == NULL)
        return srm_err_from_sqlite(sqlite3_errcode(db->h));
    return db_query_int64(db, st, NULL, ret);
}

/* Returns 1 when it migrated, 0 when the schema was current, or an error. */
static int db_migrate(struct srm_db *db)
{
    int64_t v;
    char *msg = NULL;
    int migrated = 0, r, rc;

    for (;;) {
        r = db_user_version(db, &v);
        if (r < 0)
            return r;
        if (v > SRM_DB_SCHEMA_VERSION) {
            SRM_ERROR("db: %s: schema version %lld is newer than this srmd "
                      "knows (%d)",
                      db->path, (long long)v, SRM_DB_SCHEMA_VERSION);
            return -EPROTO;
        }
        if (v == SRM_DB_SCHEMA_VERSION)
            return migrated;
        r = srm_db_begin(db);
        if (r < 0)
            return r;
        /* Another process may have migrated while we waited for the lock. */
        r = db_user_version(db, &v);
        if (r < 0)
            goto fail;
        if (v >= SRM_DB_SCHEMA_VERSION) {
            r = srm_db_commit(db);
            if (r < 0)
                goto fail;
            continue;
        }
        rc = sqlite3_exec(db->h, db_migrations[v], NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            SRM_ERROR("db: %s: migration to version %lld failed: %s",
                      db->path, (long long)v + 1, msg ? msg : "?");
            sqlite3_free(msg);
            r = srm_err_from_sqlite(rc);
            goto fail;
        }
        r = srm_db_commit(db);
        if (r < 0)
            goto fail;
        SRM_INFO("db: %s: schema migrated to version %lld", db->path,
                 (long long)v + 1);
        migrated = 1;
    }
fail:
    srm_db_rollback(db);
    return r;
}

/* ------------------------------------------------------------------ */
/* SRM_SQL_PROFILE: where a connection's time goes, per statement       */

static int db_profile_cb(unsigned type, void *ctx, void *p, void *x)
{
    struct srm_db *db = ctx;
    size_t id = SRM_STMT_COUNT_;

    if (type != SQLITE_TRACE_PROFILE)
        return 0;
    for (size_t i = 0; i < SRM_STMT_COUNT_; i++)
        if (db->stmts[i] == p) {
            id = i;
            break;
        }
    db->profile->ns[id] += *(const sqlite3_int64 *)x;
    db->profile->runs[id]++;
    return 0;
}

static void db_profile_start(struct srm_db *db)
{
    const char *env = getenv("SRM_SQL_PROFILE");

    if (env == NULL || strcmp(env, "1") != 0)
        return;
    db->profile = srm_xcalloc(1, sizeof(*db->profile));
    sqlite3_trace_v2(db->h, SQLITE_TRACE_PROFILE, db_profile_cb, db);
}

static void db_profile_report(struct srm_db *db)
{
    struct db_profile *p = db->profile;
    uint64_t total = 0;

    if (p == NULL)
        return;
    for (size_t i = 0; i <= SRM_STMT_COUNT_; i++)
        total += p->ns[i];
    SRM_NOTICE("db: %s%s: SQL profile, %.1f ms in all:", db->path,
               db->read_only ? " (read-only)" : "", (double)total / 1e6);
    /* Largest first; a selection sort over ~150 entries, once. */
    for (;;) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i <= SRM_STMT_COUNT_; i++)
            if (p->runs[i] > 0 && (best == SIZE_MAX || p->ns[i] > p->ns[best]))
                best = i;
        if (best == SIZE_MAX)
            break;
        SRM_NOTICE("db:   %-24s %8.1f ms %5.1f%% %9llu runs %8.2f us each",
                   best < SRM_STMT_COUNT_ ? db_sql_names[best] : "(other)",
                   (double)p->ns[best] / 1e6,
                   total ? 100.0 * (double)p->ns[best] / (double)total : 0.0,
                   (unsigned long long)p->runs[best],
                   (double)p->ns[best] / 1e3 / (double)p->runs[best]);
        p->runs[best] = 0;
    }
    free(p);
    db->profile = NULL;
}

static int db_configure(struct srm_db *db, int cache_kib)
{
    sqlite3_stmt *st = NULL;
    int r = 0, rc;

    sqlite3_extended_result_codes(db->h, 1);
    sqlite3_busy_timeout(db->h, 5000);
    db_profile_start(db);
    if (!db->read_only) {
        rc = sqlite3_prepare_v2(db->h, SRM_SQL_WAL, -1, &st, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            r = srm_db_fail(db, rc, NULL);
            goto fail;
        }
        if (strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
            SRM_WARNING("db: %s: journal mode is %s, not wal", db->path,
                        sqlite3_column_text(st, 0));
    }
    rc = sqlite3_exec(db->h, SRM_SQL_PRAGMAS, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        r = srm_db_fail(db, rc, NULL);
        goto fail;
    }
    r = srm_fts_rank_register(db->h); /* mentions.search's ranking */
    if (r < 0) {
        SRM_ERROR("db: %s: cannot register srm_rank: %s", db->path,
                  srm_strerror(r));
        goto fail;
    }
    if (cache_kib > 0) {
        /* PRAGMAs take no parameters; this one number is formatted once
         * per connection, never on the ingest path. */
        char *sql = srm_xasprintf("PRAGMA cache_size = -%d", cache_kib);
        rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
        free(sql);
        if (rc != SQLITE_OK) {
            r = srm_db_fail(db, rc, NULL);
            goto fail;
        }
    }
fail:
    sqlite3_finalize(st);
    return r;
}

int srm_db_open(const char *path, bool read_only, int cache_kib,
                struct srm_db **ret_db)
{
    struct srm_db *db = srm_xcalloc(1, sizeof(*db));
    int flags = SQLITE_OPEN_NOMUTEX;
    int64_t v;
    int r, rc;

    db->path = srm_xstrdup(path);
    db->read_only = read_only;
    db->fts_max = -1;
    if (read_only) {
        flags |= SQLITE_OPEN_READONLY;
    } else {
        flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        r = db_prepare_file(path);
        if (r < 0)
            goto fail;
    }
    rc = sqlite3_open_v2(path, &db->h, flags, NULL);
    if (rc != SQLITE_OK) {
        int sys = db->h ? sqlite3_system_errno(db->h) : 0;
        r = srm_db_fail(db, rc, NULL);
        if ((rc & 0xff) == SQLITE_CANTOPEN && sys == EACCES)
            r = -EACCES;
        goto fail;
    }
    r = db_configure(db, cache_kib);
    if (r < 0)
        goto fail;
    if (!read_only) {
        r = db_migrate(db);
        if (r < 0)
            goto fail;
        if (r > 0) {
            /* A connection keeps the table definitions it parsed before a
             * migration edited them in place (migration 4): start afresh
             * on the migrated file. */
            srm_db_close(db);
            return srm_db_open(path, read_only, cache_kib, ret_db);
        }
    } else {
        r = db_user_version(db, &v);
        if (r < 0)
            goto fail;
        if (v != SRM_DB_SCHEMA_VERSION) {
            SRM_ERROR("db: %s: schema version %lld, expected %d", path,
                      (long long)v, SRM_DB_SCHEMA_VERSION);
            r = -EPROTO;
            goto fail;
        }
    }
    *ret_db = db;
    return 0;
fail:
    srm_db_close(db);
    return r;
}

void srm_db_close(struct srm_db *db)
{
    if (db == NULL)
        return;
    db_profile_report(db);
    /* Every thread's remembered parameter indexes go stale (db_param). */
    atomic_fetch_add_explicit(&db_param_gen, 1, memory_order_acq_rel);
    for (size_t i = 0; i < SRM_STMT_COUNT_; i++)
        sqlite3_finalize(db->stmts[i]);
    srm_idcache_destroy(db->ids);
    srm_rankacc_destroy(db->rank);
    if (db->h != NULL && sqlite3_close(db->h) != SQLITE_OK)
        SRM_ERROR("db: %s: close: %s", db->path, sqlite3_errmsg(db->h));
    free(db->path);
    free(db);
}

int srm_db_check(struct srm_db *db)
{
    sqlite3_stmt *st = srm_db_stmt(db, SRM_STMT_QUICK_CHECK);
    int rc, r = 0, n = 0;

    if (st == NULL)
        return srm_err_from_sqlite(sqlite3_errcode(db->h));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        if (line != NULL && strcmp(line, "ok") == 0)
            continue;
        r = -EIO;
        /* quick_check can list thousands of problems; a few say enough. */
        if (n++ < 10)
            SRM_ERROR("db: %s: integrity: %s", db->path, line ? line : "?");
    }
    if (rc != SQLITE_DONE)
        r = srm_db_fail(db, rc, "quick_check");
    srm_db_stmt_done(st);
    return r;
}

/* ------------------------------------------------------------------ */
/* Transactions                                                        */

static int db_fts_max(struct srm_db *db, int64_t *ret);

/* The people's ranking facts of the transaction's new mentions: from the
 * sums added up at insert unless an identity changed person or a batch
 * was undone meanwhile (people.h decides whether the sums cover exactly
 * the rows above the ranking mark). */
static int db_rank_flush(struct srm_db *db)
{
    int r = srm_people_rank_catch_up(db, db->rank_broken ? NULL : db->rank);

    if (db->rank != NULL)
        srm_rankacc_clear(db->rank);
    db->rank_broken = false;
    return r;
}

void srm_db_rank_forget(struct srm_db *db)
{
    db->rank_broken = true;
}

/* What every batch of a transaction needs once, done once before its
 * COMMIT: full-text indexing of the new mentions (one INSERT ... SELECT)
 * and the people's ranking facts (srm_people_rank_catch_up). Both work on
 * the ids above what they last covered, so one run covers every batch of
 * the transaction, at a fraction of the cost of one run per batch (a
 * source's pages of 1,000 rows, one batch each: 1M rows 38 -> 31 s). */
static int db_index_due(struct srm_db *db)
{
    int64_t fts_max;
    sqlite3_stmt *st;
    int r = 0;

    if (!db->index_due)
        return 0;
    if (!db->fulltext_off) {
        if ((r = db_fts_max(db, &fts_max)) < 0)
            goto fail;
        DB_STMT(db, SRM_STMT_FTS_INDEX_NEW, st);
        srm_db_bind_int64(st, ":after", fts_max);
        r = db_run(db, st, "full-text index");
        db->fts_max = -1; /* found again when next needed */
        if (r < 0)
            goto fail;
    }
    r = db_rank_flush(db);
    if (r == 0)
        db->index_due = false;
fail:
    return r;
}

int srm_db_begin(struct srm_db *db)
{
    return db_exec_id(db, SRM_STMT_BEGIN);
}

int srm_db_commit(struct srm_db *db)
{
    int r = db_index_due(db);

    return r < 0 ? r : db_exec_id(db, SRM_STMT_COMMIT);
}

void srm_db_set_fulltext(struct srm_db *db, bool on)
{
    db->fulltext_off = !on;
}

int srm_db_rollback(struct srm_db *db)
{
    db->fts_max = -1; /* what was indexed may be undone */
    db->index_due = false;
    if (db->rank != NULL)
        srm_rankacc_clear(db->rank);
    db->rank_broken = false;
    /* SQLite may already have rolled back (after SQLITE_FULL, IOERR...). */
    if (sqlite3_get_autocommit(db->h))
        return 0;
    return db_exec_id(db, SRM_STMT_ROLLBACK);
}

int srm_db_savepoint(struct srm_db *db)
{
    return db_exec_id(db, SRM_STMT_SAVEPOINT);
}

int srm_db_release(struct srm_db *db)
{
    return db_exec_id(db, SRM_STMT_RELEASE);
}

int srm_db_rollback_to(struct srm_db *db)
{
    int r;

    db->fts_max = -1;
    db->rank_broken = true; /* its rows are gone, their sums are not */
    r = db_exec_id(db, SRM_STMT_ROLLBACK_TO);
    if (r < 0)
        return r;
    return db_exec_id(db, SRM_STMT_RELEASE);
}

/* ------------------------------------------------------------------ */
/* Sources, cursors, validators, members, counts                       */

int srm_db_source_ensure(struct srm_db *db, const char *name,
                         const char *plugin, int64_t now, int64_t *ret_id)
{
    sqlite3_stmt *st;
    int r;

    DB_STMT(db, SRM_STMT_SOURCE_ENSURE, st);
    srm_db_bind_text(st, ":name", name);
    srm_db_bind_text(st, ":plugin", plugin);
    srm_db_bind_int64(st, ":now", now);
    r = db_query_int64(db, st, "source_ensure", ret_id);
fail:
    return r;
}

int srm_db_source_set_state(struct srm_db *db, int64_t source_id,
                            const struct srm_source_state *s)
{
    sqlite3_stmt *st;
    int r;

    DB_STMT(db, SRM_STMT_SOURCE_SET_STATE, st);
    srm_db_bind_text(st, ":state", s->state);
    srm_db_bind_int64_or_null(st, ":last_sync_at", s->last_sync_at, 0);
    srm_db_bind_int64_or_null(st, ":last_ok_at", s->last_ok_at, 0);
    srm_db_bind_int64_or_null(st, ":next_sync_at", s->next_sync_at, 0);
    srm_db_bind_text(st, ":last_error", s->last_error);
    srm_db_bind_int64(st, ":failures", s->failures);
    /* A pass ended exactly when its end time is recorded. */
    srm_db_bind_int64(st, ":pass", s->last_sync_at != 0);
    srm_db_bind_int64(st, ":id", source_id);
    r = db_run(db, st, "source_set_state");
fail:
    return r;
}

int srm_db_source_retire(struct srm_db *db, int64_t source_id, int64_t now)
{
    sqlite3_stmt *st;
    int r;

    DB_STMT(db, SRM_STMT_SOURCE_RETIRE, st);
    srm_db_bind_int64(st, ":now", now);
    srm_db_bind_int64(st, ":id", source_id);
    r = db_run(db, st, "source_retire");
fail:
    return r;
}

int srm_db_cursors_load(struct srm_db *db, int64_t source_id,
                        srm_db_kv_fn fn, void *ud)
{
    sqlite3_stmt *st;
    int r = 0, rc;

    DB_STMT(db, SRM_STMT_CURSORS_LOAD, st);
    srm_db_bind_int64(st, ":source_id", source_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn((const char *)sqlite3_column_text(st, 0),
           (const char *)sqlite3_column_text(st, 1), ud);
    if (rc != SQLITE_DONE)
        r = srm_db_fail(db, rc, "cursors_load");
    srm_db_stmt_done(st);
fail:
    return r;
}

int srm_db_validators_load(struct srm_db *db, srm_db_validator_fn fn,
                           void *ud)
{
    sqlite3_stmt *st;
    int r = 0, rc;

    DB_STMT(db, SRM_STMT_VALIDATORS_LOAD, st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn((const char *)sqlite3_column_text(st, 0),
           (const char *)sqlite3_column_text(st, 1),
           (const char *)sqlite3_column_text(st, 2), ud);
    if (rc != SQLITE_DONE)
        r = srm_db_fail(db, rc, "validators_load");
    srm_db_stmt_done(st);
fail:
    return r;
}

int srm_db_members_sync(struct srm_db *db, const struct srm_member_row *rows,
                        size_t n, int64_t now)
{
    sqlite3_stmt *st;
    int r;

    /* Its own savepoint: atomic inside or outside a transaction. */
    r = db_exec_id(db, SRM_STMT_MEMBERS_SAVEPOINT);
    if (r < 0)
        return r;
    r = db_exec_id(db, SRM_STMT_MEMBERS_DEACTIVATE);
    if (r < 0)
        goto fail;
    DB_STMT(db, SRM_STMT_MEMBER_UPSERT, st);
    for (size_t i = 0; i < n; i++) {
        srm_db_bind_text(st, ":user", rows[i].user);
        srm_db_bind_text(st, ":name", rows[i].name);
        srm_db_bind_int64(st, ":is_admin", rows[i].is_admin);
        srm_db_bind_int64(st, ":now", now);
        r = db_run(db, st, "members_sync");
        if (r < 0)
            goto fail;
    }
    return db_exec_id(db, SRM_STMT_MEMBERS_RELEASE);
fail:
    if (db_exec_id(db, SRM_STMT_MEMBERS_ROLLBACK_TO) == 0)
        db_exec_id(db, SRM_STMT_MEMBERS_RELEASE);
    return r;
}

int srm_db_counts(struct srm_db *db, struct srm_db_counts *ret)
{
    sqlite3_stmt *st;
    int r = 0, rc;

    DB_STMT(db, SRM_STMT_COUNTS, st);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        ret->mentions = sqlite3_column_int64(st, 0);
        ret->mentions_new = sqlite3_column_int64(st, 1);
        ret->people = sqlite3_column_int64(st, 2);
        ret->identities = sqlite3_column_int64(st, 3);
    } else {
        r = srm_db_fail(db, rc, "counts");
    }
    srm_db_stmt_done(st);
fail:
    return r;
}

/* ------------------------------------------------------------------ */
/* Ingest                                                              */

/* Look up (network, remote_id): 1 found, 0 not found, or an error. */
/* A record's field differs from the stored column (NULL in the record
 * keeps the stored value, so it is no change). */
static bool db_differs(const char *rec, sqlite3_stmt *st, int col)
{
    const unsigned char *old = sqlite3_column_text(st, col);
    return rec != NULL && (old == NULL || strcmp(rec, (const char *)old));
}

/* A count in the record (-1: unknown, keeps the stored one) differs. */
static bool db_count_differs(int64_t rec, sqlite3_stmt *st, int col)
{
    return rec >= 0 && (sqlite3_column_type(st, col) == SQLITE_NULL ||
                        sqlite3_column_int64(st, col) != rec);
}

/* An identity's last_seen_at is refreshed at most this often (seconds):
 * a sighting that changes nothing else then costs a lookup, not an update
 * of the row and its last_seen_at index (17% of the writer's SQL time when
 * every page named the same authors again). */
#define DB_SEEN_RESOLUTION 60

/* Look (network, remote_id) up. With cmp, also tell whether cmp says
 * something new about the person (ret_changed), for resolution, and
 * whether the sighting needs no update at all (ret_same: nothing differs
 * and last_seen_at is fresh). */
static int db_identity_find(struct srm_db *db, const char *network,
                            const char *remote_id, int64_t *ret_id,
                            int64_t *ret_person,
                            const struct srm_rec_identity *cmp, int64_t now,
                            bool *ret_changed, bool *ret_same)
{
    sqlite3_stmt *st;
    int r, rc;

    DB_STMT(db, SRM_STMT_IDENTITY_FIND, st);
    db_bind_static(st, ":network", network);
    db_bind_static(st, ":remote_id", remote_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *ret_id = sqlite3_column_int64(st, 0);
        *ret_person = sqlite3_column_int64(st, 1);
        if (cmp != NULL) {
            *ret_changed = db_differs(cmp->handle, st, 2) ||
                           db_differs(cmp->display_name, st, 3) ||
                           db_differs(cmp->profile_url, st, 4) ||
                           db_differs(cmp->bio, st, 5) ||
                           db_differs(cmp->email, st, 6);
            *ret_same = !*ret_changed && !db_differs(cmp->avatar_url, st, 7) &&
                        !db_count_differs(cmp->followers, st, 8) &&
                        !db_count_differs(cmp->following, st, 9) &&
                        !db_count_differs(cmp->posts, st, 10) &&
                        sqlite3_column_int64(st, 11) > now - DB_SEEN_RESOLUTION;
        }
        r = 1;
    } else if (rc == SQLITE_DONE) {
        r = 0;
    } else {
        r = srm_db_fail(db, rc, "identity lookup");
    }
    srm_db_stmt_done(st);
fail:
    return r;
}

static int db_person_insert(struct srm_db *db, const char *display_name,
                            int64_t now, int64_t *ret_id)
{
    sqlite3_stmt *st;
    int r;

    DB_STMT(db, SRM_STMT_PERSON_INSERT, st);
    db_bind_static(st, ":display_name", display_name);
    srm_db_bind_int64(st, ":now", now);
    r = db_run(db, st, "person insert");
    if (r == 0)
        *ret_id = sqlite3_last_insert_rowid(db->h);
fail:
    return r;
}

/* A new identity and the new person it belongs to. */
static int db_identity_create(struct srm_db *db, struct srm_batch *b,
                              const struct srm_rec_identity *id, bool bare,
                              int64_t *ret_id, int64_t *ret_person)
{
    sqlite3_stmt *st;
    int r;

    /* A bare identity (an author seen before their profile) leaves the
     * person unnamed, so the full profile can name them later. */
    r = db_person_insert(db,
                         bare ? NULL
                         : id->display_name ? id->display_name
                                            : id->handle,
                         b->now, ret_person);
    if (r < 0)
        return r;
    DB_STMT(db, SRM_STMT_IDENTITY_INSERT, st);
    srm_db_bind_int64(st, ":person_id", *ret_person);
    db_bind_static(st, ":network", id->network);
    db_bind_static(st, ":remote_id", id->remote_id);
    db_bind_static(st, ":handle", bare ? id->remote_id : id->handle);
    db_bind_static(st, ":display_name", id->display_name);
    db_bind_static(st, ":profile_url", id->profile_url);
    db_bind_static(st, ":bio", id->bio);
    db_bind_static(st, ":avatar_url", id->avatar_url);
    db_bind_static(st, ":email", id->email);
    srm_db_bind_int64_or_null(st, ":followers", id->followers, -1);
    srm_db_bind_int64_or_null(st, ":following", id->following, -1);
    srm_db_bind_int64_or_null(st, ":posts", id->posts, -1);
    srm_db_bind_int64_or_null(st, ":source_id", b->source_id, 0);
    srm_db_bind_int64(st, ":now", b->now);
    r = db_run(db, st, "identity insert");
    if (r < 0)
        goto fail;
    *ret_id = sqlite3_last_insert_rowid(db->h);
    b->new_identities++;
fail:
    return r;
}

/* The identity (network, remote_id), created bare with a new person when
 * unknown. */
static int db_identity_resolve(struct srm_db *db, struct srm_batch *b,
                               const char *network, const char *remote_id,
                               int64_t *ret_id, int64_t *ret_person)
{
    struct srm_rec_identity bare = {
        .network = (char *)network,
        .remote_id = (char *)remote_id,
        .followers = -1,
        .following = -1,
        .posts = -1,
    };
    int r;

    if (srm_idcache_get(db->ids, network, remote_id, ret_id, ret_person,
                        NULL))
        return 0;
    r = db_identity_find(db, network, remote_id, ret_id, ret_person, NULL, 0,
                         NULL, NULL);
    if (r == 0)
        r = db_identity_create(db, b, &bare, true, ret_id, ret_person);
    if (r < 0)
        return r;
    srm_idcache_put(db->ids, network, remote_id, *ret_id, *ret_person, NULL);
    return 0;
}

/* Whether the stored links of the identity are exactly id's (links are
 * compared in URL order; the record's are sorted by the caller). */
static int db_links_same(struct srm_db *db, int64_t identity_id,
                         const struct srm_rec_identity *id)
{
    sqlite3_stmt *st;
    size_t i = 0;
    int r = 1, rc;

    DB_STMT(db, SRM_STMT_LINKS_OF, st);
    srm_db_bind_int64(st, ":identity_id", identity_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const struct srm_rec_link *l = i < id->n_links ? &id->links[i] : NULL;
        const char *url = (const char *)sqlite3_column_text(st, 0);
        const char *label = (const char *)sqlite3_column_text(st, 1);
        if (l == NULL || strcmp(url, l->url) != 0 ||
            strcmp(label, l->label ? l->label : "") != 0 ||
            sqlite3_column_int64(st, 2) != l->verified_at)
            r = 0;
        i++;
    }
    if (rc != SQLITE_DONE)
        r = srm_db_fail(db, rc, "links lookup");
    else if (i != id->n_links)
        r = 0;
    srm_db_stmt_done(st);
fail:
    return r;
}

static int db_link_cmp(const void *a, const void *b)
{
    return strcmp(((const struct srm_rec_link *)a)->url,
                  ((const struct srm_rec_link *)b)->url);
}

/* Replace the identity's links with id's when id carries links and they
 * differ; a sighting without links (most posts carry none) keeps the
 * stored ones. *ret_changed is set when they were replaced. */
static int db_links_replace(struct srm_db *db, int64_t identity_id,
                            struct srm_rec_identity *id, bool is_new,
                            bool *ret_changed)
{
    sqlite3_stmt *st;
    int r = 0;

    if (id->n_links == 0)
        return 0;
    qsort(id->links, id->n_links, sizeof(*id->links), db_link_cmp);
    if (!is_new) {
        r = db_links_same(db, identity_id, id);
        if (r != 0)
            return r < 0 ? r : 0;
        DB_STMT(db, SRM_STMT_LINKS_CLEAR, st);
        srm_db_bind_int64(st, ":identity_id", identity_id);
        r = db_run(db, st, "links clear");
        if (r < 0)
            goto fail;
    }
    *ret_changed = true;
    DB_STMT(db, SRM_STMT_LINK_INSERT, st);
    for (size_t i = 0; i < id->n_links; i++) {
        srm_db_bind_int64(st, ":identity_id", identity_id);
        db_bind_static(st, ":label", id->links[i].label);
        db_bind_static(st, ":url", id->links[i].url);
        srm_db_bind_int64_or_null(st, ":verified_at",
                                  id->links[i].verified_at, 0);
        r = db_run(db, st, "link insert");
        if (r < 0)
            goto fail;
    }
fail:
    return r;
}

static int db_identity_apply(struct srm_db *db, struct srm_batch *b,
                             struct srm_rec_identity *id)
{
    const struct srm_rec_identity *prev;
    int64_t iid, pid;
    sqlite3_stmt *st;
    bool is_new, changed = false, same = false;
    int r;

    /* A feed names the same author on each of its items: a record equal
     * to one this batch applied already has nothing to add. */
    if (srm_idcache_get(db->ids, id->network, id->remote_id, &iid, &pid,
                        &prev) &&
        prev != NULL && srm_rec_identity_same(prev, id)) {
        id->changed = false;
        id->person_id = pid;
        return 0;
    }
    r = db_identity_find(db, id->network, id->remote_id, &iid, &pid, id,
                         b->now, &changed, &same);
    if (r < 0)
        return r;
    is_new = r == 0;
    if (is_new) {
        r = db_identity_create(db, b, id, false, &iid, &pid);
        if (r < 0)
            return r;
        changed = true;
    } else if (!same) {
        DB_STMT(db, SRM_STMT_IDENTITY_UPDATE, st);
        db_bind_static(st, ":handle", id->handle);
        db_bind_static(st, ":display_name", id->display_name);
        db_bind_static(st, ":profile_url", id->profile_url);
        db_bind_static(st, ":bio", id->bio);
        db_bind_static(st, ":avatar_url", id->avatar_url);
        db_bind_static(st, ":email", id->email);
        srm_db_bind_int64_or_null(st, ":followers", id->followers, -1);
        srm_db_bind_int64_or_null(st, ":following", id->following, -1);
        srm_db_bind_int64_or_null(st, ":posts", id->posts, -1);
        srm_db_bind_int64(st, ":now", b->now);
        srm_db_bind_int64(st, ":id", iid);
        r = db_run(db, st, "identity update");
        if (r < 0)
            goto fail;
        if (changed && (id->display_name != NULL || id->handle != NULL)) {
            DB_STMT(db, SRM_STMT_PERSON_FILL_NAME, st);
            db_bind_static(st, ":display_name", id->display_name
                                                    ? id->display_name
                                                    : id->handle);
            srm_db_bind_int64(st, ":now", b->now);
            srm_db_bind_int64(st, ":id", pid);
            r = db_run(db, st, "person name");
            if (r < 0)
                goto fail;
        }
    }
    r = db_links_replace(db, iid, id, is_new, &changed);
    id->changed = changed;
    id->person_id = pid;
    if (r == 0)
        srm_idcache_put(db->ids, id->network, id->remote_id, iid, pid, id);
fail:
    return r;
}

static int db_fts_one(struct srm_db *db, enum srm_sql_id id, int64_t rowid)
{
    sqlite3_stmt *st;
    int r;

    DB_STMT(db, id, st);
    srm_db_bind_int64(st, ":id", rowid);
    r = db_run(db, st, "full-text index");
fail:
    return r;
}

static int db_mention_insert(struct srm_db *db, struct srm_batch *b,
                             const struct srm_rec_mention *m,
                             int64_t identity_id)
{
    sqlite3_stmt *st;
    int r;

    DB_STMT(db, SRM_STMT_MENTION_INSERT, st);
    db_bind_static(st, ":network", m->network);
    db_bind_static(st, ":remote_id", m->remote_id);
    srm_db_bind_int64_or_null(st, ":source_id", b->source_id, 0);
    srm_db_bind_int64_or_null(st, ":identity_id", identity_id, 0);
    db_bind_static(st, ":text", m->text ? m->text : "");
    db_bind_static(st, ":url", m->url);
    srm_db_bind_int64(st, ":created_at",
                      m->created_at != 0 ? m->created_at : b->now);
    srm_db_bind_int64_or_null(st, ":edited_at", m->edited_at, 0);
    srm_db_bind_int64(st, ":now", b->now);
    db_bind_static(st, ":reply_to", m->reply_to);
    db_bind_static(st, ":matched", m->matched);
    db_bind_static(st, ":lang", m->lang);
    db_bind_static(st, ":visibility", m->visibility);
    db_bind_static(st, ":context_title", m->context_title);
    db_bind_static(st, ":context_url", m->context_url);
    db_bind_static(st, ":reply_ref", m->reply_ref);
    srm_db_bind_int64(st, ":flags", m->flags);
    srm_db_bind_int64(st, ":deleted", (m->flags & SRM_MENTION_DELETED) != 0);
    r = db_run(db, st, "mention insert");
    if (r < 0 || sqlite3_changes(db->h) == 0)
        goto fail; /* an error, or stored already: the caller looks */
    if (b->new_mention_ids.n == b->new_mention_ids.cap) {
        b->new_mention_ids.cap = b->new_mention_ids.cap * 2 + 16;
        b->new_mention_ids.items = srm_xreallocarray(
            b->new_mention_ids.items, b->new_mention_ids.cap,
            sizeof(int64_t));
    }
    b->new_mention_ids.items[b->new_mention_ids.n++] =
        sqlite3_last_insert_rowid(db->h);
    b->new_mentions++;
    r = 1;
fail:
    return r;
}

/* An edit of a stored mention. Rows above indexed_max are not in the FTS
 * index yet (inserted earlier in this batch): the batch's final INSERT ...
 * SELECT indexes their latest text. */
static int db_mention_edit(struct srm_db *db, struct srm_batch *b,
                           const struct srm_rec_mention *m, int64_t id,
                           int64_t indexed_max)
{
    bool indexed = id <= indexed_max;
    sqlite3_stmt *st;
    int r;

    if (indexed) {
        r = db_fts_one(db, SRM_STMT_FTS_DELETE, id);
        if (r < 0)
            return r;
    }
    DB_STMT(db, SRM_STMT_MENTION_UPDATE, st);
    db_bind_static(st, ":text", m->text ? m->text : "");
    srm_db_bind_int64_or_null(st, ":edited_at", m->edited_at, 0);
    db_bind_static(st, ":url", m->url);
    db_bind_static(st, ":context_title", m->context_title);
    db_bind_static(st, ":context_url", m->context_url);
    db_bind_static(st, ":lang", m->lang);
    db_bind_static(st, ":visibility", m->visibility);
    db_bind_static(st, ":reply_ref", m->reply_ref);
    srm_db_bind_int64(st, ":now", b->now);
    srm_db_bind_int64(st, ":id", id);
    r = db_run(db, st, "mention update");
    if (r < 0)
        goto fail;
    if (indexed)
        r = db_fts_one(db, SRM_STMT_FTS_INSERT_ONE, id);
    if (r == 0)
        b->updated_mentions++;
fail:
    return r;
}

static int db_mention_apply(struct srm_db *db, struct srm_batch *b,
                            const struct srm_rec_mention *m,
                            int64_t indexed_max)
{
    int64_t identity_id = 0, person_id = 0, id = 0;
    bool found = false, deleted = false, changed = false;
    sqlite3_stmt *st;
    int r = 0, rc;

    if (m->author_id != NULL) {
        r = db_identity_resolve(db, b,
                                m->author_network ? m->author_network
                                                  : m->network,
                                m->author_id,
                                &identity_id, &person_id);
        if (r < 0)
            return r;
    }
    /* Most mentions a connector emits are new: try the insert first (one
     * UNIQUE(network, remote_id) probe) and look the row up only when it
     * was there already. */
    r = db_mention_insert(db, b, m, identity_id);
    if (r > 0) {
        /* Counted as srm_people_rank_catch_up would: the term of the
         * earlier of created and fetched, only if not deleted. */
        int64_t at = m->created_at != 0 ? m->created_at : b->now;
        bool live = (m->flags & SRM_MENTION_DELETED) == 0;

        if (db->rank == NULL)
            db->rank = srm_rankacc_create();
        srm_rankacc_add(db->rank, live && identity_id ? person_id : 0,
                        srm_people_recency_term(at < b->now ? at : b->now),
                        at);
        return 0;
    }
    if (r < 0)
        return r;
    DB_STMT(db, SRM_STMT_MENTION_FIND, st);
    db_bind_static(st, ":network", m->network);
    db_bind_static(st, ":remote_id", m->remote_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *old = (const char *)sqlite3_column_text(st, 1);
        int64_t old_edited = sqlite3_column_int64(st, 2);

        found = true;
        id = sqlite3_column_int64(st, 0);
        deleted = sqlite3_column_int64(st, 3) != 0;
        changed = strcmp(old ? old : "", m->text ? m->text : "") != 0 ||
                  (m->edited_at != 0 && m->edited_at != old_edited);
    } else if (rc != SQLITE_DONE) {
        r = srm_db_fail(db, rc, "mention lookup");
    }
    srm_db_stmt_done(st);
    if (r < 0 || deleted || !found)
        return r; /* a deleted mention is never changed again */
    if (m->flags & SRM_MENTION_DELETED) {
        /* Keep the text: the team may still need what was said. */
        DB_STMT(db, SRM_STMT_MENTION_MARK_DELETED, st);
        srm_db_bind_int64(st, ":flags", m->flags);
        srm_db_bind_int64(st, ":now", b->now);
        srm_db_bind_int64(st, ":id", id);
        r = db_run(db, st, "mention delete");
        if (r == 0 && sqlite3_changes(db->h) > 0)
            b->updated_mentions++;
        return r;
    }
    if (changed)
        return db_mention_edit(db, b, m, id, indexed_max);
fail:
    return r;
}

static int db_contact_apply(struct srm_db *db, struct srm_batch *b,
                            const struct srm_rec_contact *c)
{
    const char *rel = c->relation == SRM_REL_FOLLOWER ? "follower"
                                                      : "following";
    int64_t iid, pid;
    sqlite3_stmt *st;
    int r;

    r = db_identity_resolve(db, b, c->network, c->remote_id, &iid, &pid);
    if (r < 0)
        return r;
    DB_STMT(db, SRM_STMT_CONTACT_INSERT, st);
    srm_db_bind_int64(st, ":source_id", b->source_id);
    srm_db_bind_int64(st, ":identity_id", iid);
    db_bind_static(st, ":relation", rel);
    srm_db_bind_int64(st, ":now", b->now);
    r = db_run(db, st, "contact insert");
    if (r < 0)
        goto fail;
    if (sqlite3_changes(db->h) > 0) {
        b->new_contacts++;
        return 0;
    }
    DB_STMT(db, SRM_STMT_CONTACT_SEEN, st);
    srm_db_bind_int64(st, ":source_id", b->source_id);
    srm_db_bind_int64(st, ":identity_id", iid);
    db_bind_static(st, ":relation", rel);
    srm_db_bind_int64(st, ":now", b->now);
    r = db_run(db, st, "contact update");
fail:
    return r;
}

static int db_member_find(struct srm_db *db, const char *user,
                          int64_t *ret_id)
{
    sqlite3_stmt *st;
    int r = 0, rc;

    *ret_id = 0;
    if (user == NULL)
        return 0;
    DB_STMT(db, SRM_STMT_MEMBER_FIND, st);
    db_bind_static(st, ":user", user);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *ret_id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        r = srm_db_fail(db, rc, "member lookup");
    srm_db_stmt_done(st);
fail:
    return r;
}

static int db_interaction_apply(struct srm_db *db, struct srm_batch *b,
                                const struct srm_rec_interaction *in)
{
    int64_t iid, pid, member_id;
    int64_t at = in->at != 0 ? in->at : b->now;
    sqlite3_stmt *st;
    int r;

    r = db_identity_resolve(db, b, in->network, in->identity_id, &iid, &pid);
    if (r < 0)
        return r;
    r = db_member_find(db, in->member, &member_id);
    if (r < 0)
        return r;
    DB_STMT(db, SRM_STMT_INTERACTION_INSERT, st);
    srm_db_bind_int64(st, ":person_id", pid);
    srm_db_bind_int64(st, ":identity_id", iid);
    srm_db_bind_int64_or_null(st, ":member_id", member_id, 0);
    db_bind_static(st, ":network", in->network);
    db_bind_static(st, ":remote_id", in->remote_id);
    db_bind_static(st, ":direction", in->direction == SRM_DIR_IN ? "in"
                                                                 : "out");
    srm_db_bind_int64(st, ":at", at);
    db_bind_static(st, ":summary", in->summary);
    srm_db_bind_int64_or_null(st, ":source_id", b->source_id, 0);
    r = db_run(db, st, "interaction insert");
    if (r < 0 || sqlite3_changes(db->h) == 0)
        goto fail;
    b->new_interactions++;
    DB_STMT(db, SRM_STMT_PERSON_INTERACTION, st);
    srm_db_bind_int64(st, ":at", at);
    srm_db_bind_int64(st, ":id", pid);
    r = db_run(db, st, "person last interaction");
fail:
    return r;
}

static int db_cursor_apply(struct srm_db *db, struct srm_batch *b,
                           const struct srm_rec_cursor *c)
{
    sqlite3_stmt *st;
    int r;

    if (c->value == NULL) {
        DB_STMT(db, SRM_STMT_CURSOR_DELETE, st);
    } else {
        DB_STMT(db, SRM_STMT_CURSOR_SET, st);
        db_bind_static(st, ":value", c->value);
        srm_db_bind_int64(st, ":now", b->now);
    }
    srm_db_bind_int64(st, ":source_id", b->source_id);
    db_bind_static(st, ":key", c->key);
    r = db_run(db, st, "cursor");
fail:
    return r;
}

static int db_validator_apply(struct srm_db *db, struct srm_batch *b,
                              const struct srm_rec_validator *v)
{
    sqlite3_stmt *st;
    int r;

    DB_STMT(db, SRM_STMT_VALIDATOR_SET, st);
    db_bind_static(st, ":url", v->url);
    db_bind_static(st, ":etag", v->etag);
    db_bind_static(st, ":last_modified", v->last_modified);
    srm_db_bind_int64(st, ":now", b->now);
    r = db_run(db, st, "validator");
fail:
    return r;
}

/* The highest rowid in the full-text index (rows above it are not
 * indexed: this batch's, or those stored while daemon.fulltext was off). */
static int db_fts_max(struct srm_db *db, int64_t *ret)
{
    sqlite3_stmt *st;
    int r = 0;

    if (db->fts_max < 0) {
        DB_STMT(db, SRM_STMT_FTS_MAX, st);
        r = db_query_int64(db, st, "full-text index max", &db->fts_max);
    }
    *ret = db->fts_max;
fail:
    return r;
}

/* Note that the mentions above fts_max (the batch's new ones, and after
 * daemon.fulltext was turned back on, those it skipped) are to be
 * indexed, and add to the source's counters. */
static int db_batch_finish(struct srm_db *db, struct srm_batch *b,
                           int64_t before_max, int64_t fts_max)
{
    sqlite3_stmt *st;
    int r = 0;

    if (b->new_mentions > 0 || fts_max < before_max)
        db->index_due = true; /* db_index_due, before the COMMIT */
    if (b->source_id != 0 &&
        (b->new_mentions || b->new_identities || b->new_contacts)) {
        DB_STMT(db, SRM_STMT_SOURCE_COUNTERS, st);
        srm_db_bind_int64(st, ":mentions", (int64_t)b->new_mentions);
        srm_db_bind_int64(st, ":identities", (int64_t)b->new_identities);
        srm_db_bind_int64(st, ":contacts", (int64_t)b->new_contacts);
        srm_db_bind_int64(st, ":id", b->source_id);
        r = db_run(db, st, "source counters");
    }
fail:
    return r;
}

int srm_db_fulltext_catch_up(struct srm_db *db)
{
    int64_t fts_max, max_id;
    sqlite3_stmt *st;
    int r;

    if (db->fulltext_off)
        return 0;
    r = db_fts_max(db, &fts_max);
    if (r < 0)
        return r;
    DB_STMT(db, SRM_STMT_MENTIONS_MAX_ID, st);
    r = db_query_int64(db, st, "mentions max id", &max_id);
    if (r < 0 || fts_max >= max_id)
        return r;
    SRM_NOTICE("db: %s: indexing %lld mentions stored while daemon.fulltext "
               "was off", db->path, (long long)(max_id - fts_max));
    DB_STMT(db, SRM_STMT_FTS_INDEX_NEW, st);
    srm_db_bind_int64(st, ":after", fts_max);
    r = db_run(db, st, "full-text index");
    db->fts_max = -1;
fail:
    return r;
}

int srm_db_apply_batch(struct srm_db *db, struct srm_batch *b)
{
    int64_t before_max, indexed_max;
    sqlite3_stmt *st;
    int r;

    b->new_mentions = b->updated_mentions = b->new_identities = 0;
    b->new_contacts = b->new_interactions = 0;
    b->new_mention_ids.n = 0;
    if (db->ids == NULL)
        db->ids = srm_idcache_create();
    srm_idcache_clear(db->ids);
    /* Rows get ids above the current maximum (no AUTOINCREMENT, and ingest
     * never deletes), so "id > before_max" is exactly this batch's rows;
     * "id > indexed_max" those not in the full-text index. */
    DB_STMT(db, SRM_STMT_MENTIONS_MAX_ID, st);
    r = db_query_int64(db, st, "mentions max id", &before_max);
    if (r < 0)
        goto fail;
    r = db_fts_max(db, &indexed_max);
    if (r < 0)
        goto fail;
    for (size_t i = 0; i < b->identities.n; i++)
        if ((r = db_identity_apply(db, b, &b->identities.items[i])) < 0)
            goto fail;
    for (size_t i = 0; i < b->mentions.n; i++)
        if ((r = db_mention_apply(db, b, &b->mentions.items[i],
                                  indexed_max)) < 0)
            goto fail;
    for (size_t i = 0; i < b->contacts.n; i++)
        if ((r = db_contact_apply(db, b, &b->contacts.items[i])) < 0)
            goto fail;
    for (size_t i = 0; i < b->interactions.n; i++)
        if ((r = db_interaction_apply(db, b, &b->interactions.items[i])) < 0)
            goto fail;
    for (size_t i = 0; i < b->cursors.n; i++)
        if ((r = db_cursor_apply(db, b, &b->cursors.items[i])) < 0)
            goto fail;
    for (size_t i = 0; i < b->validators.n; i++)
        if ((r = db_validator_apply(db, b, &b->validators.items[i])) < 0)
            goto fail;
    r = db_batch_finish(db, b, before_max, indexed_max);
    if (r == 0)
        r = srm_people_after_batch(db, b); /* people.h */
    /* Outside a transaction there is no COMMIT to wait for. */
    if (r == 0 && sqlite3_get_autocommit(db->h))
        r = db_index_due(db);
fail:
    /* The failing statement was logged where it failed. */
    return r;
}
