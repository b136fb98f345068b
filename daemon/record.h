/* record.h - the daemon's own copies of the records a connector emits, and
 * the batch that carries them (with the cursors they move) to the writer.
 *
 * The host copies each plugin record into a batch right away (validating
 * and cleaning it), so plugin memory is never referenced after an emit call
 * returns. A batch is committed in one transaction by the writer thread. */
#ifndef SRM_DAEMON_RECORD_H
#define SRM_DAEMON_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srm/plugin.h"

/* Limits applied while copying. Longer fields are cut at a UTF-8 boundary. */
#define SRM_REC_MAX_ID 1024          /* remote ids, networks, handles */
#define SRM_REC_MAX_SHORT 4096       /* names, URLs, labels */
#define SRM_REC_MAX_TEXT (64 * 1024) /* mention text, bios, summaries */
#define SRM_REC_MAX_LINKS 32

struct srm_rec_link {
    char *label;
    char *url;
    int64_t verified_at;
};

struct srm_rec_identity {
    char *network, *remote_id, *handle, *display_name, *profile_url, *bio;
    char *avatar_url, *email;
    int64_t followers, following, posts; /* -1 unknown */
    struct srm_rec_link *links;
    size_t n_links;
    /* Set by srm_db_apply_batch: the identity is new, or what it says about
     * the person (names, handle, profile, email, links) changed, so
     * identity resolution and the people index need to look at it. */
    bool changed;
    int64_t person_id; /* set by srm_db_apply_batch */
};

struct srm_rec_mention {
    char *network, *remote_id, *author_id, *text, *url;
    int64_t created_at, edited_at;
    char *reply_to, *matched, *lang, *visibility;
    char *context_title, *context_url, *reply_ref;
    uint32_t flags;
    char *author_network; /* NULL: the mention's network */
};

struct srm_rec_contact {
    char *network, *remote_id;
    int relation; /* enum srm_relation */
};

struct srm_rec_interaction {
    char *network, *remote_id, *identity_id, *summary, *member;
    int direction; /* enum srm_direction */
    int64_t at;
};

struct srm_rec_cursor {
    char *key, *value;
};

/* Conditional-request validators remembered per URL. They are committed
 * with the records of the response they came from, so a pass that fails
 * never leaves a validator that would hide its unstored items behind a 304. */
struct srm_rec_validator {
    char *url, *etag, *last_modified;
};

/* A growable array of T: items, n, cap. */
#define SRM_VEC(T)                                                            \
    struct {                                                                  \
        T *items;                                                             \
        size_t n, cap;                                                        \
    }

struct srm_batch {
    int64_t source_id;   /* sources.id */
    char *source_name;   /* for log lines */
    char *plugin;        /* network used when a record leaves network NULL */
    int64_t now;         /* unix seconds: first/last seen, fetched_at */

    SRM_VEC(struct srm_rec_identity) identities;
    SRM_VEC(struct srm_rec_mention) mentions;
    SRM_VEC(struct srm_rec_contact) contacts;
    SRM_VEC(struct srm_rec_interaction) interactions;
    SRM_VEC(struct srm_rec_cursor) cursors;
    SRM_VEC(struct srm_rec_validator) validators;

    /* Results, filled by the writer. */
    size_t new_mentions, updated_mentions, new_identities, new_contacts;
    size_t new_interactions;
    SRM_VEC(int64_t) new_mention_ids; /* mentions.id of inserted rows */
};

void srm_batch_init(struct srm_batch *b, int64_t source_id,
                    const char *source_name, const char *plugin);
void srm_batch_fini(struct srm_batch *b);
/* Free the records (identities, mentions, contacts, interactions) once the
 * writer has applied them; the cursors, validators and results stay. */
void srm_batch_release_records(struct srm_batch *b);
/* Nothing to commit (no records, no cursors, no validators). */
bool srm_batch_empty(const struct srm_batch *b);
/* Number of records of all kinds. */
size_t srm_batch_records(const struct srm_batch *b);
/* Move everything of src to the end of dst; src is left empty. */
void srm_batch_move(struct srm_batch *dst, struct srm_batch *src);

/* Whether two identity records say exactly the same (every field, links in
 * the same order). */
bool srm_rec_identity_same(const struct srm_rec_identity *a,
                           const struct srm_rec_identity *b);

/* Validate and copy a plugin record into the batch. On a bad record return
 * SRM_E_BADREC and set *ret_reason to a static string ("remote_id missing",
 * "network too long"...). Invalid UTF-8 is replaced by U+FFFD, control
 * characters other than \n and \t are dropped, and fields over the limits are
 * cut. network NULL becomes b->plugin. */
int srm_batch_add_identity(struct srm_batch *b, const struct srm_identity *r,
                           const char **ret_reason);
int srm_batch_add_mention(struct srm_batch *b, const struct srm_mention *r,
                          const char **ret_reason);
int srm_batch_add_contact(struct srm_batch *b, const struct srm_contact *r,
                          const char **ret_reason);
int srm_batch_add_interaction(struct srm_batch *b,
                              const struct srm_interaction *r,
                              const char **ret_reason);
/* Set (or replace, keeping one entry per key) a cursor; value NULL deletes
 * the stored cursor when the batch commits. */
void srm_batch_set_cursor(struct srm_batch *b, const char *key,
                          const char *value);
void srm_batch_set_validator(struct srm_batch *b, const char *url,
                             const char *etag, const char *last_modified);
/* Forget a validator set in this batch (the response was rejected). */
void srm_batch_drop_validator(struct srm_batch *b, const char *url);

/* Copy at most max bytes of s, replacing invalid UTF-8 with U+FFFD and
 * dropping control characters except \n and \t; never cuts a character.
 * NULL in, NULL out. */
char *srm_utf8_clean(const char *s, size_t max);

#endif
