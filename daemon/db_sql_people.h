/* db_sql_people.h - SQL of the people area (identity resolution, notes,
 * tags, cadence, search, suggestions): schema version 2 and the named
 * statements, composed into db_sql.h's SRM_SQL_STATEMENTS.
 *
 * Optional filters are bound NULL when not given, so every query is a
 * constant. URLs are compared through SRM_SQL_PEOPLE_URL_(col): lower case,
 * without scheme and trailing slashes; the same expression is indexed. */
#ifndef SRM_DAEMON_DB_SQL_PEOPLE_H
#define SRM_DAEMON_DB_SQL_PEOPLE_H

/* A URL as compared: "https://Ada.example/" and "http://ada.example" are
 * the same page. */
#define SRM_SQL_PEOPLE_URL_(col)                                              \
    "rtrim(replace(replace(lower(" col "), 'https://', ''), 'http://', ''),"  \
    " '/')"

/* The part of a handle before '@' or the first '.', lower case:
 * "@ada@mastodon.social", "ada.bsky.social", "ada" all give "ada". */
#define SRM_SQL_PEOPLE_HKEY_(h)                                               \
    "lower(CASE WHEN instr(ltrim(" h ", '@'), '@') > 1"                       \
    " THEN substr(ltrim(" h ", '@'), 1, instr(ltrim(" h ", '@'), '@') - 1)"  \
    " WHEN instr(ltrim(" h ", '@'), '.') > 1"                                 \
    " THEN substr(ltrim(" h ", '@'), 1, instr(ltrim(" h ", '@'), '.') - 1)"  \
    " ELSE ltrim(" h ", '@') END)"

/* people.suggest's recency, kept per person (people.recency_sum): a
 * mention at time t adds 2^((t - SRM_PEOPLE_RANK_T0) / half-life), so that
 * at any later time now the sum times 2^(-(now - T0) / half-life) is the
 * sum over the person's mentions of 0.5^(age / half-life): every term
 * decays by the same factor, so the sum is updated by adding, and ordering
 * people by it orders them by recency at any time. T0 (2023-11-14) keeps
 * the terms inside a double's range until about 2060 (2^1023 at 39 years
 * of 14-day half-lives). Future-dated mentions (clock skew) count as of
 * when they were fetched. people_score.h holds the same constants. */
#define SRM_SQL_PEOPLE_RANK_T0 "1700000000"
#define SRM_SQL_PEOPLE_RANK_HALF_LIFE "1209600.0"
#define SRM_SQL_PEOPLE_RANK_TERM_(created, fetched)                           \
    "pow(2.0, (min(" created ", " fetched ") - " SRM_SQL_PEOPLE_RANK_T0       \
    ") / " SRM_SQL_PEOPLE_RANK_HALF_LIFE ")"
/* The ranking facts of a person recomputed from their rows (after a merge
 * or a split). Mentions above people_meta's ranked_mention_max are not
 * counted: SRM_SQL_PEOPLE_RANK_ADD adds them. "+m.status" keeps SQLite
 * from walking every replied mention (mentions_status) for each person:
 * the person's own mentions are far fewer. */
#define SRM_SQL_PEOPLE_RANK_SET_(t)                                           \
    " recency_sum = (SELECT sum(" SRM_SQL_PEOPLE_RANK_TERM_("m.created_at",  \
    "m.fetched_at") ") FROM identities i JOIN mentions m"                     \
    "  ON m.identity_id = i.id WHERE i.person_id = " t ".id"                  \
    "  AND m.deleted = 0 AND m.id <= (SELECT value FROM people_meta"          \
    "  WHERE key = 'ranked_mention_max')),"                                   \
    " followers_max = (SELECT max(followers) FROM identities"                 \
    "  WHERE person_id = " t ".id),"                                          \
    " answered = EXISTS (SELECT 1 FROM interactions WHERE person_id = "       \
    t ".id AND direction = 'out') OR EXISTS (SELECT 1 FROM identities i"      \
    "  JOIN mentions m ON m.identity_id = i.id WHERE i.person_id = " t ".id"  \
    "  AND +m.status = 'replied')"

/* When a person is due: the last interaction (or, never talked to, when
 * they were created) plus the cadence. Indexed. */
#define SRM_SQL_PEOPLE_DUE_AT_(t)                                             \
    "(coalesce(" t "last_interaction_at, " t "created_at) + "                 \
    t "cadence_days * 86400)"

#define SRM_SQL_PEOPLE_FTS_ROW_                                               \
    "SELECT p.id,"                                                            \
    " coalesce(p.display_name, '') || ' ' || coalesce((SELECT"                \
    "   group_concat(display_name, ' ') FROM identities"                      \
    "   WHERE person_id = p.id), ''),"                                        \
    " coalesce((SELECT group_concat(coalesce(handle, '') || ' ' ||"           \
    "   coalesce(email, ''), ' ') FROM identities"                            \
    "   WHERE person_id = p.id), ''),"                                        \
    " coalesce((SELECT group_concat(bio, ' ') FROM identities"                \
    "   WHERE person_id = p.id), ''),"                                        \
    " coalesce((SELECT group_concat(text, ' ') FROM notes"                    \
    "   WHERE person_id = p.id), ''),"                                        \
    " coalesce((SELECT group_concat(tag, ' ') FROM person_tags"               \
    "   WHERE person_id = p.id), '')"                                         \
    " FROM people p"

/* Schema version 2:
 * - identity_evidence: every link between two identities with its kind,
 *   confidence and state (active, failing = stopped verifying);
 * - link_checks: srmd's own rel="me" verification of a profile's links;
 * - merges: every merge with what moved (detail), so a split undoes it;
 * - merge_blocks: identity pairs the team separated: never merged again
 *   automatically;
 * - people_fts: names, handles, bios, notes and tags per person;
 * - indexes for URL, handle and email matching, and for due lists. */
#define SRM_SQL_MIGRATION_2                                                   \
    "CREATE TABLE identity_evidence ("                                        \
    "  id INTEGER PRIMARY KEY,"                                               \
    "  a_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,"    \
    "  b_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,"    \
    "  kind TEXT NOT NULL,"                                                   \
    "  confidence REAL NOT NULL,"                                             \
    "  detail TEXT,"                                                          \
    "  state TEXT NOT NULL DEFAULT 'active'"                                  \
    "    CHECK (state IN ('active', 'failing')),"                             \
    "  created_at INTEGER NOT NULL,"                                          \
    "  checked_at INTEGER NOT NULL,"                                          \
    "  CHECK (a_id < b_id),"                                                  \
    "  UNIQUE (a_id, b_id, kind)"                                             \
    ");"                                                                      \
    "CREATE INDEX identity_evidence_b ON identity_evidence(b_id);"            \
    "CREATE TABLE link_checks ("                                              \
    "  identity_id INTEGER NOT NULL"                                          \
    "    REFERENCES identities(id) ON DELETE CASCADE,"                        \
    "  url TEXT NOT NULL,"                                                    \
    "  status TEXT NOT NULL CHECK (status IN ('verified', 'failing',"         \
    "    'unverified')),"                                                     \
    "  checked_at INTEGER NOT NULL,"                                          \
    "  verified_at INTEGER,"                                                  \
    "  error TEXT,"                                                           \
    "  PRIMARY KEY (identity_id, url)"                                        \
    ") WITHOUT ROWID;"                                                        \
    "CREATE INDEX link_checks_url ON link_checks("                            \
    SRM_SQL_PEOPLE_URL_("url") ") WHERE status = 'verified';"                 \
    "CREATE INDEX link_checks_checked ON link_checks(checked_at);"            \
    "CREATE TABLE merges ("                                                   \
    "  id INTEGER PRIMARY KEY,"                                               \
    "  from_person INTEGER NOT NULL,"                                         \
    "  into_person INTEGER NOT NULL,"                                         \
    "  at INTEGER NOT NULL,"                                                  \
    "  member TEXT,"                                                          \
    "  reason TEXT NOT NULL,"                                                 \
    "  detail TEXT NOT NULL CHECK (json_valid(detail)),"                      \
    "  undone_at INTEGER"                                                     \
    ");"                                                                      \
    "CREATE INDEX merges_into ON merges(into_person, id);"                    \
    "CREATE TABLE merge_blocks ("                                             \
    "  a_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,"    \
    "  b_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,"    \
    "  at INTEGER NOT NULL,"                                                  \
    "  member TEXT,"                                                          \
    "  CHECK (a_id < b_id),"                                                  \
    "  PRIMARY KEY (a_id, b_id)"                                              \
    ") WITHOUT ROWID;"                                                        \
    "CREATE INDEX merge_blocks_b ON merge_blocks(b_id);"                      \
    "CREATE INDEX identity_links_url ON identity_links("                      \
    SRM_SQL_PEOPLE_URL_("url") ");"                                           \
    "CREATE INDEX identities_profile ON identities("                          \
    SRM_SQL_PEOPLE_URL_("profile_url") ");"                                   \
    "CREATE INDEX identities_hkey ON identities("                             \
    SRM_SQL_PEOPLE_HKEY_("handle") ");"                                       \
    "CREATE INDEX identities_seen ON identities(last_seen_at);"               \
    "CREATE INDEX people_due ON people(" SRM_SQL_PEOPLE_DUE_AT_("") ")"           \
    "  WHERE cadence_days IS NOT NULL;"                                       \
    "CREATE INDEX interactions_identity ON interactions(identity_id);"        \
    "CREATE VIRTUAL TABLE people_fts USING fts5("                             \
    "  names, handles, bios, notes, tags,"                                    \
    "  tokenize = 'unicode61 remove_diacritics 2'"                            \
    ");"                                                                      \
    "INSERT INTO people_fts (rowid, names, handles, bios, notes, tags) "      \
    SRM_SQL_PEOPLE_FTS_ROW_ ";"                                               \
    "PRAGMA user_version = 2;"

