/* fts_rank.c - srm_rank(): bm25 without the single-phrase IDF walk. The
 * arithmetic follows the published BM25 formula as FTS5 applies it (see
 * the "bm25" section of https://sqlite.org/fts5.html). */
#include "fts_rank.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "db.h"

#define FR_K1 1.2
#define FR_B 0.75

/* What is the same for every row of one query: per-phrase IDF and the
 * average row length. Kept with xSetAuxdata, freed by SQLite. */
struct fr_query {
    int n_phrase;
    double avgdl;
    double *idf; /* n_phrase entries */
};

static void fr_query_free(void *p)
{
    struct fr_query *q = p;

    if (q != NULL)
        free(q->idf);
    free(q);
}

/* Stop counting a phrase's rows here: see fts_rank.h. */
#define FR_DF_CAP 20000

static int fr_count_row(const Fts5ExtensionApi *api, Fts5Context *fts,
                        void *ud)
{
    sqlite3_int64 *n = ud;

    (void)api;
    (void)fts;
    return ++*n >= FR_DF_CAP ? SQLITE_DONE : SQLITE_OK;
}

static int fr_query_get(const Fts5ExtensionApi *api, Fts5Context *fts,
                        struct fr_query **ret)
{
    struct fr_query *q = api->xGetAuxdata(fts, 0);
    sqlite3_int64 rows = 0, tokens = 0;
    int rc;

    if (q != NULL) {
        *ret = q;
        return SQLITE_OK;
    }
    q = calloc(1, sizeof(*q));
    if (q == NULL)
        return SQLITE_NOMEM;
    q->n_phrase = api->xPhraseCount(fts);
    q->idf = calloc((size_t)(q->n_phrase > 0 ? q->n_phrase : 1),
                    sizeof(double));
    if (q->idf == NULL) {
        free(q);
        return SQLITE_NOMEM;
    }
    rc = api->xRowCount(fts, &rows);
    if (rc == SQLITE_OK)
        rc = api->xColumnTotalSize(fts, -1, &tokens);
    q->avgdl = rows > 0 ? (double)tokens / (double)rows : 1.0;
    for (int i = 0; rc == SQLITE_OK && i < q->n_phrase; i++) {
        sqlite3_int64 hits = 0;
        double idf;

        if (q->n_phrase == 1) {
            q->idf[i] = 1.0; /* a constant: the order does not change */
            break;
        }
        rc = api->xQueryPhrase(fts, i, &hits, fr_count_row);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK; /* stopped at the cap */
        idf = log((double)(rows - hits) + 0.5) - log((double)hits + 0.5);
        q->idf[i] = idf > 1e-6 ? idf : 1e-6; /* as bm25 */
    }
    if (rc == SQLITE_OK)
        rc = api->xSetAuxdata(fts, q, fr_query_free);
    else
        fr_query_free(q);
    if (rc == SQLITE_OK)
        *ret = q;
    return rc;
}

static void fr_rank(const Fts5ExtensionApi *api, Fts5Context *fts,
                    sqlite3_context *ctx, int n_arg, sqlite3_value **args)
{
    struct fr_query *q = NULL;
    double freq_small[8], *freq = freq_small, score = 0.0, dl;
    int n_inst = 0, n_tokens = 0, rc;

    rc = fr_query_get(api, fts, &q);
    if (rc == SQLITE_OK && q->n_phrase > 8) {
        freq = calloc((size_t)q->n_phrase, sizeof(double));
        if (freq == NULL)
            rc = SQLITE_NOMEM;
    } else if (rc == SQLITE_OK) {
        for (int i = 0; i < q->n_phrase; i++)
            freq[i] = 0.0;
    }
    if (rc == SQLITE_OK)
        rc = api->xInstCount(fts, &n_inst);
    for (int i = 0; rc == SQLITE_OK && i < n_inst; i++) {
        int phrase, col, off;
        rc = api->xInst(fts, i, &phrase, &col, &off);
        /* Column weights as bm25 takes them: the arguments after the
         * table, 1.0 for a column without one. */
        if (rc == SQLITE_OK && phrase >= 0 && phrase < q->n_phrase)
            freq[phrase] += col < n_arg
                                ? sqlite3_value_double(args[col])
                                : 1.0;
    }
    if (rc == SQLITE_OK)
        rc = api->xColumnSize(fts, -1, &n_tokens);
    if (rc == SQLITE_OK) {
        dl = (double)n_tokens;
        for (int i = 0; i < q->n_phrase; i++)
            score += q->idf[i] * (freq[i] * (FR_K1 + 1.0)) /
                     (freq[i] + FR_K1 * (1.0 - FR_B + FR_B * dl / q->avgdl));
        sqlite3_result_double(ctx, -1.0 * score);
    } else {
        sqlite3_result_error_code(ctx, rc);
    }
    if (freq != freq_small)
        free(freq);
}

int srm_fts_rank_register(sqlite3 *h)
{
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    int rc;

    /* The documented way to reach the FTS5 API of a connection. */
    rc = sqlite3_prepare_v2(h, "SELECT fts5(?1)", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return srm_err_from_sqlite(rc);
    if (api == NULL || api->iVersion < 2)
        return -ENOTSUP;
    rc = api->xCreateFunction(api, "srm_rank", NULL, fr_rank, NULL);
    return rc == SQLITE_OK ? 0 : srm_err_from_sqlite(rc);
}
