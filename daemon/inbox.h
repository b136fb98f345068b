/* inbox.h - the team inbox's core: routing new mentions to members, the
 * watch subscriptions, and the helpers the inbox's RPC methods share
 * (items as JSON, members, audit rows, percentiles).
 *
 * Threads: srm_inbox_new_mentions, srm_inbox_watch and srm_inbox_notify run
 * on the loop thread. The srm_db helpers run wherever their connection
 * lives (reader pool or writer). The pure functions run anywhere. */
#ifndef SRM_DAEMON_INBOX_H
#define SRM_DAEMON_INBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

struct srm_db;
struct srm_ctl_client;

/* "No two voices": an interaction by another member this recent counts as
 * that member talking to the person. */
#define SRM_INBOX_VOICE_WINDOW_S (48 * 3600)

/* ---- routing (pure parts) ---- */

/* A team.routes rule, copied off the config for a writer job. Every key set
 * must match; NULL keys are ignored. */
struct srm_inbox_route {
    char *network, *source, *keyword, *tag, *member;
};

/* What routing knows about one mention. */
struct srm_inbox_facts {
    const char *network;
    const char *source;     /* sources.name, or NULL */
    const char *text;
    const char *matched;    /* the query/keyword the connector matched */
    const char *const *tags; /* the author's person's tags */
    size_t n_tags;
};

/* Whether r matches f: network and source compare exactly (network
 * ignoring ASCII case), keyword is a case-insensitive substring of the text
 * or of what the connector matched (the listen keyword),
 * tag one of the person's tags (ignoring case). A rule without any key
 * never matches. */
bool srm_inbox_route_matches(const struct srm_inbox_route *r,
                             const struct srm_inbox_facts *f);

/* The index of the first matching rule, or -1. */
int srm_inbox_route_pick(const struct srm_inbox_route *routes, size_t n,
                         const struct srm_inbox_facts *f);

/* The p-th percentile (0..100) of n sorted values, interpolating linearly
 * between the closest ranks (R-7, numpy's default, Python's
 * statistics.quantiles(method="inclusive")). 0 when n is 0. */
double srm_inbox_percentile(const double *sorted, size_t n, double p);

/* Whether s is a mention status: new, assigned, replied, done, ignored. */
bool srm_inbox_status_valid(const char *s);
/* Whether s is an outcome kind: lead, sale, feedback, advocate, support. */
bool srm_inbox_outcome_kind_valid(const char *s);

/* ---- database helpers (any connection unless said) ---- */

/* The item of the current row of a statement selecting
 * SRM_SQL_INBOX_ITEM_COLS_ first: {id, network, source, author{identity_id,
 * person_id, handle, display_name}, text, url, created_at, status,
 * assignee, matched}. New reference. */
json_t *srm_inbox_item_json(sqlite3_stmt *st);
/* Load one item by id: 0 and *ret (new reference), -ENOENT, or a database
 * error. */
int srm_inbox_item_load(struct srm_db *db, int64_t id, json_t **ret);

/* members.id of user; an admin without a members row gets an inactive one
 * (write connection only). */
int srm_inbox_member_id(struct srm_db *db, const char *user, bool is_admin,
                        int64_t now, int64_t *ret_id);

/* Append an audit row; detail (borrowed, may be NULL) is stored as JSON. */
int srm_inbox_audit(struct srm_db *db, int64_t at, const char *member,
                    const char *action, const char *object_type,
                    int64_t object_id, const json_t *detail);

/* The users other than me_id talking to person_id (see
 * SRM_INBOX_VOICE_WINDOW_S), as a JSON array of strings (new reference;
 * empty when nobody). */
int srm_inbox_voices(struct srm_db *db, int64_t person_id,
                     int64_t mention_id, int64_t me_id, int64_t now,
                     json_t **ret_users);

/* ---- arrival and watch (loop thread) ---- */

/* Route newly committed mentions and tell watchers. Called by source.c
 * after each committed batch with the ids of the inserted mentions
 * (borrowed). Submits one writer job (owner rule, then team.routes) and,
 * when someone watches, one read job for the items; never blocks. */
void srm_inbox_new_mentions(const int64_t *ids, size_t n, int64_t source_id);

/* Subscribe client (or update its subscription) to mention events. mine:
 * only mentions assigned to user, or new and unassigned. The subscription
 * ends when the client closes. */
void srm_inbox_watch(struct srm_ctl_client *client, const char *user,
                     bool mine);
/* Number of subscribed clients. */
size_t srm_inbox_watchers(void);
/* Push {"method":"mention","params": item + {"event": event}} to every
 * matching subscriber. item is borrowed. */
void srm_inbox_notify(const json_t *item, const char *event);

#endif