/* ---------------------------------------------------------------------
 * Full-text index of people: one row per person, rebuilt when its data
 * changes (the batch's people: identities seen at or after :now).
 */
#define SRM_SQL_PEOPLE_FTS_DELETE "DELETE FROM people_fts WHERE rowid = :id"
#define SRM_SQL_PEOPLE_FTS_INSERT                                             \
    "INSERT INTO people_fts (rowid, names, handles, bios, notes, tags) "      \
    SRM_SQL_PEOPLE_FTS_ROW_ " WHERE p.id = :id"
/* people.resolve rebuilds the whole index (rows written behind srmd's
 * back, e.g. with sqlite3 while it was stopped). */
#define SRM_SQL_PEOPLE_FTS_CLEAR "DELETE FROM people_fts"
#define SRM_SQL_PEOPLE_FTS_ALL                                                \
    "INSERT INTO people_fts (rowid, names, handles, bios, notes, tags) "      \
    SRM_SQL_PEOPLE_FTS_ROW_
#define SRM_SQL_PEOPLE_FTS_DELETE_SEEN                                        \
    "DELETE FROM people_fts WHERE rowid IN (SELECT person_id FROM"            \
    " identities WHERE last_seen_at >= :now)"
#define SRM_SQL_PEOPLE_FTS_INSERT_SEEN                                        \
    "INSERT INTO people_fts (rowid, names, handles, bios, notes, tags) "      \
    SRM_SQL_PEOPLE_FTS_ROW_                                                   \
    " WHERE p.id IN (SELECT person_id FROM identities"                        \
    " WHERE last_seen_at >= :now)"

/* ---------------------------------------------------------------------
 * Resolution.
 */
#define SRM_SQL_PEOPLE_IDENTITY                                               \
    "SELECT id, person_id, network, remote_id, handle, display_name,"         \
    " profile_url, email, " SRM_SQL_PEOPLE_HKEY_("handle") ","                \
    " handle IS NULL OR handle = remote_id"                                   \
    " FROM identities WHERE id = :id"
#define SRM_SQL_PEOPLE_IDENTITY_FIND                                          \
    "SELECT id FROM identities WHERE network = :network"                      \
    " AND remote_id = :remote_id"
/* Identities with the same email. */
#define SRM_SQL_PEOPLE_SAME_EMAIL                                             \
    "SELECT id FROM identities WHERE email = :email COLLATE NOCASE"           \
    " AND id <> :id"
/* The URLs :id claims and that are verified (column 1): by the network
 * (identity_links.verified_at) or by srmd (link_checks). */
#define SRM_SQL_PEOPLE_VERIFIED_CLAIMS                                        \
    "SELECT 0, url FROM identity_links WHERE identity_id = :id"               \
    " AND verified_at IS NOT NULL"                                            \
    " UNION SELECT 0, url FROM link_checks WHERE identity_id = :id"           \
    " AND status = 'verified'"
/* Identities whose profile page is :url. */
#define SRM_SQL_PEOPLE_BY_PROFILE                                             \
    "SELECT id FROM identities WHERE " SRM_SQL_PEOPLE_URL_("profile_url")     \
    " = " SRM_SQL_PEOPLE_URL_(":url") " AND id <> :id"
/* Identities that also hold a verified claim to :url. */
#define SRM_SQL_PEOPLE_CLAIMING                                               \
    "SELECT identity_id FROM identity_links WHERE "                           \
    SRM_SQL_PEOPLE_URL_("url") " = " SRM_SQL_PEOPLE_URL_(":url")              \
    " AND verified_at IS NOT NULL AND identity_id <> :id"                     \
    " UNION SELECT identity_id FROM link_checks WHERE "                       \
    SRM_SQL_PEOPLE_URL_("url") " = " SRM_SQL_PEOPLE_URL_(":url")              \
    " AND status = 'verified' AND identity_id <> :id"
/* Weak: the same handle on another network. */
#define SRM_SQL_PEOPLE_SAME_HANDLE                                            \
    "SELECT id FROM identities WHERE " SRM_SQL_PEOPLE_HKEY_("handle")         \
    " = :hkey AND network <> :network AND handle <> remote_id"                \
    " AND id <> :id"
/* Weak: the same display name and a shared (unverified) link. */
#define SRM_SQL_PEOPLE_NAME_WEBSITE                                           \
    "SELECT DISTINCT o.identity_id, mine.url FROM identity_links mine"        \
    " JOIN identity_links o ON " SRM_SQL_PEOPLE_URL_("o.url") " = "           \
    SRM_SQL_PEOPLE_URL_("mine.url")                                           \
    " JOIN identities oi ON oi.id = o.identity_id"                            \
    " WHERE mine.identity_id = :id AND o.identity_id <> :id"                  \
    " AND oi.display_name = :name COLLATE NOCASE"
#define SRM_SQL_PEOPLE_EVIDENCE_UPSERT                                        \
    "INSERT INTO identity_evidence (a_id, b_id, kind, confidence, detail,"    \
    " state, created_at, checked_at)"                                         \
    " VALUES (:a, :b, :kind, :confidence, :detail, 'active', :now, :now)"     \
    " ON CONFLICT (a_id, b_id, kind) DO UPDATE SET"                           \
    " confidence = excluded.confidence, detail = excluded.detail,"            \
    " state = 'active', checked_at = excluded.checked_at"
/* A link that stopped verifying: its evidence is flagged, not kept as if
 * nothing happened. */
#define SRM_SQL_PEOPLE_EVIDENCE_FLAG                                          \
    "UPDATE identity_evidence SET state = 'failing', checked_at = :now"       \
    " WHERE (a_id = :id OR b_id = :id) AND kind IN ('rel_me',"                \
    " 'shared_verified_link') AND state = 'active'"                           \
    " AND " SRM_SQL_PEOPLE_URL_("detail") " = " SRM_SQL_PEOPLE_URL_(":url")
#define SRM_SQL_PEOPLE_PERSON_OF                                              \
    "SELECT person_id FROM identities WHERE id = :id"
/* Whether the team separated any identity of :p from one of :q. */
#define SRM_SQL_PEOPLE_BLOCKED                                                \
    "SELECT 1 FROM merge_blocks b"                                            \
    " JOIN identities x ON x.id = b.a_id JOIN identities y ON y.id = b.b_id"  \
    " WHERE (x.person_id = :p AND y.person_id = :q)"                          \
    " OR (x.person_id = :q AND y.person_id = :p) LIMIT 1"
