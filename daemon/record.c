/* record.c - the daemon's copies of emitted records: validation, UTF-8
 * cleaning, size limits, and the batch that carries them to the writer. */
#include "record.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"

/* Grow a SRM_VEC by one slot and return it, zeroed. */
#define REC_PUSH(vec)                                                         \
    (rec_grow((void **)&(vec).items, &(vec).cap, (vec).n,                     \
              sizeof(*(vec).items)),                                          \
     memset(&(vec).items[(vec).n], 0, sizeof(*(vec).items)),                  \
     &(vec).items[(vec).n++])

static void rec_grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return;
    *cap = *cap ? *cap * 2 : 16;
    *items = srm_xreallocarray(*items, *cap, size);
}

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when invalid; *ret_n
 * gets the bytes an invalid one spans (its maximal valid prefix, at least
 * 1), which together become one U+FFFD. Overlongs, surrogates and code
 * points above U+10FFFF are invalid, as RFC 3629 says. */
static size_t rec_utf8_seq(const unsigned char *s, size_t *ret_n,
                           uint32_t *ret_cp)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len;
    uint32_t cp;

    if (c < 0x80) {
        *ret_cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        *ret_n = 1;
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if (s[i] < lo || s[i] > hi) {
            *ret_n = i;
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
        lo = 0x80;
        hi = 0xbf;
    }
    *ret_cp = cp;
    return len;
}

