/* db_sql_inbox.h - SQL of the team inbox (mentions, assignment, claims,
 * replies, outcomes, reports, audit): schema version 3 and the named
 * statements, composed into db_sql.h's SRM_SQL_STATEMENTS.
 *
 * Optional filters are written once with a NULL test
 * ("(:status IS NULL OR m.status = :status)"), so every query is a
 * constant: a filter the caller did not give is bound NULL. */
#ifndef SRM_DAEMON_DB_SQL_INBOX_H
#define SRM_DAEMON_DB_SQL_INBOX_H

/* Indexes the inbox queries, the "no two voices" check and the report
 * need. */
#define SRM_SQL_MIGRATION_3                                                   \
    "CREATE INDEX interactions_mention ON interactions(mention_id, at)"       \
    "  WHERE mention_id IS NOT NULL;"                                         \
    "CREATE INDEX interactions_at ON interactions(at);"                       \
    "CREATE INDEX mentions_source_created"                                    \
    "  ON mentions(source_id, created_at DESC);"                              \
    "CREATE INDEX outcomes_at ON outcomes(at);"                               \
    "CREATE INDEX audit_member ON audit(member, at);"                         \
    "PRAGMA user_version = 3;"

/* ---------------------------------------------------------------------
 * One inbox item: the columns every list, search and notification shows,
 * in this order (inbox.c srm_inbox_item_json reads them by position).
 */
#define SRM_SQL_INBOX_ITEM_COLS_                                              \
    "m.id, m.network, s.name, m.identity_id, i.person_id, i.handle,"          \
    " coalesce(i.display_name, p.display_name), m.text, m.url,"               \
    " m.created_at, m.status, mb.user, m.matched"
#define SRM_SQL_INBOX_ITEM_FROM_                                              \
    " FROM mentions m"                                                        \
    " LEFT JOIN sources s ON s.id = m.source_id"                              \
    " LEFT JOIN identities i ON i.id = m.identity_id"                         \
    " LEFT JOIN people p ON p.id = i.person_id"                               \
    " LEFT JOIN members mb ON mb.id = m.assignee_id"

#define SRM_SQL_INBOX_ITEM                                                    \
    "SELECT " SRM_SQL_INBOX_ITEM_COLS_ SRM_SQL_INBOX_ITEM_FROM_               \
    " WHERE m.id = :id"

/* mentions.list: newest first, keyset-paged on (created_at, id).
 * :inbox is a members.id: that member's assigned mentions plus the
 * unassigned new ones. :q is an FTS5 query. */
#define SRM_SQL_INBOX_LIST                                                    \
    "SELECT " SRM_SQL_INBOX_ITEM_COLS_ SRM_SQL_INBOX_ITEM_FROM_               \
    " WHERE m.deleted = 0"                                                    \
    " AND (:status IS NULL OR m.status = :status)"                            \
    " AND (:assignee IS NULL OR m.assignee_id = :assignee)"                   \
    " AND (:unassigned IS NULL OR m.assignee_id IS NULL)"                     \
    " AND (:source IS NULL OR s.name = :source)"                              \
    " AND (:network IS NULL OR m.network = :network)"                         \
    " AND (:inbox IS NULL OR (m.status = 'assigned'"                          \
    "      AND m.assignee_id = :inbox)"                                       \
    "   OR (m.status = 'new' AND m.assignee_id IS NULL))"                     \
    " AND (:q IS NULL OR m.id IN"                                             \
    "      (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH :q))"     \
    " AND (:c_at IS NULL OR m.created_at < :c_at"                             \
    "      OR (m.created_at = :c_at AND m.id < :c_id))"                       \
    " ORDER BY m.created_at DESC, m.id DESC LIMIT :limit"

/* mentions.search: srm_rank (bm25 without the single-word IDF walk, see
 * fts_rank.h; best first), then id; keyset-paged on both. It ranks the
 * newest SRM_INBOX_SEARCH_WINDOW matches,
 * then joins only the page it returns: ranking every match of a word found
 * in a million mentions takes seconds; FTS5 walks matches newest first
 * (rowid order) cheaply. The snippet comes per returned row. */