#define SRM_SQL_PEOPLE_UNBLOCK                                                \
    "DELETE FROM merge_blocks WHERE (a_id, b_id) IN (SELECT b.a_id, b.b_id"   \
    " FROM merge_blocks b"                                                    \
    " JOIN identities x ON x.id = b.a_id JOIN identities y ON y.id = b.b_id"  \
    " WHERE (x.person_id = :p AND y.person_id = :q)"                          \
    " OR (x.person_id = :q AND y.person_id = :p))"
#define SRM_SQL_PEOPLE_BLOCK_ADD                                              \
    "INSERT OR IGNORE INTO merge_blocks (a_id, b_id, at, member)"             \
    " SELECT min(x.id, y.id), max(x.id, y.id), :now, :member"                 \
    " FROM identities x, identities y"                                        \
    " WHERE x.person_id = :p AND y.person_id = :q"

/* ---------------------------------------------------------------------
 * Merge and split. :from's everything moves to :into; detail remembers
 * what moved so that a split can put it back.
 */
#define SRM_SQL_PEOPLE_MERGE_SNAPSHOT                                         \
    "SELECT json_object("                                                     \
    " 'person', json((SELECT json_object('id', id, 'display_name',"           \
    "   display_name, 'owner_id', owner_id, 'cadence_days', cadence_days,"   \
    "   'strength', strength, 'created_at', created_at, 'updated_at',"        \
    "   updated_at, 'name_from', name_from) FROM people WHERE id = :from)),"  \
    " 'into', json((SELECT json_object('display_name', display_name,"         \
    "   'owner_id', owner_id, 'cadence_days', cadence_days, 'strength',"      \
    "   strength, 'updated_at', updated_at, 'name_from', name_from)"          \
    "   FROM people WHERE id = :into)),"                                      \
    " 'identities', json((SELECT json_group_array(id) FROM identities"        \
    "   WHERE person_id = :from)),"                                           \
    " 'notes', json((SELECT json_group_array(id) FROM notes"                  \
    "   WHERE person_id = :from)),"                                           \
    " 'interactions', json((SELECT json_group_array(id) FROM interactions"    \
    "   WHERE person_id = :from)),"                                           \
    " 'outcomes', json((SELECT json_group_array(id) FROM outcomes"            \
    "   WHERE person_id = :from)),"                                           \
    " 'tags', json((SELECT json_group_array(tag) FROM person_tags"            \
    "   WHERE person_id = :from)),"                                           \
    " 'tags_added', json((SELECT json_group_array(tag) FROM person_tags"      \
    "   WHERE person_id = :from AND tag NOT IN (SELECT tag FROM person_tags"  \
    "   WHERE person_id = :into))))"
#define SRM_SQL_PEOPLE_MERGE_RECORD                                           \
    "INSERT INTO merges (from_person, into_person, at, member, reason,"       \
    " detail) VALUES (:from, :into, :now, :member, :reason, :detail)"
#define SRM_SQL_PEOPLE_MOVE_IDENTITIES                                        \
    "UPDATE identities SET person_id = :into WHERE person_id = :from"
#define SRM_SQL_PEOPLE_MOVE_NOTES                                             \
    "UPDATE notes SET person_id = :into WHERE person_id = :from"
#define SRM_SQL_PEOPLE_MOVE_INTERACTIONS                                      \
    "UPDATE interactions SET person_id = :into WHERE person_id = :from"
#define SRM_SQL_PEOPLE_MOVE_OUTCOMES                                          \
    "UPDATE outcomes SET person_id = :into WHERE person_id = :from"
#define SRM_SQL_PEOPLE_MOVE_TAGS                                              \
    "INSERT OR IGNORE INTO person_tags (person_id, tag)"                      \
    " SELECT :into, tag FROM person_tags WHERE person_id = :from"
/* The merged person keeps its own curated fields and takes the other's
 * where it has none; the shorter cadence wins. */
#define SRM_SQL_PEOPLE_MERGE_FIELDS                                           \
    "UPDATE people SET"                                                       \
    " display_name = coalesce(people.display_name, f.display_name),"          \
    " name_from = CASE WHEN people.display_name IS NULL THEN f.name_from"     \
    "  ELSE people.name_from END,"                                            \
    " owner_id = coalesce(people.owner_id, f.owner_id),"                      \
    " cadence_days = CASE WHEN people.cadence_days IS NULL"                   \
    "  THEN f.cadence_days WHEN f.cadence_days IS NULL"                       \
    "  THEN people.cadence_days"                                              \
    "  ELSE min(people.cadence_days, f.cadence_days) END,"                    \
    " strength = max(people.strength, f.strength), updated_at = :now"         \
    " FROM (SELECT * FROM people WHERE id = :from) AS f"                      \
    " WHERE people.id = :into"
#define SRM_SQL_PEOPLE_DELETE "DELETE FROM people WHERE id = :id"
/* last_interaction_at and last_mention_at from the rows themselves. */
#define SRM_SQL_PEOPLE_REFRESH_TIMES                                          \
    "UPDATE people SET last_interaction_at = (SELECT max(at) FROM"            \
    " interactions WHERE person_id = :id),"                                   \
    " last_mention_at = (SELECT max(m.created_at) FROM identities i"          \
    "  JOIN mentions m ON m.identity_id = i.id WHERE i.person_id = :id),"     \
    SRM_SQL_PEOPLE_RANK_SET_("people") " WHERE id = :id"
/* The latest merge into :p that brought identity :identity. */
#define SRM_SQL_PEOPLE_MERGE_FIND                                             \
    "SELECT id, from_person, detail FROM merges WHERE into_person = :p"       \
    " AND undone_at IS NULL AND EXISTS (SELECT 1 FROM"                        \
    " json_each(merges.detail, '$.identities') WHERE value = :identity)"      \
    " ORDER BY id DESC LIMIT 1"
/* Re-create the absorbed person, with its old id when still free. */
#define SRM_SQL_PEOPLE_RESTORE                                                \
    "INSERT INTO people (id, display_name, owner_id, cadence_days,"           \
    " strength, created_at, updated_at, name_from)"                           \
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM people WHERE id ="               \
    "  json_extract(:detail, '$.person.id')) THEN NULL"                       \
    "  ELSE json_extract(:detail, '$.person.id') END,"                        \
    " json_extract(:detail, '$.person.display_name'),"                        \
    " (SELECT id FROM members WHERE id ="                                     \
    "  json_extract(:detail, '$.person.owner_id')),"                          \
    " json_extract(:detail, '$.person.cadence_days'),"                        \
    " json_extract(:detail, '$.person.strength'),"                            \
    " json_extract(:detail, '$.person.created_at'),"                          \
    " json_extract(:detail, '$.person.updated_at'),"                          \
    " json_extract(:detail, '$.person.name_from')"
#define SRM_SQL_PEOPLE_RESTORE_IDENTITIES                                     \
    "UPDATE identities SET person_id = :new WHERE person_id = :p AND id IN"   \
    " (SELECT value FROM json_each(:detail, '$.identities'))"
#define SRM_SQL_PEOPLE_RESTORE_NOTES                                          \
    "UPDATE notes SET person_id = :new WHERE person_id = :p AND id IN"        \
    " (SELECT value FROM json_each(:detail, '$.notes'))"
#define SRM_SQL_PEOPLE_RESTORE_INTERACTIONS                                   \
    "UPDATE interactions SET person_id = :new WHERE person_id = :p AND id IN" \
    " (SELECT value FROM json_each(:detail, '$.interactions'))"
#define SRM_SQL_PEOPLE_RESTORE_OUTCOMES                                       \
    "UPDATE outcomes SET person_id = :new WHERE person_id = :p AND id IN"     \
    " (SELECT value FROM json_each(:detail, '$.outcomes'))"
#define SRM_SQL_PEOPLE_RESTORE_TAGS                                           \
    "INSERT OR IGNORE INTO person_tags (person_id, tag)"                      \
    " SELECT :new, value FROM json_each(:detail, '$.tags')"
#define SRM_SQL_PEOPLE_UNDO_TAGS                                              \
    "DELETE FROM person_tags WHERE person_id = :p AND tag IN"                 \
    " (SELECT value FROM json_each(:detail, '$.tags_added'))"