static bool rec_is_control(uint32_t cp)
{
    if (cp == '\n' || cp == '\t')
        return false;
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

char *srm_utf8_clean(const char *s, size_t max)
{
    static const char replacement[] = "\xef\xbf\xbd";
    const unsigned char *in = (const unsigned char *)s;
    size_t in_len, cap, o = 0;
    char *out;

    if (s == NULL)
        return NULL;
    in_len = strlen(s);
    /* Each input byte becomes at most 3 output bytes (one U+FFFD). */
    cap = in_len < max / 3 ? in_len * 3 : max;
    out = srm_xmalloc(cap + 1);
    for (size_t i = 0; i < in_len;) {
        size_t bad = 0, n;
        uint32_t cp = 0;
        size_t len = rec_utf8_seq(in + i, &bad, &cp);
        const char *src;

        if (len == 0) {
            src = replacement;
            n = 3;
            i += bad;
        } else {
            src = (const char *)in + i;
            n = len;
            i += len;
            if (rec_is_control(cp))
                continue;
        }
        if (o + n > cap)
            break;
        memcpy(out + o, src, n);
        o += n;
    }
    out[o] = '\0';
    return out;
}

/* ------------------------------------------------------------------ */
/* Batch                                                               */

void srm_batch_init(struct srm_batch *b, int64_t source_id,
                    const char *source_name, const char *plugin)
{
    memset(b, 0, sizeof(*b));
    b->source_id = source_id;
    b->source_name = srm_xstrdup_or_null(source_name);
    b->plugin = srm_xstrdup_or_null(plugin);
    b->now = (int64_t)time(NULL);
}

static void rec_identity_fini(struct srm_rec_identity *r)
{
    free(r->network);
    free(r->remote_id);
    free(r->handle);
    free(r->display_name);
    free(r->profile_url);
    free(r->bio);
    free(r->avatar_url);
    free(r->email);
    for (size_t i = 0; i < r->n_links; i++) {
        free(r->links[i].label);
        free(r->links[i].url);
    }
    free(r->links);
}

static void rec_mention_fini(struct srm_rec_mention *r)
{
    free(r->network);
    free(r->remote_id);
    free(r->author_id);
    free(r->author_network);
    free(r->text);
    free(r->url);
    free(r->reply_to);
    free(r->matched);
    free(r->lang);
    free(r->visibility);
    free(r->context_title);
    free(r->context_url);
    free(r->reply_ref);
}

void srm_batch_release_records(struct srm_batch *b)
{
    for (size_t i = 0; i < b->identities.n; i++)
        rec_identity_fini(&b->identities.items[i]);
    for (size_t i = 0; i < b->mentions.n; i++)
        rec_mention_fini(&b->mentions.items[i]);
    for (size_t i = 0; i < b->contacts.n; i++) {
        free(b->contacts.items[i].network);
        free(b->contacts.items[i].remote_id);
    }
    for (size_t i = 0; i < b->interactions.n; i++) {
        struct srm_rec_interaction *r = &b->interactions.items[i];
        free(r->network);
        free(r->remote_id);
        free(r->identity_id);
        free(r->summary);
        free(r->member);
    }
    free(b->identities.items);
    free(b->mentions.items);
    free(b->contacts.items);
    free(b->interactions.items);
    memset(&b->identities, 0, sizeof(b->identities));
    memset(&b->mentions, 0, sizeof(b->mentions));
    memset(&b->contacts, 0, sizeof(b->contacts));
    memset(&b->interactions, 0, sizeof(b->interactions));
}

void srm_batch_fini(struct srm_batch *b)
{
    srm_batch_release_records(b);
    for (size_t i = 0; i < b->cursors.n; i++) {
        free(b->cursors.items[i].key);
        free(b->cursors.items[i].value);
    }
    for (size_t i = 0; i < b->validators.n; i++) {
        free(b->validators.items[i].url);
        free(b->validators.items[i].etag);
        free(b->validators.items[i].last_modified);
    }
    free(b->cursors.items);
    free(b->validators.items);
    free(b->new_mention_ids.items);
    free(b->source_name);
    free(b->plugin);
    memset(b, 0, sizeof(*b));
}

static bool rec_str_eq(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool srm_rec_identity_same(const struct srm_rec_identity *a,
                           const struct srm_rec_identity *b)
{
    if (!rec_str_eq(a->network, b->network) ||
        !rec_str_eq(a->remote_id, b->remote_id) ||
        !rec_str_eq(a->handle, b->handle) ||
        !rec_str_eq(a->display_name, b->display_name) ||
        !rec_str_eq(a->profile_url, b->profile_url) ||
        !rec_str_eq(a->bio, b->bio) ||
        !rec_str_eq(a->avatar_url, b->avatar_url) ||
        !rec_str_eq(a->email, b->email) || a->followers != b->followers ||
        a->following != b->following || a->posts != b->posts ||
        a->n_links != b->n_links)
        return false;
    for (size_t i = 0; i < a->n_links; i++)
        if (!rec_str_eq(a->links[i].label, b->links[i].label) ||
            !rec_str_eq(a->links[i].url, b->links[i].url) ||
            a->links[i].verified_at != b->links[i].verified_at)
            return false;
    return true;
}

bool srm_batch_empty(const struct srm_batch *b)
{
    return srm_batch_records(b) == 0 && b->cursors.n == 0 &&
           b->validators.n == 0;
}

size_t srm_batch_records(const struct srm_batch *b)
{
    return b->identities.n + b->mentions.n + b->contacts.n +
           b->interactions.n;
}

#define REC_MOVE_VEC(dst, src)                                                \
    do {                                                                      \
        for (size_t i_ = 0; i_ < (src).n; i_++)                               \
            *REC_PUSH(dst) = (src).items[i_];                                 \
        (src).n = 0;                                                          \
    } while (0)

void srm_batch_move(struct srm_batch *dst, struct srm_batch *src)
{
    REC_MOVE_VEC(dst->identities, src->identities);
    REC_MOVE_VEC(dst->mentions, src->mentions);
    REC_MOVE_VEC(dst->contacts, src->contacts);
    REC_MOVE_VEC(dst->interactions, src->interactions);
    /* Later values win, keeping one entry per key / URL. */
    for (size_t i = 0; i < src->cursors.n; i++) {
        struct srm_rec_cursor *c = &src->cursors.items[i];
        srm_batch_set_cursor(dst, c->key, c->value);
        free(c->key);
        free(c->value);
    }
    src->cursors.n = 0;
    for (size_t i = 0; i < src->validators.n; i++) {
        struct srm_rec_validator *v = &src->validators.items[i];
        srm_batch_set_validator(dst, v->url, v->etag, v->last_modified);
        free(v->url);
        free(v->etag);
        free(v->last_modified);
    }
    src->validators.n = 0;
}

/* ------------------------------------------------------------------ */
/* Validation and copies                                               */

/* An id field: required or not, never cut (a cut id would merge two
 * different accounts or posts). */
static const char *rec_check_id(const char *s, bool required,
                                const char *missing, const char *too_long)
{
    if (s == NULL || s[0] == '\0')
        return required ? missing : NULL;
    if (strlen(s) > SRM_REC_MAX_ID)
        return too_long;
    return NULL;
}

/* NULL stays NULL and an empty string becomes NULL: "absent" either way. */
static char *rec_copy(const char *s, size_t max)
{
    if (s == NULL || s[0] == '\0')
        return NULL;
    return srm_utf8_clean(s, max);
}

static const char *rec_network(const struct srm_batch *b, const char *net)
{
    return net != NULL && net[0] != '\0' ? net : b->plugin;
}

/* The record's fields as the plugin knew them: a plugin built against an
 * older, shorter struct leaves the tail at its defaults. */
static bool rec_read(void *dst, size_t dst_size, const void *src,
                     uint32_t src_size, size_t min_size)
{
    if (src_size < min_size)
        return false;
    memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
    return true;
}

int srm_batch_add_identity(struct srm_batch *b, const struct srm_identity *r,
                           const char **ret_reason)
{
    struct srm_identity in = SRM_IDENTITY_INIT;
    struct srm_rec_identity *o;
    const char *why, *net;
    size_t n_links;

    if (!rec_read(&in, sizeof(in), r, r->struct_size,
                  offsetof(struct srm_identity, handle))) {
        *ret_reason = "struct_size too small";
        return SRM_E_BADREC;
    }
    net = rec_network(b, in.network);
    if ((why = rec_check_id(net, true, "network missing",
                            "network too long")) ||
        (why = rec_check_id(in.remote_id, true, "remote_id missing",
                            "remote_id too long"))) {
        *ret_reason = why;
        return SRM_E_BADREC;
    }
    o = REC_PUSH(b->identities);
    o->network = srm_utf8_clean(net, SRM_REC_MAX_ID);
    o->remote_id = srm_utf8_clean(in.remote_id, SRM_REC_MAX_ID);
    o->handle = rec_copy(in.handle, SRM_REC_MAX_ID);
    o->display_name = rec_copy(in.display_name, SRM_REC_MAX_SHORT);
    o->profile_url = rec_copy(in.profile_url, SRM_REC_MAX_SHORT);
    o->bio = rec_copy(in.bio, SRM_REC_MAX_TEXT);
    o->avatar_url = rec_copy(in.avatar_url, SRM_REC_MAX_SHORT);
    o->email = rec_copy(in.email, SRM_REC_MAX_SHORT);
    o->followers = in.followers < 0 ? -1 : in.followers;
    o->following = in.following < 0 ? -1 : in.following;
    o->posts = in.posts < 0 ? -1 : in.posts;
    n_links = in.links != NULL ? in.n_links : 0;
    if (n_links > SRM_REC_MAX_LINKS)
        n_links = SRM_REC_MAX_LINKS;
    if (n_links > 0)
        o->links = srm_xcalloc(n_links, sizeof(*o->links));
    for (size_t i = 0; i < n_links; i++) {
        const struct srm_link *l = &in.links[i];
        struct srm_rec_link *ol = &o->links[o->n_links];

        /* A link without a URL says nothing: skip it, keep the record. */
        if (l->url == NULL || l->url[0] == '\0')
            continue;
        ol->url = srm_utf8_clean(l->url, SRM_REC_MAX_SHORT);
        ol->label = rec_copy(l->label, SRM_REC_MAX_SHORT);
        ol->verified_at = l->verified_at > 0 ? l->verified_at : 0;
        o->n_links++;
    }
    return 0;
}

int srm_batch_add_mention(struct srm_batch *b, const struct srm_mention *r,
                          const char **ret_reason)
{
    struct srm_mention in = SRM_MENTION_INIT;
    struct srm_rec_mention *o;
    const char *why, *net;

    if (!rec_read(&in, sizeof(in), r, r->struct_size,
                  offsetof(struct srm_mention, text))) {
        *ret_reason = "struct_size too small";
        return SRM_E_BADREC;
    }
    net = rec_network(b, in.network);
    if ((why = rec_check_id(net, true, "network missing",
                            "network too long")) ||
        (why = rec_check_id(in.remote_id, true, "remote_id missing",
                            "remote_id too long")) ||
        (why = rec_check_id(in.author_id, false, NULL,
                            "author_id too long")) ||
        (why = rec_check_id(in.author_network, false, NULL,
                            "author_network too long")) ||
        (why = rec_check_id(in.reply_to, false, NULL, "reply_to too long"))) {
        *ret_reason = why;
        return SRM_E_BADREC;
    }
    if (in.created_at < 0 || in.edited_at < 0) {
        *ret_reason = "negative time";
        return SRM_E_BADREC;
    }
    o = REC_PUSH(b->mentions);
    o->network = srm_utf8_clean(net, SRM_REC_MAX_ID);
    o->remote_id = srm_utf8_clean(in.remote_id, SRM_REC_MAX_ID);
    o->author_id = rec_copy(in.author_id, SRM_REC_MAX_ID);
    o->text = srm_utf8_clean(in.text ? in.text : "", SRM_REC_MAX_TEXT);
    o->url = rec_copy(in.url, SRM_REC_MAX_SHORT);
    o->created_at = in.created_at;
    o->edited_at = in.edited_at;
    o->reply_to = rec_copy(in.reply_to, SRM_REC_MAX_ID);
    o->matched = rec_copy(in.matched, SRM_REC_MAX_SHORT);
    o->lang = rec_copy(in.lang, SRM_REC_MAX_ID);
    o->visibility = rec_copy(in.visibility, SRM_REC_MAX_ID);
    o->context_title = rec_copy(in.context_title, SRM_REC_MAX_SHORT);
    o->context_url = rec_copy(in.context_url, SRM_REC_MAX_SHORT);
    o->reply_ref = rec_copy(in.reply_ref, SRM_REC_MAX_SHORT);
    o->flags = in.flags;
    o->author_network = rec_copy(in.author_network, SRM_REC_MAX_ID);
    return 0;
}

int srm_batch_add_contact(struct srm_batch *b, const struct srm_contact *r,
                          const char **ret_reason)
{
    struct srm_contact in = SRM_CONTACT_INIT;
    struct srm_rec_contact *o;
    const char *why, *net;

    if (!rec_read(&in, sizeof(in), r, r->struct_size, sizeof(in))) {
        *ret_reason = "struct_size too small";
        return SRM_E_BADREC;
    }
    net = rec_network(b, in.network);
    if ((why = rec_check_id(net, true, "network missing",
                            "network too long")) ||
        (why = rec_check_id(in.remote_id, true, "remote_id missing",
                            "remote_id too long"))) {
        *ret_reason = why;
        return SRM_E_BADREC;
    }
    if (in.relation != SRM_REL_FOLLOWER && in.relation != SRM_REL_FOLLOWING) {
        *ret_reason = "relation invalid";
        return SRM_E_BADREC;
    }
    o = REC_PUSH(b->contacts);
    o->network = srm_utf8_clean(net, SRM_REC_MAX_ID);
    o->remote_id = srm_utf8_clean(in.remote_id, SRM_REC_MAX_ID);
    o->relation = (int)in.relation;
    return 0;
}

int srm_batch_add_interaction(struct srm_batch *b,
                              const struct srm_interaction *r,
                              const char **ret_reason)
{
    struct srm_interaction in = SRM_INTERACTION_INIT;
    struct srm_rec_interaction *o;
    const char *why, *net;

    if (!rec_read(&in, sizeof(in), r, r->struct_size,
                  offsetof(struct srm_interaction, summary))) {
        *ret_reason = "struct_size too small";
        return SRM_E_BADREC;
    }
    net = rec_network(b, in.network);
    if ((why = rec_check_id(net, true, "network missing",
                            "network too long")) ||
        (why = rec_check_id(in.remote_id, true, "remote_id missing",
                            "remote_id too long")) ||
        /* An interaction hangs off a person, found through this identity. */
        (why = rec_check_id(in.identity_id, true, "identity_id missing",
                            "identity_id too long")) ||
        (why = rec_check_id(in.member, false, NULL, "member too long"))) {
        *ret_reason = why;
        return SRM_E_BADREC;
    }
    if (in.direction != SRM_DIR_IN && in.direction != SRM_DIR_OUT) {
        *ret_reason = "direction invalid";
        return SRM_E_BADREC;
    }
    if (in.at < 0) {
        *ret_reason = "negative time";
        return SRM_E_BADREC;
    }
    o = REC_PUSH(b->interactions);
    o->network = srm_utf8_clean(net, SRM_REC_MAX_ID);
    o->remote_id = srm_utf8_clean(in.remote_id, SRM_REC_MAX_ID);
    o->identity_id = srm_utf8_clean(in.identity_id, SRM_REC_MAX_ID);
    o->summary = rec_copy(in.summary, SRM_REC_MAX_TEXT);
    o->member = rec_copy(in.member, SRM_REC_MAX_ID);
    o->direction = (int)in.direction;
    o->at = in.at;
    return 0;
}

void srm_batch_set_cursor(struct srm_batch *b, const char *key,
                          const char *value)
{
    struct srm_rec_cursor *c = NULL;

    for (size_t i = 0; i < b->cursors.n; i++) {
        if (strcmp(b->cursors.items[i].key, key) == 0) {
            c = &b->cursors.items[i];
            SRM_FREE(c->value);
            break;
        }
    }
    if (c == NULL) {
        c = REC_PUSH(b->cursors);
        c->key = srm_xstrdup(key);
    }
    c->value = srm_xstrdup_or_null(value);
}

void srm_batch_set_validator(struct srm_batch *b, const char *url,
                             const char *etag, const char *last_modified)
{
    struct srm_rec_validator *v = NULL;

    for (size_t i = 0; i < b->validators.n; i++) {
        if (strcmp(b->validators.items[i].url, url) == 0) {
            v = &b->validators.items[i];
            SRM_FREE(v->etag);
            SRM_FREE(v->last_modified);
            break;
        }
    }
    if (v == NULL) {
        v = REC_PUSH(b->validators);
        v->url = srm_xstrdup(url);
    }
    v->etag = srm_xstrdup_or_null(etag);
    v->last_modified = srm_xstrdup_or_null(last_modified);
}

void srm_batch_drop_validator(struct srm_batch *b, const char *url)
{
    for (size_t i = 0; i < b->validators.n; i++) {
        struct srm_rec_validator *v = &b->validators.items[i];
        if (strcmp(v->url, url) != 0)
            continue;
        free(v->url);
        free(v->etag);
        free(v->last_modified);
        b->validators.items[i] = b->validators.items[--b->validators.n];
        return;
    }
}