#define SRM_INBOX_SEARCH_WINDOW "2000"
#define SRM_SQL_INBOX_SEARCH                                                  \
    "SELECT " SRM_SQL_INBOX_ITEM_COLS_ ", c.r FROM ("                         \
    "  SELECT id, r FROM ("                                                   \
    "    SELECT rowid AS id, srm_rank(mentions_fts) AS r FROM mentions_fts"   \
    "    WHERE mentions_fts MATCH :q"                                         \
    "    ORDER BY rowid DESC LIMIT " SRM_INBOX_SEARCH_WINDOW ")"              \
    "  WHERE :c_rank IS NULL OR r > :c_rank OR (r = :c_rank AND id > :c_id)"  \
    "  ORDER BY r, id LIMIT :limit) c"                                        \
    " JOIN mentions m ON m.id = c.id"                                         \
    " LEFT JOIN sources s ON s.id = m.source_id"                              \
    " LEFT JOIN identities i ON i.id = m.identity_id"                         \
    " LEFT JOIN people p ON p.id = i.person_id"                               \
    " LEFT JOIN members mb ON mb.id = m.assignee_id"                          \
    " WHERE m.deleted = 0 ORDER BY c.r, c.id"
/* The snippets of one page of results in one statement: a MATCH with
 * "rowid = :id" costs ~0.3 ms each (FTS5 seeks the doclists anew), one
 * walk over the page's rowid range costs that for all 50. The unary + keeps
 * the id list from becoming 50 such seeks. */
#define SRM_SQL_INBOX_SNIPPETS                                                \
    "SELECT rowid, snippet(mentions_fts, 0, '[', ']', '…', 12)"              \
    " FROM mentions_fts WHERE mentions_fts MATCH :q"                          \
    " AND rowid BETWEEN :lo AND :hi"                                          \
    " AND +rowid IN (SELECT value FROM json_each(:ids))"

/* mentions.show: what the list leaves out. */
#define SRM_SQL_INBOX_DETAIL                                                  \
    "SELECT m.remote_id, m.edited_at, m.fetched_at, m.reply_to, m.lang,"      \
    " m.visibility, m.context_title, m.context_url, m.flags, m.deleted,"      \
    " m.status_changed_at, i.remote_id, i.profile_url, p.owner_id,"           \
    " (SELECT user FROM members WHERE id = p.owner_id)"                       \
    " FROM mentions m LEFT JOIN identities i ON i.id = m.identity_id"         \
    " LEFT JOIN people p ON p.id = i.person_id WHERE m.id = :id"
#define SRM_SQL_INBOX_PERSON_IDENTITIES                                       \
    "SELECT id, network, remote_id, handle, display_name, profile_url,"       \
    " followers FROM identities WHERE person_id = :person_id"                 \
    " ORDER BY network, handle, id"

/* The state a change needs: status, assignee, the author's person and
 * owner, and what a reply needs (source, remote ids, reply_ref). */
#define SRM_SQL_INBOX_STATE                                                   \
    "SELECT m.id, m.status, m.assignee_id, mb.user, i.person_id,"             \
    " p.owner_id, m.network, s.name, s.plugin, m.remote_id, m.url,"           \
    " i.remote_id, i.handle, m.reply_ref, m.identity_id, m.source_id,"        \
    " m.text, coalesce(p.display_name, i.display_name, i.handle)"             \
    " FROM mentions m"                                                        \
    " LEFT JOIN sources s ON s.id = m.source_id"                              \
    " LEFT JOIN identities i ON i.id = m.identity_id"                         \
    " LEFT JOIN people p ON p.id = i.person_id"                               \
    " LEFT JOIN members mb ON mb.id = m.assignee_id"                          \
    " WHERE m.id = :id"

/* Members: by user; a caller who is an admin without a team.members entry
 * (root, srmd's own user) gets an inactive row, so audit and assignments
 * can name them. */