#define SRM_SQL_PEOPLE_UNDO_FIELDS                                            \
    "UPDATE people SET"                                                       \
    " display_name = json_extract(:detail, '$.into.display_name'),"           \
    " owner_id = (SELECT id FROM members WHERE id ="                          \
    "  json_extract(:detail, '$.into.owner_id')),"                            \
    " cadence_days = json_extract(:detail, '$.into.cadence_days'),"           \
    " strength = json_extract(:detail, '$.into.strength'),"                   \
    " updated_at = json_extract(:detail, '$.into.updated_at'),"               \
    " name_from = json_extract(:detail, '$.into.name_from')"                  \
    " WHERE id = :p"
#define SRM_SQL_PEOPLE_MERGE_UNDONE                                           \
    "UPDATE merges SET undone_at = :now WHERE id = :id"
/* A split without a merge to undo: the identity alone, with the exchanges
 * that went through it. */
#define SRM_SQL_PEOPLE_SPLIT_PERSON                                           \
    "INSERT INTO people (display_name, created_at, updated_at)"               \
    " SELECT coalesce(display_name, handle, remote_id), :now, :now"           \
    " FROM identities WHERE id = :identity"
#define SRM_SQL_PEOPLE_SPLIT_IDENTITY                                         \
    "UPDATE identities SET person_id = :new WHERE id = :identity"
#define SRM_SQL_PEOPLE_SPLIT_INTERACTIONS                                     \
    "UPDATE interactions SET person_id = :new WHERE identity_id = :identity"  \
    " AND person_id = :p"
#define SRM_SQL_PEOPLE_IDENTITY_COUNT                                         \
    "SELECT count(*) FROM identities WHERE person_id = :p"

/* ---------------------------------------------------------------------
 * Lookups for methods.
 */
#define SRM_SQL_PEOPLE_EXISTS "SELECT id FROM people WHERE id = :id"
/* PERSON as text: an identity's handle, remote id or profile URL. */
#define SRM_SQL_PEOPLE_BY_NAME                                                \
    "SELECT DISTINCT person_id FROM identities"                               \
    " WHERE handle = ltrim(:handle, '@') COLLATE NOCASE"                      \
    " OR handle = :handle COLLATE NOCASE OR remote_id = :handle"              \
    " OR " SRM_SQL_PEOPLE_URL_("profile_url") " = "                           \
    SRM_SQL_PEOPLE_URL_(":handle") " LIMIT 3"
#define SRM_SQL_PEOPLE_IDENTITY_BY_NAME                                       \
    "SELECT id FROM identities"                                               \
    " WHERE handle = ltrim(:handle, '@') COLLATE NOCASE"                      \
    " OR handle = :handle COLLATE NOCASE OR remote_id = :handle"              \
    " OR " SRM_SQL_PEOPLE_URL_("profile_url") " = "                           \
    SRM_SQL_PEOPLE_URL_(":handle") " LIMIT 3"
#define SRM_SQL_PEOPLE_IDENTITY_EXISTS                                        \
    "SELECT id FROM identities WHERE id = :id"
#define SRM_SQL_PEOPLE_MEMBER_BY_USER                                         \
    "SELECT id FROM members WHERE user = :user"

/* people.list: by id, keyset-paged; optional owner and tag filters. */
#define SRM_SQL_PEOPLE_LIST_COLS_                                             \
    "p.id, p.display_name, mb.user, p.cadence_days, p.last_interaction_at,"   \
    " p.last_mention_at, (SELECT count(*) FROM identities"                    \
    "  WHERE person_id = p.id),"                                              \
    " (SELECT group_concat(DISTINCT network) FROM identities"                 \
    "  WHERE person_id = p.id),"                                              \
    " (SELECT group_concat(tag) FROM person_tags WHERE person_id = p.id)"
#define SRM_SQL_PEOPLE_LIST                                                   \
    "SELECT " SRM_SQL_PEOPLE_LIST_COLS_ " FROM people p"                      \
    " LEFT JOIN members mb ON mb.id = p.owner_id"                             \
    " WHERE p.id > :after"                                                    \
    " AND (:owner IS NULL OR mb.user = :owner)"                               \
    " AND (:tag IS NULL OR EXISTS (SELECT 1 FROM person_tags t"               \
    "  WHERE t.person_id = p.id AND t.tag = :tag))"                           \
    " ORDER BY p.id LIMIT :limit"
/* people.search: bm25 with names and handles weighing most, then id;
 * keyset-paged on both. Ranking costs ~1.5 us a match, so a query that
 * matches more than SRM_PEOPLE_SEARCH_WINDOW people ranks the most
 * recently added that many (FTS5 walks matches by rowid, newest first,
 * and stops), as mentions.search does with the newest mentions: "mar*"
 * in 200,000 people matches 12,500 (37 ms to rank them all). The page is
 * chosen before the list columns are computed, for its rows alone. */
#define SRM_PEOPLE_SEARCH_WINDOW "2000"
#define SRM_SQL_PEOPLE_SEARCH                                                 \
    "SELECT " SRM_SQL_PEOPLE_LIST_COLS_ ", c.r FROM ("                        \
    "  SELECT id, r FROM ("                                                   \
    "    SELECT rowid AS id,"                                                 \
    "    srm_rank(people_fts, 10.0, 8.0, 2.0, 1.0, 4.0) AS r"                 \
    "    FROM people_fts WHERE people_fts MATCH :q"                           \
    "    ORDER BY rowid DESC LIMIT " SRM_PEOPLE_SEARCH_WINDOW ")"             \
    "  WHERE :c_rank IS NULL OR r > :c_rank OR (r = :c_rank AND id > :c_id)"  \
    "  ORDER BY r, id LIMIT :limit) c"                                        \
    " JOIN people p ON p.id = c.id"                                           \
    " LEFT JOIN members mb ON mb.id = p.owner_id"                             \
    " ORDER BY c.r, c.id"

/* people.show */
#define SRM_SQL_PEOPLE_SHOW                                                   \
    "SELECT p.id, p.display_name, mb.user, p.cadence_days, p.strength,"       \
    " p.last_interaction_at, p.last_mention_at, p.created_at, p.updated_at,"  \
    " CASE WHEN p.cadence_days IS NULL THEN NULL ELSE "                       \
    SRM_SQL_PEOPLE_DUE_AT_("p.") " END"                                             \
    " FROM people p LEFT JOIN members mb ON mb.id = p.owner_id"               \
    " WHERE p.id = :id"
#define SRM_SQL_PEOPLE_TAGS                                                   \
    "SELECT tag FROM person_tags WHERE person_id = :id ORDER BY tag"
#define SRM_SQL_PEOPLE_IDENTITIES                                             \
    "SELECT id, network, remote_id, handle, display_name, profile_url, bio,"  \
    " email, followers, following, posts, first_seen_at, last_seen_at"        \
    " FROM identities WHERE person_id = :id ORDER BY id"
#define SRM_SQL_PEOPLE_LINKS                                                  \
    "SELECT l.label, l.url, l.verified_at, c.status, c.checked_at,"           \
    " c.verified_at, c.error FROM identity_links l"                           \
    " LEFT JOIN link_checks c ON c.identity_id = l.identity_id"               \
    "  AND c.url = l.url"                                                     \
    " WHERE l.identity_id = :id ORDER BY l.url"
/* Evidence touching the person's identities: inside the person (why they
 * are one) and toward others (merge suggestions). */
