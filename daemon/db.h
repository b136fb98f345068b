/* db.h - the SQLite store: opening, migrating, and the queries the daemon's
 * core runs. SQL text lives in db_sql.h as named constants.
 *
 * Threads: one write connection, owned by the writer thread (writer.h), and
 * read-only connections used by the reader pool (reader.h). A struct srm_db
 * is one connection with its prepared statements; it is used by one thread
 * at a time. */
#ifndef SRM_DAEMON_DB_H
#define SRM_DAEMON_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "db_sql.h"
#include "record.h"

#define SRM_DB_SCHEMA_VERSION 7

struct srm_db;

/* Open the database file (when read_only is false: creating a missing
 * parent folder with mode 0700 and the file with mode 0600, and migrating
 * it to SRM_DB_SCHEMA_VERSION). WAL, synchronous=NORMAL,
 * foreign_keys=ON, busy_timeout 5 s, cache_size from cache_kib (0 = default).
 * A read-only connection requires the file to exist at the current schema
 * version. Errors are logged with the path and SQLite's message. Blocks on
 * file I/O (and a migration); *ret_db is owned by the caller. */
int srm_db_open(const char *path, bool read_only, int cache_kib,
                struct srm_db **ret_db);
/* Finalize every statement and close the connection. Accepts NULL. */
void srm_db_close(struct srm_db *db);
/* The raw connection, borrowed for db's lifetime. */
sqlite3 *srm_db_handle(struct srm_db *db);

/* Convert an SQLite result code to a negative errno (SQLITE_FULL -> -ENOSPC,
 * SQLITE_BUSY/LOCKED -> -EBUSY, SQLITE_READONLY -> -EROFS, SQLITE_CORRUPT /
 * NOTADB -> -EIO, SQLITE_NOMEM -> -ENOMEM, CANTOPEN -> -ENOENT/-EACCES...). */
int srm_err_from_sqlite(int rc);

/* Transactions on a write connection. Rollback without an open
 * transaction is a no-op; rollback_to also releases the savepoint. */
int srm_db_begin(struct srm_db *db);    /* BEGIN IMMEDIATE */
int srm_db_commit(struct srm_db *db);
int srm_db_rollback(struct srm_db *db);
/* daemon.fulltext: with off, new mentions are not added to the full-text
 * index (edits of indexed ones still are); when it is back on, the next
 * batch indexes everything stored meanwhile. On by default. */
void srm_db_set_fulltext(struct srm_db *db, bool on);
/* With daemon.fulltext on, index the mentions stored while it was off (at
 * start-up and on reload, inside the caller's transaction). */
int srm_db_fulltext_catch_up(struct srm_db *db);
int srm_db_savepoint(struct srm_db *db);         /* SAVEPOINT job */
int srm_db_release(struct srm_db *db);           /* RELEASE job */
int srm_db_rollback_to(struct srm_db *db);       /* ROLLBACK TO job; RELEASE */
/* An identity changed person in this transaction (a merge or split):
 * the people's ranking facts of its new mentions are recomputed with SQL
 * before the COMMIT instead of from the sums added up at insert time. */
void srm_db_rank_forget(struct srm_db *db);

/* --- sources and cursors (write connection) --- */

/* Insert the source by name if new (or revive it), update its plugin;
 * *ret_id gets sources.id. */
int srm_db_source_ensure(struct srm_db *db, const char *name,
                         const char *plugin, int64_t now, int64_t *ret_id);

/* Record a pass's end: state, times, error text, failure count. */
struct srm_source_state {
    const char *state;     /* idle, syncing, backoff, failing, auth_failed... */
    int64_t last_sync_at;  /* 0 = leave unchanged */
    int64_t last_ok_at;    /* 0 = leave unchanged */
    int64_t next_sync_at;
    const char *last_error; /* NULL clears it */
    int64_t failures;
};
int srm_db_source_set_state(struct srm_db *db, int64_t source_id,
                            const struct srm_source_state *st);

/* Mark a source removed from the config (its data stays). */
int srm_db_source_retire(struct srm_db *db, int64_t source_id, int64_t now);

/* Call fn for every cursor of the source (any connection). */
typedef void (*srm_db_kv_fn)(const char *key, const char *value, void *ud);
int srm_db_cursors_load(struct srm_db *db, int64_t source_id,
                        srm_db_kv_fn fn, void *ud);
/* Call fn(url, etag, last_modified) for every remembered validator. */
typedef void (*srm_db_validator_fn)(const char *url, const char *etag,
                                    const char *last_modified, void *ud);
int srm_db_validators_load(struct srm_db *db, srm_db_validator_fn fn,
                           void *ud);

/* Apply a batch inside the caller's transaction: upsert identities (a new
 * identity gets a new person), mentions (dedup on (network, remote_id);
 * an edit updates text and FTS; a deleted flag is never cleared), contacts,
 * interactions, then the cursors and validators; index new mentions in FTS
 * with one INSERT ... SELECT; add to the source's counters. Fills the
 * batch's result fields. */
int srm_db_apply_batch(struct srm_db *db, struct srm_batch *b);

/* Sync the members table with the config: insert/update (user, name,
 * is_admin), mark the others inactive. */
struct srm_member_row {
    const char *user, *name;
    bool is_admin;
};
int srm_db_members_sync(struct srm_db *db, const struct srm_member_row *rows,
                        size_t n, int64_t now);

/* Counts for `status`: mentions, people, identities (read connection). */
struct srm_db_counts {
    int64_t mentions, mentions_new, people, identities;
};
int srm_db_counts(struct srm_db *db, struct srm_db_counts *ret);

/* PRAGMA quick_check on open: 0 when "ok". */
int srm_db_check(struct srm_db *db);

/* --- helpers for modules that run their own queries --- */

/* The statement named id (db_sql.h), prepared on first use and kept for
 * the connection's lifetime; NULL (logged) if it cannot be prepared. The
 * caller binds by name, steps, then calls srm_db_stmt_done(). Owned by db. */
sqlite3_stmt *srm_db_stmt(struct srm_db *db, enum srm_sql_id id);
/* Reset a statement and clear its bindings, so it holds no read snapshot
 * and no borrowed string. */
void srm_db_stmt_done(sqlite3_stmt *st);
/* Bind by parameter name (":network"); the name must exist in the
 * statement. Text is copied by SQLite; NULL binds NULL. */
void srm_db_bind_text(sqlite3_stmt *st, const char *name, const char *s);
void srm_db_bind_int64(sqlite3_stmt *st, const char *name, int64_t v);
void srm_db_bind_double(sqlite3_stmt *st, const char *name, double v);
/* Binds NULL when v equals null_value (0 for "unset" times, -1 for
 * "unknown" counts). */
void srm_db_bind_int64_or_null(sqlite3_stmt *st, const char *name, int64_t v,
                               int64_t null_value);
/* Log "db: <path>: <what>: <sqlite message>" (without "<what>: " when what
 * is NULL) and return srm_err_from_sqlite(rc). */
int srm_db_fail(struct srm_db *db, int rc, const char *what);
/* The path the connection was opened with. Borrowed for db's lifetime. */
const char *srm_db_path(struct srm_db *db);

#endif