#define SRM_SQL_INBOX_MEMBER_ENSURE                                           \
    "INSERT INTO members (user, name, is_admin, active, created_at)"          \
    " VALUES (:user, NULL, :is_admin, 0, :now)"                               \
    " ON CONFLICT (user) DO NOTHING"
#define SRM_SQL_INBOX_MEMBER_ID "SELECT id FROM members WHERE user = :user"
#define SRM_SQL_INBOX_MEMBER_ACTIVE                                           \
    "SELECT id FROM members WHERE user = :user AND active = 1"

/* The members other than :me already talking to :person_id: an open
 * assignment on another of their mentions, or an interaction since
 * :since, on any network. */
#define SRM_SQL_INBOX_VOICES                                                  \
    "SELECT mb.user FROM mentions m2"                                         \
    " JOIN identities i2 ON i2.id = m2.identity_id"                           \
    " JOIN members mb ON mb.id = m2.assignee_id"                              \
    " WHERE i2.person_id = :person_id AND m2.id <> :id"                       \
    " AND m2.status = 'assigned' AND m2.assignee_id <> :me"                   \
    " UNION"                                                                  \
    " SELECT mb.user FROM interactions x"                                     \
    " JOIN members mb ON mb.id = x.member_id"                                 \
    " WHERE x.person_id = :person_id AND x.at >= :since"                      \
    " AND x.member_id <> :me"                                                 \
    " ORDER BY 1"

/* Claim: atomic; changes() says whether we got it. */
#define SRM_SQL_INBOX_CLAIM                                                   \
    "UPDATE mentions SET assignee_id = :me,"                                  \
    " status = CASE WHEN status = 'new' THEN 'assigned' ELSE status END,"     \
    " status_changed_at = :now"                                               \
    " WHERE id = :id AND (assignee_id IS NULL OR assignee_id = :me)"
#define SRM_SQL_INBOX_ASSIGN                                                  \
    "UPDATE mentions SET assignee_id = :member_id,"                           \
    " status = CASE WHEN status = 'new' THEN 'assigned' ELSE status END,"     \
    " status_changed_at = :now WHERE id = :id"
/* Routing on arrival: only a mention nobody touched yet. */
#define SRM_SQL_INBOX_ROUTE                                                   \
    "UPDATE mentions SET assignee_id = :member_id, status = 'assigned',"      \
    " status_changed_at = :now"                                               \
    " WHERE id = :id AND status = 'new' AND assignee_id IS NULL"
/* 'new' clears the assignee; 'assigned' without one takes :me. */
#define SRM_SQL_INBOX_SET_STATUS                                              \
    "UPDATE mentions SET status = :status, status_changed_at = :now,"         \
    " assignee_id = CASE WHEN :status = 'new' THEN NULL"                      \
    "  WHEN :status = 'assigned' THEN coalesce(assignee_id, :me)"             \
    "  ELSE assignee_id END"                                                  \
    " WHERE id = :id"
#define SRM_SQL_INBOX_REPLIED                                                 \
    "UPDATE mentions SET status = 'replied', status_changed_at = :now,"       \
    " assignee_id = coalesce(assignee_id, :me) WHERE id = :id"

/* Routing facts. */
#define SRM_SQL_INBOX_ROUTE_FACTS                                             \
    "SELECT m.status, m.assignee_id, m.network, s.name, m.text,"              \
    " i.person_id, p.owner_id, (SELECT user FROM members WHERE id ="          \
    " p.owner_id), m.matched FROM mentions m"                                 \
    " LEFT JOIN sources s ON s.id = m.source_id"                              \
    " LEFT JOIN identities i ON i.id = m.identity_id"                         \
    " LEFT JOIN people p ON p.id = i.person_id WHERE m.id = :id"
/* Without team routes only the owner rule can route: of the new mentions
 * with ids in [lo, hi], those whose person has an owner. One range scan
 * instead of the facts of every new mention. */