#define SRM_SQL_PEOPLE_EVIDENCE                                               \
    "SELECT e.id, e.a_id, e.b_id, e.kind, e.confidence, e.detail, e.state,"   \
    " e.created_at, e.checked_at, ia.person_id, ib.person_id,"                \
    " ia.network || ':' || coalesce(ia.handle, ia.remote_id),"                \
    " ib.network || ':' || coalesce(ib.handle, ib.remote_id)"                 \
    " FROM identity_evidence e"                                               \
    " JOIN identities ia ON ia.id = e.a_id"                                   \
    " JOIN identities ib ON ib.id = e.b_id"                                   \
    " WHERE e.a_id IN (SELECT id FROM identities WHERE person_id = :id)"      \
    " UNION SELECT e.id, e.a_id, e.b_id, e.kind, e.confidence, e.detail,"     \
    " e.state, e.created_at, e.checked_at, ia.person_id, ib.person_id,"       \
    " ia.network || ':' || coalesce(ia.handle, ia.remote_id),"                \
    " ib.network || ':' || coalesce(ib.handle, ib.remote_id)"                 \
    " FROM identity_evidence e"                                               \
    " JOIN identities ia ON ia.id = e.a_id"                                   \
    " JOIN identities ib ON ib.id = e.b_id"                                   \
    " WHERE e.b_id IN (SELECT id FROM identities WHERE person_id = :id)"      \
    " ORDER BY 1"
/* The timeline: mentions, notes, interactions and outcomes, newest first
 * (at, then id): kind, id, at, network, text, member, extra, extra2. The
 * mentions come per identity, each read newest first from
 * mentions_identity and cut at :limit, and rpc_people.c merges them with
 * the rest: one statement over the person's every mention sorted them all
 * (60 ms for a person with 17,000). */
#define SRM_SQL_PEOPLE_TIMELINE_MENTIONS                                      \
    "SELECT 'mention', m.id, m.created_at, m.network, m.text, NULL, m.url,"   \
    " m.status FROM mentions m WHERE m.identity_id = :identity"               \
    " AND m.deleted = 0 ORDER BY m.created_at DESC, m.id DESC LIMIT :limit"
#define SRM_SQL_PEOPLE_TIMELINE                                               \
    "SELECT 'note', n.id, n.created_at, NULL, n.text, mb.user,"               \
    " NULL, NULL FROM notes n LEFT JOIN members mb ON mb.id = n.member_id"    \
    " WHERE n.person_id = :id"                                                \
    " UNION ALL SELECT 'interaction', x.id, x.at, x.network, x.summary,"      \
    " mb.user, x.direction, x.remote_id FROM interactions x"                  \
    " LEFT JOIN members mb ON mb.id = x.member_id WHERE x.person_id = :id"    \
    " UNION ALL SELECT 'outcome', o.id, o.at, o.network, o.note, mb.user,"    \
    " o.kind, o.value FROM outcomes o"                                        \
    " LEFT JOIN members mb ON mb.id = o.member_id WHERE o.person_id = :id"    \
    " ORDER BY 3 DESC, 2 DESC LIMIT :limit"
#define SRM_SQL_PEOPLE_MERGES_OF                                              \
    "SELECT id, from_person, into_person, at, member, reason, undone_at"      \
    " FROM merges WHERE into_person = :id OR from_person = :id ORDER BY id"

/* Notes, tags, owner, cadence, interactions. */
#define SRM_SQL_PEOPLE_NOTE_ADD                                               \
    "INSERT INTO notes (person_id, member_id, text, created_at)"              \
    " VALUES (:id, :member_id, :text, :now)"
#define SRM_SQL_PEOPLE_NOTE_EXISTS                                            \
    "SELECT 1 FROM notes WHERE person_id = :id AND text = :text"
#define SRM_SQL_PEOPLE_TAG_ADD                                                \
    "INSERT OR IGNORE INTO person_tags (person_id, tag) VALUES (:id, :tag)"
#define SRM_SQL_PEOPLE_TAG_REMOVE                                             \
    "DELETE FROM person_tags WHERE person_id = :id AND tag = :tag"
#define SRM_SQL_PEOPLE_SET_CADENCE                                            \
    "UPDATE people SET cadence_days = :cadence, updated_at = :now"            \
    " WHERE id = :id"
#define SRM_SQL_PEOPLE_SET_OWNER                                              \
    "UPDATE people SET owner_id = :owner_id, updated_at = :now"               \
    " WHERE id = :id"
#define SRM_SQL_PEOPLE_SET_NAME                                               \
    "UPDATE people SET display_name = :name, updated_at = :now"               \
    " WHERE id = :id"
#define SRM_SQL_PEOPLE_LOG_INTERACTION                                        \
    "INSERT INTO interactions (person_id, identity_id, member_id, network,"   \
    " direction, at, summary) VALUES (:id, (SELECT id FROM identities"        \
    " WHERE person_id = :id AND network = :network ORDER BY last_seen_at"     \
    " DESC LIMIT 1), :member_id, :network, :direction, :at, :summary)"
#define SRM_SQL_PEOPLE_TOUCH                                                  \
    "UPDATE people SET last_interaction_at = :at WHERE id = :id"              \
    " AND (last_interaction_at IS NULL OR last_interaction_at < :at)"

/* Suggestions: a candidate's facts, all on the person row. */
#define SRM_SQL_PEOPLE_SUGGEST_FACTS                                          \
    "SELECT p.display_name, p.followers_max, p.answered,"                     \
    " p.last_interaction_at, mb.user,"                                        \
    " (SELECT network || ':' || coalesce(handle, remote_id) FROM identities"  \
    "  WHERE person_id = p.id ORDER BY followers DESC LIMIT 1),"              \
    " p.recency_sum, p.last_mention_at"                                       \
    " FROM people p LEFT JOIN members mb ON mb.id = p.owner_id"               \
    " WHERE p.id = :id"

/* Stay in touch: due people, most overdue first (people_due). */
#define SRM_SQL_PEOPLE_DUE                                                    \
    "SELECT p.id, p.display_name, p.cadence_days, p.last_interaction_at,"     \
    " p.created_at, mb.user, " SRM_SQL_PEOPLE_DUE_AT_("p.") " AS due_at"            \
    " FROM people p LEFT JOIN members mb ON mb.id = p.owner_id"               \
    " WHERE p.cadence_days IS NOT NULL AND "                                  \
    SRM_SQL_PEOPLE_DUE_AT_("p.") " <= :now"                                         \
    " AND (:owner IS NULL OR mb.user = :owner)"                               \
    " ORDER BY " SRM_SQL_PEOPLE_DUE_AT_("p.") ", p.id LIMIT :limit"
/* Active relationships per member: owned people with a cadence, or talked
 * to since :since. */
#define SRM_SQL_PEOPLE_LOAD                                                   \
    "SELECT mb.id, mb.user, count(p.id) FROM members mb"                      \
    " LEFT JOIN people p ON p.owner_id = mb.id"                               \
    "  AND (p.cadence_days IS NOT NULL OR p.last_interaction_at >= :since)"   \
    " WHERE mb.active = 1 GROUP BY mb.id ORDER BY count(p.id) DESC, mb.user"
/* A member's active people, least recently in touch first: who moves. */
#define SRM_SQL_PEOPLE_OWNED                                                  \
    "SELECT p.id, p.display_name FROM people p WHERE p.owner_id = :owner_id"  \
    " AND (p.cadence_days IS NOT NULL OR p.last_interaction_at >= :since)"    \
    " ORDER BY coalesce(p.last_interaction_at, 0), p.id LIMIT :limit"

/* Duplicates: weak evidence between different people, not separated. */
#define SRM_SQL_PEOPLE_DUPLICATES                                             \
    "SELECT e.kind, e.confidence, e.detail, ia.person_id, ib.person_id,"      \
    " pa.display_name, pb.display_name,"                                      \
    " ia.network || ':' || coalesce(ia.handle, ia.remote_id),"                \
    " ib.network || ':' || coalesce(ib.handle, ib.remote_id)"                 \
    " FROM identity_evidence e"                                               \
    " JOIN identities ia ON ia.id = e.a_id"                                   \
    " JOIN identities ib ON ib.id = e.b_id"                                   \
    " JOIN people pa ON pa.id = ia.person_id"                                 \
    " JOIN people pb ON pb.id = ib.person_id"                                 \
    " WHERE ia.person_id <> ib.person_id"                                     \
    " AND NOT EXISTS (SELECT 1 FROM merge_blocks b WHERE b.a_id = e.a_id"     \
    "  AND b.b_id = e.b_id)"                                                  \
    " ORDER BY e.confidence DESC, e.id LIMIT :limit"

/* Link verification: links no network verified, on identities with a
 * profile page, not checked since :before. */
