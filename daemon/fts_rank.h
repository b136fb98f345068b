/* fts_rank.h - srm_rank(), the FTS5 ranking function of mentions.search.
 *
 * It is FTS5's own bm25 (k1 = 1.2, b = 0.75, every column weighted 1)
 * with one difference that keeps common words cheap: bm25 computes, for
 * every query, the number of rows holding each phrase by walking that
 * phrase's whole doclist (a word in 1,000,000 mentions: 37 ms on this
 * machine before the first row is ranked). Its IDF factor is a constant
 * when the query has a single phrase, so it does not change the order;
 * srm_rank leaves it out then (scores differ from bm25 by that constant
 * factor). With several phrases IDF weighs them against each other, and
 * srm_rank computes it as bm25 does but stops counting a phrase's rows at
 * 20,000: a phrase in more rows is weighed as if it were in 20,000 (for a
 * million rows, IDF 3.9 where bm25 would say 0 for a word in every row),
 * still far below a rare word (a word in 1,000 rows: 6.9), and the walk
 * costs at most ~1 ms instead of tens.
 *
 * Like bm25, lower (more negative) is better: ORDER BY srm_rank(t), and
 * like bm25 it takes optional column weights after the table argument:
 * srm_rank(people_fts, 10.0, 8.0) weighs column 0 ten times, column 1
 * eight times, the others once. */
#ifndef SRM_DAEMON_FTS_RANK_H
#define SRM_DAEMON_FTS_RANK_H

#include <sqlite3.h>

/* Register srm_rank on a connection (each connection needs it). Returns
 * 0 or a negative errno-style error. */
int srm_fts_rank_register(sqlite3 *h);

#endif