#define SRM_SQL_INBOX_OWNED_NEW                                               \
    "SELECT m.id FROM mentions m"                                             \
    " JOIN identities i ON i.id = m.identity_id"                              \
    " JOIN people p ON p.id = i.person_id"                                    \
    " WHERE m.id BETWEEN :lo AND :hi AND p.owner_id IS NOT NULL"              \
    " ORDER BY m.id"
#define SRM_SQL_INBOX_PERSON_TAGS                                             \
    "SELECT tag FROM person_tags WHERE person_id = :person_id ORDER BY tag"

/* A reply we posted. (network, remote_id) is unique: if a sync already
 * stored the post, link it to the mention and the member instead. */
#define SRM_SQL_INBOX_REPLY_INTERACTION                                       \
    "INSERT INTO interactions (person_id, identity_id, member_id, network,"   \
    " remote_id, direction, at, summary, mention_id, source_id)"              \
    " VALUES (:person_id, :identity_id, :member_id, :network, :remote_id,"    \
    " 'out', :at, :summary, :mention_id, :source_id)"                         \
    " ON CONFLICT (network, remote_id) DO UPDATE SET"                         \
    " mention_id = excluded.mention_id,"                                      \
    " member_id = coalesce(member_id, excluded.member_id)"
#define SRM_SQL_INBOX_PERSON_TOUCH                                            \
    "UPDATE people SET last_interaction_at = :at WHERE id = :id"              \
    " AND (last_interaction_at IS NULL OR last_interaction_at < :at)"

#define SRM_SQL_INBOX_AUDIT                                                   \
    "INSERT INTO audit (at, member, action, object_type, object_id, detail)"  \
    " VALUES (:at, :member, :action, :object_type, :object_id, :detail)"
#define SRM_SQL_INBOX_HISTORY                                                 \
    "SELECT id, at, member, action, detail FROM audit"                        \
    " WHERE object_type = :object_type AND object_id = :object_id"            \
    " ORDER BY at, id"

/* Outcomes: a person by id, or by an identity's handle (any network, or
 * :network). The attribution (network, source) comes from the matched
 * identity, else from the person's latest mention. */
#define SRM_SQL_INBOX_PERSON_EXISTS "SELECT id FROM people WHERE id = :id"
#define SRM_SQL_INBOX_PERSON_BY_HANDLE                                        \
    "SELECT DISTINCT person_id FROM identities"                               \
    " WHERE (handle = :handle COLLATE NOCASE"                                 \
    "   OR remote_id = :handle)"                                              \
    " AND (:network IS NULL OR network = :network) LIMIT 3"
#define SRM_SQL_INBOX_PERSON_LATEST                                           \
    "SELECT m.network, m.source_id FROM mentions m"                           \
    " JOIN identities i ON i.id = m.identity_id"                              \
    " WHERE i.person_id = :person_id"                                         \
    " AND (:network IS NULL OR m.network = :network)"                         \
    " ORDER BY m.created_at DESC, m.id DESC LIMIT 1"
#define SRM_SQL_INBOX_OUTCOME_INSERT                                          \
    "INSERT INTO outcomes (person_id, member_id, kind, value, note, at,"      \
    " network, source_id) VALUES (:person_id, :member_id, :kind, :value,"     \
    " :note, :at, :network, :source_id)"

/* report: everything since :from. */
#define SRM_SQL_REPORT_BY_NETWORK                                             \
    "SELECT network, count(*) FROM mentions"                                  \
    " WHERE created_at >= :from AND deleted = 0"                              \
    " GROUP BY network ORDER BY network"
#define SRM_SQL_REPORT_BY_DAY                                                 \
    "SELECT date(created_at, 'unixepoch'), count(*) FROM mentions"            \
    " WHERE created_at >= :from AND deleted = 0 GROUP BY 1 ORDER BY 1"
/* A mention counts as replied when its status says so or the team sent
 * something linked to it after it was posted. */