#define SRM_SQL_PEOPLE_VERIFY_DUE                                             \
    "SELECT l.identity_id, l.url, i.profile_url FROM identity_links l"        \
    " JOIN identities i ON i.id = l.identity_id"                              \
    " LEFT JOIN link_checks c ON c.identity_id = l.identity_id"               \
    "  AND c.url = l.url"                                                     \
    " WHERE l.verified_at IS NULL AND i.profile_url IS NOT NULL"              \
    " AND (l.url LIKE 'http://%' OR l.url LIKE 'https://%')"                  \
    " AND (c.checked_at IS NULL OR c.checked_at < :before)"                   \
    " ORDER BY coalesce(c.checked_at, 0), l.identity_id LIMIT :limit"
#define SRM_SQL_PEOPLE_CHECK_GET                                              \
    "SELECT status FROM link_checks WHERE identity_id = :id AND url = :url"
#define SRM_SQL_PEOPLE_CHECK_SET                                              \
    "INSERT INTO link_checks (identity_id, url, status, checked_at,"          \
    " verified_at, error) VALUES (:id, :url, :status, :now,"                  \
    " CASE WHEN :status = 'verified' THEN :now END, :error)"                  \
    " ON CONFLICT (identity_id, url) DO UPDATE SET status = excluded.status," \
    " checked_at = excluded.checked_at, error = excluded.error,"               \
    " verified_at = coalesce(excluded.verified_at, verified_at)"
/* Identities with evidence to look at in a full pass: emails shared,
 * verified links, handles. */
#define SRM_SQL_PEOPLE_ALL_CANDIDATES                                         \
    "SELECT id FROM identities WHERE email IS NOT NULL"                       \
    " OR id IN (SELECT identity_id FROM identity_links)"                      \
    " OR (handle IS NOT NULL AND handle <> remote_id) ORDER BY id"

/* Import: matching an imported contact to people. */
#define SRM_SQL_PEOPLE_BY_EMAIL                                               \
    "SELECT person_id FROM identities WHERE email = :email COLLATE NOCASE"    \
    " LIMIT 1"
#define SRM_SQL_PEOPLE_BY_URL                                                 \
    "SELECT person_id FROM identities WHERE "                                 \
    SRM_SQL_PEOPLE_URL_("profile_url") " = " SRM_SQL_PEOPLE_URL_(":url")      \
    " UNION ALL SELECT i.person_id FROM identity_links l"                     \
    " JOIN identities i ON i.id = l.identity_id WHERE "                       \
    SRM_SQL_PEOPLE_URL_("l.url") " = " SRM_SQL_PEOPLE_URL_(":url")            \
    " LIMIT 1"
#define SRM_SQL_PEOPLE_BY_KEY                                                 \
    "SELECT person_id FROM identities WHERE network = :network"               \
    " AND remote_id = :remote_id"
/* A name from an imported card is the team's: the config's name: does
 * not replace it. */
#define SRM_SQL_PEOPLE_NEW                                                    \
    "INSERT INTO people (display_name, created_at, updated_at, name_from)"    \
    " VALUES (:name, :now, :now, CASE WHEN :name IS NOT NULL THEN 'team'"     \
    " END)"
#define SRM_SQL_PEOPLE_IDENTITY_ADD                                           \
    "INSERT INTO identities (person_id, network, remote_id, handle,"          \
    " display_name, profile_url, email, first_seen_at, last_seen_at)"         \
    " VALUES (:person_id, :network, :remote_id, :handle, :name, :url,"        \
    " :email, :now, :now) ON CONFLICT (network, remote_id) DO NOTHING"
#define SRM_SQL_PEOPLE_LINK_ADD                                               \
    "INSERT OR IGNORE INTO identity_links (identity_id, label, url)"          \
    " VALUES (:id, :label, :url)"

/* Export. */
#define SRM_SQL_PEOPLE_EXPORT                                                 \
    "SELECT p.id, p.display_name, mb.user, p.cadence_days,"                   \
    " (SELECT group_concat(tag, ',') FROM person_tags"                        \
    "  WHERE person_id = p.id),"                                              \
    " (SELECT json_group_array(text) FROM notes WHERE person_id = p.id),"     \
    " (SELECT json_group_array(json_object('network', network,"               \
    "  'remote_id', remote_id, 'handle', handle, 'profile_url',"              \
    "  profile_url, 'email', email, 'display_name', display_name))"           \
    "  FROM identities WHERE person_id = p.id)"                               \
    " FROM people p LEFT JOIN members mb ON mb.id = p.owner_id"               \
    " WHERE p.id > :after ORDER BY p.id LIMIT :limit"
#define SRM_SQL_PEOPLE_EXPORT_MENTIONS                                        \
    "SELECT m.id, m.network, m.remote_id, i.person_id,"                       \
    " i.network || ':' || coalesce(i.handle, i.remote_id), m.text, m.url,"    \
    " m.created_at, m.status FROM mentions m"                                 \
    " LEFT JOIN identities i ON i.id = m.identity_id"                         \
    " WHERE m.id > :after ORDER BY m.id LIMIT :limit"

/* ---------------------------------------------------------------------
 * people.suggest's ranking facts, kept up to date per ingest batch: the
 * mentions stored since ranked_mention_max (the batch's, or rows written
 * behind srmd's back) are added to their people, in one statement.
 */
#define SRM_SQL_PEOPLE_RANK_MARK                                              \
    "SELECT value, (SELECT coalesce(max(id), 0) FROM mentions)"               \
    " FROM people_meta WHERE key = 'ranked_mention_max'"
#define SRM_SQL_PEOPLE_RANK_ADD                                               \
    "UPDATE people SET recency_sum = coalesce(recency_sum, 0) + r.s,"         \
    " last_mention_at = max(coalesce(last_mention_at, 0), r.last),"          \
    " answered = max(answered, r.replied)"                                    \
    " FROM (SELECT i.person_id AS pid, sum("                                  \
    SRM_SQL_PEOPLE_RANK_TERM_("m.created_at", "m.fetched_at") ") AS s,"       \
    "  max(m.created_at) AS last, max(m.status = 'replied') AS replied"       \
    "  FROM mentions m JOIN identities i ON i.id = m.identity_id"             \
    "  WHERE m.id > :after AND m.id <= :upto AND m.deleted = 0"               \
    "  GROUP BY i.person_id) AS r WHERE people.id = r.pid"
/* The same for one person, from sums the writer added up as it inserted
 * the rows (rankacc.h). */
#define SRM_SQL_PEOPLE_RANK_PERSON                                            \
    "UPDATE people SET recency_sum = coalesce(recency_sum, 0) + :sum,"        \
    " last_mention_at = max(coalesce(last_mention_at, 0), :last)"             \
    " WHERE id = :id"
#define SRM_SQL_PEOPLE_RANK_MARK_SET                                          \
    "UPDATE people_meta SET value = :upto WHERE key = 'ranked_mention_max'"
/* people.suggest reads people in descending recency and, alongside, in
 * descending reach; it stops when nobody unread can beat the last of its
 * page (rpc_people.c). */
#define SRM_SQL_PEOPLE_BY_RECENCY                                             \
    "SELECT id, recency_sum FROM people WHERE recency_sum IS NOT NULL"        \
    " ORDER BY recency_sum DESC"
#define SRM_SQL_PEOPLE_BY_REACH                                               \
    "SELECT id, followers_max FROM people WHERE followers_max IS NOT NULL"    \
    " ORDER BY followers_max DESC"
/* How often they mentioned us in the window and the last 30 days: the
 * index (identity_id, created_at) alone, deleted mentions included. */
#define SRM_SQL_PEOPLE_SUGGEST_COUNTS                                         \
    "SELECT count(*), count(*) FILTER (WHERE m.created_at >= :since30),"      \
    " max(m.created_at) FROM identities i JOIN mentions m"                    \
    " ON m.identity_id = i.id WHERE i.person_id = :id"                        \
    " AND m.created_at >= :since"

/* ---------------------------------------------------------------------
 * Explicit links (srmd.yaml's people:). An identity of NETWORK is named
 * by its remote id, handle, email or profile URL, in that order of
 * preference: the best kind of match wins, two identities matching the
 * same way are ambiguous (people.c logs it and links neither).
 */
