/* verify.h - srmd's own rel="me" verification of profile links.
 *
 * Now and then (at start-up after a short delay, then every interval) the
 * verifier reads the profile links no network verified (reader pool),
 * fetches each linked page through the HTTP engine, and looks for a
 * rel="me" link back to the identity's profile page (as Mastodon does).
 * The results go to link_checks in one writer job, which also resolves the
 * identities (people.h): a verified link is strong evidence. A link that
 * verified before and no longer does is flagged 'failing', and its
 * evidence with it.
 *
 * Loop thread only, except srm_verify_rel_me (pure). */
#ifndef SRM_DAEMON_VERIFY_H
#define SRM_DAEMON_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define SRM_VERIFY_INTERVAL_S (24 * 3600)
#define SRM_VERIFY_BATCH 200 /* links per round */

/* Start the verifier of the running daemon (srm_daemon_self: its reader,
 * writer and HTTP engine). first_delay_ms before the first round, then
 * every interval_s. Returns 0 or -EALREADY. */
int srm_verify_start(uv_loop_t *loop, uint64_t first_delay_ms,
                     int64_t interval_s);
/* Cancel its requests and stop the timer; a round whose database job is
 * still queued ends when that job returns. Call before the writer and the
 * HTTP engine go. Safe when not started. */
void srm_verify_stop(void);
/* Start a round now, checking every link regardless of when it was last
 * checked. 0, -EBUSY (a round is running) or -ESHUTDOWN. */
int srm_verify_now(void);

/* Whether html (len bytes, from page_url) has an <a> or <link> with rel
 * containing "me" whose href, resolved against page_url, is target
 * (compared without scheme, case and trailing slashes). */
bool srm_verify_rel_me(const char *html, size_t len, const char *page_url,
                       const char *target);

#endif