#define SRM_SQL_REPORT_REPLY_RATE                                             \
    "SELECT count(*), coalesce(sum(m.status = 'replied' OR EXISTS ("          \
    "  SELECT 1 FROM interactions x WHERE x.mention_id = m.id"                \
    "  AND x.direction = 'out' AND x.at >= m.created_at)), 0)"                \
    " FROM mentions m WHERE m.created_at >= :from AND m.deleted = 0"
/* First response of each mention: its earliest 'out' interaction at or
 * after created_at, credited to that interaction's member. */
#define SRM_SQL_REPORT_FIRST_RESPONSE                                         \
    "SELECT coalesce(mb.user, '-'), x.at - m.created_at FROM mentions m"      \
    " JOIN interactions x ON x.id = (SELECT x2.id FROM interactions x2"       \
    "  WHERE x2.mention_id = m.id AND x2.direction = 'out'"                   \
    "  AND x2.at >= m.created_at ORDER BY x2.at, x2.id LIMIT 1)"              \
    " LEFT JOIN members mb ON mb.id = x.member_id"                            \
    " WHERE m.created_at >= :from AND m.deleted = 0"                          \
    " ORDER BY 1, 2"
#define SRM_SQL_REPORT_OUTCOMES_BY_NETWORK                                    \
    "SELECT coalesce(network, '-'), count(*), total(value) FROM outcomes"     \
    " WHERE at >= :from GROUP BY 1 ORDER BY 1"
#define SRM_SQL_REPORT_OUTCOMES_BY_SOURCE                                     \
    "SELECT coalesce(s.name, '-'), count(*), total(o.value) FROM outcomes o"  \
    " LEFT JOIN sources s ON s.id = o.source_id"                              \
    " WHERE o.at >= :from GROUP BY 1 ORDER BY 1"
#define SRM_SQL_REPORT_OUTCOMES_BY_MEMBER                                     \
    "SELECT coalesce(mb.user, '-'), count(*), total(o.value) FROM outcomes o" \
    " LEFT JOIN members mb ON mb.id = o.member_id"                            \
    " WHERE o.at >= :from GROUP BY 1 ORDER BY 1"
#define SRM_SQL_REPORT_OUTCOMES_BY_KIND                                       \
    "SELECT kind, count(*), total(value) FROM outcomes"                       \
    " WHERE at >= :from GROUP BY 1 ORDER BY 1"

/* X(NAME) for each statement SRM_SQL_NAME defined here. */
#define SRM_SQL_INBOX_STATEMENTS(X)                                           \
    X(INBOX_ITEM) X(INBOX_LIST) X(INBOX_SEARCH) X(INBOX_SNIPPETS)             \
    X(INBOX_DETAIL)                                                           \
    X(INBOX_PERSON_IDENTITIES) X(INBOX_STATE)                                 \
    X(INBOX_MEMBER_ENSURE) X(INBOX_MEMBER_ID) X(INBOX_MEMBER_ACTIVE)          \
    X(INBOX_VOICES) X(INBOX_CLAIM) X(INBOX_ASSIGN) X(INBOX_ROUTE)             \
    X(INBOX_SET_STATUS) X(INBOX_REPLIED) X(INBOX_ROUTE_FACTS)                 \
    X(INBOX_OWNED_NEW)                                                        \
    X(INBOX_PERSON_TAGS) X(INBOX_REPLY_INTERACTION) X(INBOX_PERSON_TOUCH)     \
    X(INBOX_AUDIT) X(INBOX_HISTORY)                                           \
    X(INBOX_PERSON_EXISTS) X(INBOX_PERSON_BY_HANDLE) X(INBOX_PERSON_LATEST)   \
    X(INBOX_OUTCOME_INSERT)                                                   \
    X(REPORT_BY_NETWORK) X(REPORT_BY_DAY) X(REPORT_REPLY_RATE)                \
    X(REPORT_FIRST_RESPONSE) X(REPORT_OUTCOMES_BY_NETWORK)                    \
    X(REPORT_OUTCOMES_BY_SOURCE) X(REPORT_OUTCOMES_BY_MEMBER)                 \
    X(REPORT_OUTCOMES_BY_KIND)

#endif