#define SRM_SQL_PEOPLE_LINK_RESOLVE                                           \
    "SELECT id, 1 FROM identities WHERE network = :network"                   \
    " AND remote_id = :value"                                                 \
    " UNION ALL SELECT id, 2 FROM identities"                                 \
    " WHERE handle = :value COLLATE NOCASE AND network = :network"            \
    " UNION ALL SELECT id, 3 FROM identities"                                 \
    " WHERE email = :value COLLATE NOCASE AND network = :network"             \
    " UNION ALL SELECT id, 4 FROM identities WHERE "                          \
    SRM_SQL_PEOPLE_URL_("profile_url") " = " SRM_SQL_PEOPLE_URL_(":value")    \
    " AND network = :network ORDER BY 2, 1 LIMIT 2"
#define SRM_SQL_PEOPLE_EVIDENCE_STATE                                         \
    "SELECT state FROM identity_evidence WHERE a_id = :a AND b_id = :b"       \
    " AND kind = 'config'"
/* Config evidence in force, to withdraw what the config no longer says. */
#define SRM_SQL_PEOPLE_CONFIG_EVIDENCE                                        \
    "SELECT e.id, e.a_id, e.b_id,"                                            \
    " ia.network || ':' || coalesce(ia.handle, ia.remote_id),"                \
    " ib.network || ':' || coalesce(ib.handle, ib.remote_id)"                 \
    " FROM identity_evidence e"                                               \
    " JOIN identities ia ON ia.id = e.a_id"                                   \
    " JOIN identities ib ON ib.id = e.b_id"                                   \
    " WHERE e.kind = 'config' AND e.state = 'active'"
#define SRM_SQL_PEOPLE_EVIDENCE_WITHDRAW                                      \
    "UPDATE identity_evidence SET state = 'withdrawn', checked_at = :now"     \
    " WHERE id = :id"
/* The config's name: replaces a name taken from an identity (name_from
 * NULL) or an earlier config name, never one the team gave. */
#define SRM_SQL_PEOPLE_CONFIG_NAME                                            \
    "UPDATE people SET display_name = :name, name_from = 'config',"           \
    " updated_at = :now WHERE id = :id"                                       \
    " AND (name_from IS NULL OR name_from = 'config')"                        \
    " AND display_name IS NOT :name"

/* The ranking facts of people.suggest, kept on the person row so that a
 * call reads a few dozen people instead of every mention of 90 days (0.3
 * s to minutes at 1,000,000 mentions):
 * - recency_sum (above), added per ingest batch for the mentions above
 *   people_meta.ranked_mention_max (SRM_SQL_PEOPLE_RANK_ADD), taken off
 *   when a mention is deleted (trigger);
 * - followers_max, the largest audience of their identities (triggers on
 *   identities: a new identity, a changed count);
 * - answered: the team wrote to them (an 'out' interaction) or replied to
 *   one of their mentions (triggers on interactions and mentions.status;
 *   never reset by later status changes: an answer stays given).
 * Each has an index suggest reads in descending order. Merges and splits
 * recompute their people (SRM_SQL_PEOPLE_REFRESH_TIMES). The triggers fire
 * on rare events only (a new identity, a changed follower count, a status
 * change, a deletion): a mention insert, ingest's hot path, fires none. */
#define SRM_SQL_PEOPLE_RANK_SCHEMA_                                           \
    "ALTER TABLE people ADD COLUMN recency_sum REAL;"                         \
    "ALTER TABLE people ADD COLUMN followers_max INTEGER;"                    \
    "ALTER TABLE people ADD COLUMN answered INTEGER NOT NULL DEFAULT 0;"      \
    "CREATE TABLE people_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)" \
    "  WITHOUT ROWID;"                                                        \
    "INSERT INTO people_meta (key, value) SELECT 'ranked_mention_max',"       \
    "  coalesce(max(id), 0) FROM mentions;"                                   \
    "UPDATE people SET recency_sum = r.s FROM (SELECT i.person_id AS pid,"    \
    "  sum(" SRM_SQL_PEOPLE_RANK_TERM_("m.created_at", "m.fetched_at")        \
    ") AS s FROM mentions m JOIN identities i ON i.id = m.identity_id"       \
    "  WHERE m.deleted = 0 GROUP BY i.person_id) AS r"                        \
    "  WHERE people.id = r.pid;"                                              \
    "UPDATE people SET followers_max = r.f FROM (SELECT person_id AS pid,"    \
    "  max(followers) AS f FROM identities GROUP BY person_id) AS r"          \
    "  WHERE people.id = r.pid AND r.f IS NOT NULL;"                          \
    "UPDATE people SET answered = 1 WHERE id IN (SELECT person_id"            \
    "  FROM interactions WHERE direction = 'out') OR id IN (SELECT"           \
    "  i.person_id FROM mentions m JOIN identities i"                         \
    "  ON i.id = m.identity_id WHERE m.status = 'replied');"                  \
    "CREATE INDEX people_recency ON people(recency_sum)"                      \
    "  WHERE recency_sum IS NOT NULL;"                                        \
    "CREATE INDEX people_reach ON people(followers_max)"                      \
    "  WHERE followers_max IS NOT NULL;"                                      \
    "CREATE TRIGGER identities_reach_new AFTER INSERT ON identities"          \
    "  WHEN new.followers > 0 BEGIN"                                          \
    "  UPDATE people SET followers_max = new.followers"                       \
    "   WHERE id = new.person_id AND (followers_max IS NULL"                  \
    "   OR followers_max < new.followers); END;"                              \
    "CREATE TRIGGER identities_reach_changed AFTER UPDATE OF followers"       \
    "  ON identities WHEN new.followers IS NOT old.followers BEGIN"           \
    "  UPDATE people SET followers_max = (SELECT max(followers)"              \
    "   FROM identities WHERE person_id = new.person_id)"                     \
    "   WHERE id = new.person_id; END;"                                       \
    "CREATE TRIGGER interactions_answered AFTER INSERT ON interactions"       \
    "  WHEN new.direction = 'out' BEGIN"                                      \
    "  UPDATE people SET answered = 1 WHERE id = new.person_id"               \
    "   AND answered = 0; END;"                                               \
    "CREATE TRIGGER mentions_answered AFTER UPDATE OF status ON mentions"     \
    "  WHEN new.status = 'replied' BEGIN"                                     \
    "  UPDATE people SET answered = 1 WHERE id = (SELECT person_id"           \
    "   FROM identities WHERE id = new.identity_id) AND answered = 0; END;"   \
    "CREATE TRIGGER mentions_unranked AFTER UPDATE OF deleted ON mentions"    \
    "  WHEN new.deleted = 1 AND old.deleted = 0 AND new.id <= (SELECT value"  \
    "  FROM people_meta WHERE key = 'ranked_mention_max') BEGIN"              \
    "  UPDATE people SET recency_sum = max(0.0, recency_sum - "               \
    SRM_SQL_PEOPLE_RANK_TERM_("old.created_at", "old.fetched_at") ")"        \
    "   WHERE id = (SELECT person_id FROM identities"                         \
    "   WHERE id = new.identity_id); END;"

/* Version 6:
 * - identity_evidence.state may be 'withdrawn': config evidence of a link
 *   taken out of srmd.yaml. The CHECK is edited in place as migration 4
 *   does (https://sqlite.org/lang_altertable.html, "making other kinds of
 *   table schema changes"): it only widens what is accepted;
 * - people.name_from: who gave display_name: NULL an identity (ingest
 *   fills it), 'team' (an import), 'config' (srmd.yaml's name:);
 * - an index of config evidence, read at every start-up and reload;
 * - the ranking facts of people.suggest (SRM_SQL_PEOPLE_RANK_SCHEMA_);
 * - people_fts gets prefix indexes of 2 and 3 characters: "mar*" reads
 *   one doclist instead of merging every token that starts so (count 7 ->
 *   1 ms, ranking 12,500 matches 37 -> 23 ms on 200,000 people; version 7
 *   adds 4 to 6). Its rows are copied as they are. */
#define SRM_SQL_MIGRATION_6                                                   \
    "PRAGMA writable_schema = ON;"                                            \
    "UPDATE sqlite_schema SET sql = replace(sql,"                             \
    " 'CHECK (state IN (''active'', ''failing''))',"                          \
    " 'CHECK (state IN (''active'', ''failing'', ''withdrawn''))')"           \
    " WHERE type = 'table' AND name = 'identity_evidence';"                   \
    "PRAGMA writable_schema = OFF;"                                           \
    "ALTER TABLE people ADD COLUMN name_from TEXT"                            \
    "  CHECK (name_from IN ('team', 'config'));"                              \
    "CREATE INDEX identity_evidence_config ON identity_evidence(a_id, b_id)"  \
    "  WHERE kind = 'config';"                                                \
    SRM_SQL_PEOPLE_RANK_SCHEMA_                                               \
    "CREATE VIRTUAL TABLE people_fts_v6 USING fts5("                          \
    "  names, handles, bios, notes, tags,"                                    \
    "  tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'"            \
    ");"                                                                      \
    "INSERT INTO people_fts_v6 (rowid, names, handles, bios, notes, tags)"    \
    "  SELECT rowid, names, handles, bios, notes, tags FROM people_fts;"      \
    "DROP TABLE people_fts;"                                                  \
    "ALTER TABLE people_fts_v6 RENAME TO people_fts;"                         \
    "PRAGMA user_version = 6;"

/* Version 7: people_fts gets prefix indexes of 4, 5 and 6 characters as
 * well. FTS5 uses a prefix index only for a query prefix of exactly its
 * length; any other prefix merges the doclist of every token starting so:
 * "user12*" over 200,000 handles merged 11,111 of them (count 1.6 -> 0.7
 * ms, people.search 6.6 -> 3.0 ms). A prefix of 7 characters or more
 * matches few enough tokens to merge. The index grows from 9.4 to 16 MB
 * for 200,000 people; its rows are copied as they are. */
#define SRM_SQL_MIGRATION_7                                                   \
    "CREATE VIRTUAL TABLE people_fts_v7 USING fts5("                          \
    "  names, handles, bios, notes, tags,"                                    \
    "  tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4 5 6'"      \
    ");"                                                                      \
    "INSERT INTO people_fts_v7 (rowid, names, handles, bios, notes, tags)"    \
    "  SELECT rowid, names, handles, bios, notes, tags FROM people_fts;"      \
    "DROP TABLE people_fts;"                                                  \
    "ALTER TABLE people_fts_v7 RENAME TO people_fts;"                         \
    "PRAGMA user_version = 7;"

/* X(NAME) for each statement SRM_SQL_NAME defined here. */
/* Version 5: people.due reports each member's active relationships
 * (SRM_SQL_PEOPLE_LOAD: owned people with a cadence or talked to within
 * a year). With people_owner on owner_id alone that read every owned row:
 * 25 ms for two members owning 10,000 people each. With the two columns in
 * the index it is an index-only count. */
#define SRM_SQL_MIGRATION_5                                                   \
    "DROP INDEX people_owner;"                                                \
    "CREATE INDEX people_owner"                                               \
    "  ON people(owner_id, cadence_days, last_interaction_at);"               \
    "PRAGMA user_version = 5;"

#define SRM_SQL_PEOPLE_STATEMENTS(X)                                          \
    X(PEOPLE_FTS_DELETE) X(PEOPLE_FTS_INSERT) X(PEOPLE_FTS_DELETE_SEEN)       \
    X(PEOPLE_FTS_INSERT_SEEN) X(PEOPLE_FTS_CLEAR) X(PEOPLE_FTS_ALL)         \
    X(PEOPLE_IDENTITY) X(PEOPLE_IDENTITY_FIND)      \
    X(PEOPLE_SAME_EMAIL) X(PEOPLE_VERIFIED_CLAIMS) X(PEOPLE_BY_PROFILE)       \
    X(PEOPLE_CLAIMING) X(PEOPLE_SAME_HANDLE) X(PEOPLE_NAME_WEBSITE)           \
    X(PEOPLE_EVIDENCE_UPSERT) X(PEOPLE_EVIDENCE_FLAG) X(PEOPLE_PERSON_OF)     \
    X(PEOPLE_BLOCKED) X(PEOPLE_UNBLOCK) X(PEOPLE_BLOCK_ADD)                   \
    X(PEOPLE_MERGE_SNAPSHOT) X(PEOPLE_MERGE_RECORD)                           \
    X(PEOPLE_MOVE_IDENTITIES) X(PEOPLE_MOVE_NOTES)                            \
    X(PEOPLE_MOVE_INTERACTIONS) X(PEOPLE_MOVE_OUTCOMES) X(PEOPLE_MOVE_TAGS)   \
    X(PEOPLE_MERGE_FIELDS) X(PEOPLE_DELETE) X(PEOPLE_REFRESH_TIMES)           \
    X(PEOPLE_MERGE_FIND) X(PEOPLE_RESTORE) X(PEOPLE_RESTORE_IDENTITIES)       \
    X(PEOPLE_RESTORE_NOTES) X(PEOPLE_RESTORE_INTERACTIONS)                    \
    X(PEOPLE_RESTORE_OUTCOMES) X(PEOPLE_RESTORE_TAGS) X(PEOPLE_UNDO_TAGS)     \
    X(PEOPLE_UNDO_FIELDS) X(PEOPLE_MERGE_UNDONE) X(PEOPLE_SPLIT_PERSON)       \
    X(PEOPLE_SPLIT_IDENTITY) X(PEOPLE_SPLIT_INTERACTIONS)                     \
    X(PEOPLE_IDENTITY_COUNT) X(PEOPLE_EXISTS) X(PEOPLE_BY_NAME)               \
    X(PEOPLE_IDENTITY_BY_NAME) X(PEOPLE_IDENTITY_EXISTS)                      \
    X(PEOPLE_MEMBER_BY_USER) X(PEOPLE_LIST) X(PEOPLE_SEARCH) X(PEOPLE_SHOW)   \
    X(PEOPLE_TAGS) X(PEOPLE_IDENTITIES) X(PEOPLE_LINKS) X(PEOPLE_EVIDENCE)    \
    X(PEOPLE_TIMELINE) X(PEOPLE_TIMELINE_MENTIONS) X(PEOPLE_MERGES_OF)       \
    X(PEOPLE_NOTE_ADD)                                                        \
    X(PEOPLE_NOTE_EXISTS) X(PEOPLE_TAG_ADD) X(PEOPLE_TAG_REMOVE)              \
    X(PEOPLE_SET_CADENCE) X(PEOPLE_SET_OWNER) X(PEOPLE_SET_NAME)              \
    X(PEOPLE_LOG_INTERACTION) X(PEOPLE_TOUCH) X(PEOPLE_SUGGEST_FACTS)         \
    X(PEOPLE_SUGGEST_COUNTS) X(PEOPLE_BY_RECENCY) X(PEOPLE_BY_REACH)          \
    X(PEOPLE_RANK_MARK) X(PEOPLE_RANK_ADD) X(PEOPLE_RANK_MARK_SET)            \
    X(PEOPLE_RANK_PERSON)                                                     \
    X(PEOPLE_DUE) X(PEOPLE_LOAD) X(PEOPLE_OWNED)                              \
    X(PEOPLE_DUPLICATES) X(PEOPLE_VERIFY_DUE) X(PEOPLE_CHECK_GET)             \
    X(PEOPLE_CHECK_SET) X(PEOPLE_ALL_CANDIDATES) X(PEOPLE_BY_EMAIL)           \
    X(PEOPLE_BY_URL) X(PEOPLE_BY_KEY) X(PEOPLE_NEW) X(PEOPLE_IDENTITY_ADD)    \
    X(PEOPLE_LINK_ADD) X(PEOPLE_EXPORT) X(PEOPLE_EXPORT_MENTIONS)            \
    X(PEOPLE_LINK_RESOLVE) X(PEOPLE_EVIDENCE_STATE)                           \
    X(PEOPLE_CONFIG_EVIDENCE) X(PEOPLE_EVIDENCE_WITHDRAW)                     \
    X(PEOPLE_CONFIG_NAME)

#endif
