/* db_sql.h - every SQL text the store runs, as named constants with named
 * parameters. Statements are prepared once per connection (db.c keeps them
 * in struct srm_db, indexed by enum srm_sql_id) and reset after each use;
 * nothing builds SQL at run time.
 *
 * Schema changes are new migration scripts appended to SRM_SQL_MIGRATIONS:
 * each runs in one transaction and ends by setting PRAGMA user_version.
 * Never edit a script that has shipped. docs/schema.md describes the tables. */
#ifndef SRM_DAEMON_DB_SQL_H
#define SRM_DAEMON_DB_SQL_H

#include "db_sql_inbox.h"
#include "db_sql_people.h"

/* ---------------------------------------------------------------------
 * Migrations. Version N is SRM_SQL_MIGRATIONS[N - 1].
 */
#define SRM_SQL_MIGRATION_1                                                   \
    "CREATE TABLE sources ("                                                  \
    "  id INTEGER PRIMARY KEY,"                                               \
    "  name TEXT NOT NULL UNIQUE,"                                            \
    "  plugin TEXT NOT NULL,"                                                 \
    "  state TEXT NOT NULL DEFAULT 'idle',"                                   \
    "  last_sync_at INTEGER,"                                                 \
    "  last_ok_at INTEGER,"                                                   \
    "  next_sync_at INTEGER,"                                                 \
    "  last_error TEXT,"                                                      \
    "  failures INTEGER NOT NULL DEFAULT 0,"                                  \
    "  passes INTEGER NOT NULL DEFAULT 0,"                                    \
    "  mentions_total INTEGER NOT NULL DEFAULT 0,"                            \
    "  identities_total INTEGER NOT NULL DEFAULT 0,"                          \
    "  contacts_total INTEGER NOT NULL DEFAULT 0,"                            \
    "  created_at INTEGER NOT NULL,"                                          \
    "  removed_at INTEGER"                                                    \
    ");"                                                                      \
    "CREATE TABLE cursors ("                                                  \
    "  source_id INTEGER NOT NULL"                                            \
    "    REFERENCES sources(id) ON DELETE CASCADE,"                           \
    "  key TEXT NOT NULL,"                                                    \
    "  value TEXT NOT NULL,"                                                  \
    "  updated_at INTEGER NOT NULL,"                                          \
    "  PRIMARY KEY (source_id, key)"                                          \
    ") WITHOUT ROWID;"                                                        \
    "CREATE TABLE http_validators ("                                          \
    "  url TEXT PRIMARY KEY,"                                                 \
    "  etag TEXT,"                                                            \
    "  last_modified TEXT,"                                                   \
    "  updated_at INTEGER NOT NULL"                                           \
    ") WITHOUT ROWID;"                                                        \
    "CREATE TABLE members ("                                                  \
    "  id INTEGER PRIMARY KEY,"                                               \
    "  user TEXT NOT NULL UNIQUE,"                                            \
    "  name TEXT,"                                                            \
    "  is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),"       \
    "  active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),"           \
    "  created_at INTEGER NOT NULL"                                           \
    ");"                                                                      \
    "CREATE TABLE people ("                                                   \
    "  id INTEGER PRIMARY KEY,"                                               \
    "  display_name TEXT,"                                                    \
    "  owner_id INTEGER REFERENCES members(id) ON DELETE SET NULL,"           \
    "  cadence_days INTEGER,"                                                 \
    "  strength REAL NOT NULL DEFAULT 0,"                                     \
    "  last_interaction_at INTEGER,"                                          \
    "  last_mention_at INTEGER,"                                              \
    "  created_at INTEGER NOT NULL,"                                          \
    "  updated_at INTEGER NOT NULL"                                           \
    ");"                                                                      \
    "CREATE INDEX people_owner ON people(owner_id);"                          \
    "CREATE INDEX people_last_interaction ON people(last_interaction_at);"    \
    "CREATE TABLE person_tags ("                                              \
    "  person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,"   \
    "  tag TEXT NOT NULL,"                                                    \
    "  PRIMARY KEY (person_id, tag)"                                          \
    ") WITHOUT ROWID;"                                                        \
    "CREATE INDEX person_tags_tag ON person_tags(tag, person_id);"            \
    "CREATE TABLE identities ("                                               \
    "  id INTEGER PRIMARY KEY,"                                               \
    "  person_id INTEGER NOT NULL REFERENCES people(id),"                     \
    "  network TEXT NOT NULL,"                                                \
    "  remote_id TEXT NOT NULL,"                                              \
    "  handle TEXT,"                                                          \
    "  display_name TEXT,"                                                    \
    "  profile_url TEXT,"                                                     \
    "  bio TEXT,"                                                             \
    "  avatar_url TEXT,"                                                      \
    "  email TEXT,"                                                           \
    "  followers INTEGER,"                                                    \
    "  following INTEGER,"                                                    \
    "  posts INTEGER,"                                                        \
    "  source_id INTEGER REFERENCES sources(id) ON DELETE SET NULL,"          \
    "  first_seen_at INTEGER NOT NULL,"                                       \
    "  last_seen_at INTEGER NOT NULL,"                                        \
    "  UNIQUE (network, remote_id)"                                           \
    ");"                                                                      \
    "CREATE INDEX identities_person ON identities(person_id);"                \
    "CREATE INDEX identities_handle ON identities(handle COLLATE NOCASE);"    \
    "CREATE INDEX identities_email ON identities(email COLLATE NOCASE)"       \
    "  WHERE email IS NOT NULL;"                                              \
    "CREATE TABLE identity_links ("                                           \
    "  identity_id INTEGER NOT NULL"                                          \
    "    REFERENCES identities(id) ON DELETE CASCADE,"                        \
    "  label TEXT,"                                                           \
    "  url TEXT NOT NULL,"                                                    \
    "  verified_at INTEGER,"                                                  \
    "  PRIMARY KEY (identity_id, url)"                                        \
    ") WITHOUT ROWID;"                                                        \
    "CREATE TABLE contacts ("                                                 \
    "  source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,"  \
    "  identity_id INTEGER NOT NULL"                                          \
    "    REFERENCES identities(id) ON DELETE CASCADE,"                        \
    "  relation TEXT NOT NULL CHECK (relation IN ('follower', 'following')),"\
    "  first_seen_at INTEGER NOT NULL,"                                       \
    "  last_seen_at INTEGER NOT NULL,"                                        \
    "  PRIMARY KEY (source_id, identity_id, relation)"                        \
    ") WITHOUT ROWID;"                                                        \
    "CREATE INDEX contacts_identity ON contacts(identity_id);"                \
    "CREATE TABLE mentions ("                                                 \
    "  id INTEGER PRIMARY KEY,"                                               \
    "  network TEXT NOT NULL,"                                                \
    "  remote_id TEXT NOT NULL,"                                              \
    "  source_id INTEGER REFERENCES sources(id) ON DELETE SET NULL,"          \
    "  identity_id INTEGER REFERENCES identities(id) ON DELETE SET NULL,"     \
    "  text TEXT NOT NULL DEFAULT '',"                                        \
    "  url TEXT,"                                                             \
    "  created_at INTEGER NOT NULL,"                                          \
    "  edited_at INTEGER,"                                                    \
    "  fetched_at INTEGER NOT NULL,"                                          \
    "  reply_to TEXT,"                                                        \
    "  matched TEXT,"                                                         \
    "  lang TEXT,"                                                            \
    "  visibility TEXT,"                                                      \
    "  context_title TEXT,"                                                   \
    "  context_url TEXT,"                                                     \
    "  reply_ref TEXT,"                                                       \
    "  flags INTEGER NOT NULL DEFAULT 0,"                                     \
    "  deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),"         \
    "  status TEXT NOT NULL DEFAULT 'new' CHECK (status IN"                   \
    "    ('new', 'assigned', 'replied', 'done', 'ignored')),"                 \
    "  assignee_id INTEGER REFERENCES members(id) ON DELETE SET NULL,"        \
    "  status_changed_at INTEGER,"                                            \
    "  UNIQUE (network, remote_id)"                                           \
    ");"                                                                      \
    "CREATE INDEX mentions_created ON mentions(created_at DESC);"             \
    "CREATE INDEX mentions_status"                                            \
    "  ON mentions(status, assignee_id, created_at DESC);"                    \
    "CREATE INDEX mentions_assignee ON mentions(assignee_id, status)"         \
    "  WHERE assignee_id IS NOT NULL;"                                        \
    "CREATE INDEX mentions_identity"                                          \
    "  ON mentions(identity_id, created_at DESC);"                            \
    "CREATE VIRTUAL TABLE mentions_fts USING fts5("                           \
    "  text, context_title,"                                                  \
    "  content = 'mentions', content_rowid = 'id',"                           \
    "  tokenize = 'unicode61 remove_diacritics 2'"                            \
    ");"                                                                      \
    "CREATE TABLE notes ("                                                    \
    "  id INTEGER PRIMARY KEY,"                                               \
    "  person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,"   \
    "  member_id INTEGER REFERENCES members(id) ON DELETE SET NULL,"          \
    "  text TEXT NOT NULL,"                                                   \
    "  created_at INTEGER NOT NULL"                                           \
    ");"                                                                      \
    "CREATE INDEX notes_person ON notes(person_id, created_at);"              \
    "CREATE TABLE interactions ("                                             \
    "  id INTEGER PRIMARY KEY,"                                               \
    "  person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,"   \
    "  identity_id INTEGER REFERENCES identities(id) ON DELETE SET NULL,"     \
    "  member_id INTEGER REFERENCES members(id) ON DELETE SET NULL,"          \
    "  network TEXT,"                                                         \
    "  remote_id TEXT,"                                                       \
    "  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),"           \
    "  at INTEGER NOT NULL,"                                                  \
    "  summary TEXT,"                                                         \
    "  mention_id INTEGER REFERENCES mentions(id) ON DELETE SET NULL,"        \
    "  source_id INTEGER REFERENCES sources(id) ON DELETE SET NULL,"          \
    "  UNIQUE (network, remote_id)"                                           \
    ");"                                                                      \
    "CREATE INDEX interactions_person ON interactions(person_id, at DESC);"   \
    "CREATE TABLE outcomes ("                                                 \
    "  id INTEGER PRIMARY KEY,"                                               \
    "  person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,"   \
    "  member_id INTEGER REFERENCES members(id) ON DELETE SET NULL,"          \
    "  kind TEXT NOT NULL CHECK (kind IN"                                     \
    "    ('lead', 'sale', 'feedback', 'advocate', 'support')),"               \
    "  value REAL,"                                                           \
    "  note TEXT,"                                                            \
    "  at INTEGER NOT NULL,"                                                  \
    "  network TEXT,"                                                         \
    "  source_id INTEGER REFERENCES sources(id) ON DELETE SET NULL"           \
    ");"                                                                      \
    "CREATE INDEX outcomes_person ON outcomes(person_id, at);"                \
    "CREATE INDEX outcomes_kind_at ON outcomes(kind, at);"                    \
    "CREATE TABLE audit ("                                                    \
    "  id INTEGER PRIMARY KEY,"                                               \
    "  at INTEGER NOT NULL,"                                                  \
    "  member TEXT,"                                                          \
    "  action TEXT NOT NULL,"                                                 \
    "  object_type TEXT,"                                                     \
    "  object_id INTEGER,"                                                    \
    "  detail TEXT CHECK (detail IS NULL OR json_valid(detail))"              \
    ");"                                                                      \
    "CREATE INDEX audit_object ON audit(object_type, object_id);"             \
    "CREATE INDEX audit_at ON audit(at);"                                     \
    "PRAGMA user_version = 1;"

/* Version 4: the same CHECK on mentions.status, written so that inserting
 * a row no longer costs a temporary table. SQLite evaluates "x IN (5
 * strings)" by building an ephemeral index of the strings for every row
 * inserted one statement at a time (as srmd inserts): that was a third of
 * a mention insert's CPU. "x = 'a' OR x = 'b' ..." accepts exactly the same
 * rows. A CHECK leaves the stored rows untouched, so the documented way to
 * change one is to edit its text in sqlite_schema (https://sqlite.org/
 * lang_altertable.html, "making other kinds of table schema changes");
 * the CREATE/DROP that follows bumps the schema cookie so every connection
 * reloads it. srm_db_open reopens its own connection after migrating. */
#define SRM_SQL_MIGRATION_4                                                   \
    "PRAGMA writable_schema = ON;"                                            \
    "UPDATE sqlite_schema SET sql = replace(sql,"                             \
    " 'CHECK (status IN    (''new'', ''assigned'', ''replied'',"              \
    " ''done'', ''ignored''))',"                                              \
    " 'CHECK (status = ''new'' OR status = ''assigned'' OR"                   \
    " status = ''replied'' OR status = ''done'' OR"                           \
    " status = ''ignored'')')"                                                \
    " WHERE type = 'table' AND name = 'mentions';"                            \
    "PRAGMA writable_schema = OFF;"                                           \
    "CREATE TABLE srm_schema_reload (x);"                                     \
    "DROP TABLE srm_schema_reload;"                                           \
    "PRAGMA user_version = 4;"

/* ---------------------------------------------------------------------
 * Connection-level statements.
 */
#define SRM_SQL_USER_VERSION "PRAGMA user_version"
#define SRM_SQL_WAL "PRAGMA journal_mode = WAL"
#define SRM_SQL_PRAGMAS "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON"
#define SRM_SQL_QUICK_CHECK "PRAGMA quick_check"
#define SRM_SQL_BEGIN "BEGIN IMMEDIATE"
#define SRM_SQL_COMMIT "COMMIT"
#define SRM_SQL_ROLLBACK "ROLLBACK"
#define SRM_SQL_SAVEPOINT "SAVEPOINT job"
#define SRM_SQL_RELEASE "RELEASE job"
#define SRM_SQL_ROLLBACK_TO "ROLLBACK TO job"

/* ---------------------------------------------------------------------
 * Sources, cursors, validators, members.
 */
#define SRM_SQL_SOURCE_ENSURE                                                 \
    "INSERT INTO sources (name, plugin, state, created_at)"                   \
    " VALUES (:name, :plugin, 'idle', :now)"                                  \
    " ON CONFLICT (name) DO UPDATE SET plugin = excluded.plugin,"             \
    "  removed_at = NULL,"                                                    \
    "  state = CASE WHEN removed_at IS NULL THEN state ELSE 'idle' END"       \
    " RETURNING id"
#define SRM_SQL_SOURCE_SET_STATE                                              \
    "UPDATE sources SET state = :state,"                                      \
    " last_sync_at = coalesce(:last_sync_at, last_sync_at),"                  \
    " last_ok_at = coalesce(:last_ok_at, last_ok_at),"                        \
    " next_sync_at = :next_sync_at, last_error = :last_error,"                \
    " failures = :failures, passes = passes + :pass"                          \
    " WHERE id = :id"
#define SRM_SQL_SOURCE_RETIRE                                                 \
    "UPDATE sources SET removed_at = :now, state = 'removed'"                 \
    " WHERE id = :id"
#define SRM_SQL_SOURCE_COUNTERS                                               \
    "UPDATE sources SET mentions_total = mentions_total + :mentions,"         \
    " identities_total = identities_total + :identities,"                     \
    " contacts_total = contacts_total + :contacts WHERE id = :id"
#define SRM_SQL_CURSORS_LOAD                                                  \
    "SELECT key, value FROM cursors WHERE source_id = :source_id"             \
    " ORDER BY key"
#define SRM_SQL_CURSOR_SET                                                    \
    "INSERT INTO cursors (source_id, key, value, updated_at)"                 \
    " VALUES (:source_id, :key, :value, :now)"                                \
    " ON CONFLICT (source_id, key) DO UPDATE SET value = excluded.value,"     \
    "  updated_at = excluded.updated_at"                                      \
    " WHERE value IS NOT excluded.value"
#define SRM_SQL_CURSOR_DELETE                                                 \
    "DELETE FROM cursors WHERE source_id = :source_id AND key = :key"
#define SRM_SQL_VALIDATORS_LOAD                                               \
    "SELECT url, etag, last_modified FROM http_validators ORDER BY url"
#define SRM_SQL_VALIDATOR_SET                                                 \
    "INSERT INTO http_validators (url, etag, last_modified, updated_at)"      \
    " VALUES (:url, :etag, :last_modified, :now)"                             \
    " ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,"                  \
    "  last_modified = excluded.last_modified,"                               \
    "  updated_at = excluded.updated_at"                                      \
    " WHERE etag IS NOT excluded.etag"                                        \
    "  OR last_modified IS NOT excluded.last_modified"
#define SRM_SQL_MEMBERS_DEACTIVATE "UPDATE members SET active = 0"
#define SRM_SQL_MEMBER_UPSERT                                                 \
    "INSERT INTO members (user, name, is_admin, active, created_at)"          \
    " VALUES (:user, :name, :is_admin, 1, :now)"                              \
    " ON CONFLICT (user) DO UPDATE SET name = excluded.name,"                 \
    "  is_admin = excluded.is_admin, active = 1"
#define SRM_SQL_MEMBER_FIND "SELECT id FROM members WHERE user = :user"
#define SRM_SQL_MEMBERS_SAVEPOINT "SAVEPOINT members"
#define SRM_SQL_MEMBERS_RELEASE "RELEASE members"
#define SRM_SQL_MEMBERS_ROLLBACK_TO "ROLLBACK TO members"
#define SRM_SQL_COUNTS                                                        \
    "SELECT (SELECT count(*) FROM mentions),"                                 \
    " (SELECT count(*) FROM mentions WHERE status = 'new' AND deleted = 0),"  \
    " (SELECT count(*) FROM people), (SELECT count(*) FROM identities)"

/* ---------------------------------------------------------------------
 * Ingest (srm_db_apply_batch).
 */
#define SRM_SQL_PERSON_INSERT                                                 \
    "INSERT INTO people (display_name, created_at, updated_at)"               \
    " VALUES (:display_name, :now, :now)"
/* A person created for an unknown author has no name yet: the first full
 * identity fills it. A name someone set is never overwritten. */
#define SRM_SQL_PERSON_FILL_NAME                                              \
    "UPDATE people SET display_name = :display_name, updated_at = :now"       \
    " WHERE id = :id AND display_name IS NULL"
#define SRM_SQL_PERSON_INTERACTION                                            \
    "UPDATE people SET last_interaction_at = :at WHERE id = :id"              \
    " AND (last_interaction_at IS NULL OR last_interaction_at < :at)"
#define SRM_SQL_IDENTITY_FIND                                                 \
    "SELECT id, person_id, handle, display_name, profile_url, bio, email,"    \
    " avatar_url, followers, following, posts, last_seen_at"                  \
    " FROM identities WHERE network = :network AND remote_id = :remote_id"
#define SRM_SQL_LINKS_OF                                                      \
    "SELECT url, coalesce(label, ''), coalesce(verified_at, 0)"               \
    " FROM identity_links WHERE identity_id = :identity_id ORDER BY url"
#define SRM_SQL_IDENTITY_INSERT                                               \
    "INSERT INTO identities (person_id, network, remote_id, handle,"          \
    " display_name, profile_url, bio, avatar_url, email, followers,"          \
    " following, posts, source_id, first_seen_at, last_seen_at)"              \
    " VALUES (:person_id, :network, :remote_id, :handle, :display_name,"      \
    " :profile_url, :bio, :avatar_url, :email, :followers, :following,"       \
    " :posts, :source_id, :now, :now)"
/* NULL (or a negative count) means "not in this record": keep what we had. */
#define SRM_SQL_IDENTITY_UPDATE                                               \
    "UPDATE identities SET handle = coalesce(:handle, handle),"               \
    " display_name = coalesce(:display_name, display_name),"                  \
    " profile_url = coalesce(:profile_url, profile_url),"                     \
    " bio = coalesce(:bio, bio),"                                             \
    " avatar_url = coalesce(:avatar_url, avatar_url),"                        \
    " email = coalesce(:email, email),"                                       \
    " followers = coalesce(:followers, followers),"                           \
    " following = coalesce(:following, following),"                           \
    " posts = coalesce(:posts, posts),"                                       \
    " last_seen_at = max(last_seen_at, :now)"                                 \
    " WHERE id = :id"
#define SRM_SQL_LINKS_CLEAR                                                   \
    "DELETE FROM identity_links WHERE identity_id = :identity_id"
#define SRM_SQL_LINK_INSERT                                                   \
    "INSERT OR REPLACE INTO identity_links (identity_id, label, url,"         \
    " verified_at) VALUES (:identity_id, :label, :url, :verified_at)"
#define SRM_SQL_MENTIONS_MAX_ID "SELECT coalesce(max(id), 0) FROM mentions"
#define SRM_SQL_MENTION_FIND                                                  \
    "SELECT id, text, edited_at, deleted FROM mentions"                       \
    " WHERE network = :network AND remote_id = :remote_id"
#define SRM_SQL_MENTION_INSERT                                                \
    "INSERT INTO mentions (network, remote_id, source_id, identity_id, text," \
    " url, created_at, edited_at, fetched_at, reply_to, matched, lang,"       \
    " visibility, context_title, context_url, reply_ref, flags, deleted)"     \
    " VALUES (:network, :remote_id, :source_id, :identity_id, :text, :url,"   \
    " :created_at, :edited_at, :now, :reply_to, :matched, :lang,"             \
    " :visibility, :context_title, :context_url, :reply_ref, :flags,"         \
    " :deleted) ON CONFLICT (network, remote_id) DO NOTHING"
/* An edit: content fields only. status, assignee and deleted stay. */
#define SRM_SQL_MENTION_UPDATE                                                \
    "UPDATE mentions SET text = :text,"                                       \
    " edited_at = coalesce(:edited_at, edited_at),"                           \
    " url = coalesce(:url, url),"                                             \
    " context_title = coalesce(:context_title, context_title),"               \
    " context_url = coalesce(:context_url, context_url),"                     \
    " lang = coalesce(:lang, lang),"                                          \
    " visibility = coalesce(:visibility, visibility),"                        \
    " reply_ref = coalesce(:reply_ref, reply_ref),"                           \
    " fetched_at = :now WHERE id = :id"
#define SRM_SQL_MENTION_MARK_DELETED                                          \
    "UPDATE mentions SET deleted = 1, flags = flags | :flags,"                \
    " fetched_at = :now WHERE id = :id AND deleted = 0"
/* External-content FTS5: the index holds what mentions held when it was
 * indexed, so an edit removes the old terms with the 'delete' command and
 * its exact old values before the new ones go in. */
#define SRM_SQL_FTS_DELETE                                                    \
    "INSERT INTO mentions_fts (mentions_fts, rowid, text, context_title)"     \
    " SELECT 'delete', id, text, context_title FROM mentions WHERE id = :id"
#define SRM_SQL_FTS_INSERT_ONE                                                \
    "INSERT INTO mentions_fts (rowid, text, context_title)"                   \
    " SELECT id, text, context_title FROM mentions WHERE id = :id"
/* The batch's new rows, indexed in one statement (3.5x faster than a
 * per-row trigger). */
#define SRM_SQL_FTS_INDEX_NEW                                                 \
    "INSERT INTO mentions_fts (rowid, text, context_title)"                   \
    " SELECT id, text, context_title FROM mentions WHERE id > :after"
/* The highest indexed rowid: FTS5 keeps one docsize row per indexed
 * document. */
#define SRM_SQL_FTS_MAX "SELECT coalesce(max(id), 0) FROM mentions_fts_docsize"
#define SRM_SQL_CONTACT_INSERT                                                \
    "INSERT OR IGNORE INTO contacts (source_id, identity_id, relation,"       \
    " first_seen_at, last_seen_at)"                                           \
    " VALUES (:source_id, :identity_id, :relation, :now, :now)"
#define SRM_SQL_CONTACT_SEEN                                                  \
    "UPDATE contacts SET last_seen_at = :now WHERE source_id = :source_id"    \
    " AND identity_id = :identity_id AND relation = :relation"                \
    " AND last_seen_at < :now"
/* interactions' UNIQUE (network, remote_id) lets NULLs differ, so entries
 * logged by hand without a remote_id never collide. */
#define SRM_SQL_INTERACTION_INSERT                                            \
    "INSERT OR IGNORE INTO interactions (person_id, identity_id, member_id,"  \
    " network, remote_id, direction, at, summary, source_id)"                 \
    " VALUES (:person_id, :identity_id, :member_id, :network, :remote_id,"    \
    " :direction, :at, :summary, :source_id)"

/* Every prepared statement: X(NAME) names SRM_SQL_NAME and SRM_STMT_NAME. */
#define SRM_SQL_CORE_STATEMENTS(X)                                            \
    X(USER_VERSION) X(QUICK_CHECK) X(BEGIN) X(COMMIT) X(ROLLBACK)             \
    X(SAVEPOINT) X(RELEASE) X(ROLLBACK_TO)                                    \
    X(SOURCE_ENSURE) X(SOURCE_SET_STATE) X(SOURCE_RETIRE)                     \
    X(SOURCE_COUNTERS) X(CURSORS_LOAD) X(CURSOR_SET) X(CURSOR_DELETE)         \
    X(VALIDATORS_LOAD) X(VALIDATOR_SET)                                       \
    X(MEMBERS_DEACTIVATE) X(MEMBER_UPSERT) X(MEMBER_FIND)                     \
    X(MEMBERS_SAVEPOINT) X(MEMBERS_RELEASE) X(MEMBERS_ROLLBACK_TO)            \
    X(COUNTS)                                                                 \
    X(PERSON_INSERT) X(PERSON_FILL_NAME) X(PERSON_INTERACTION)                \
    X(IDENTITY_FIND) X(IDENTITY_INSERT) X(IDENTITY_UPDATE)                    \
    X(LINKS_CLEAR) X(LINK_INSERT) X(LINKS_OF)                                 \
    X(MENTIONS_MAX_ID) X(MENTION_FIND) X(MENTION_INSERT) X(MENTION_UPDATE)    \
    X(MENTION_MARK_DELETED) X(FTS_DELETE) X(FTS_INSERT_ONE) X(FTS_INDEX_NEW)  \
    X(FTS_MAX)                                                                \
    X(CONTACT_INSERT) X(CONTACT_SEEN) X(INTERACTION_INSERT)

/* Every statement: the core's and each area's (their own headers). */
#define SRM_SQL_STATEMENTS(X)                                                 \
    SRM_SQL_CORE_STATEMENTS(X)                                                \
    SRM_SQL_PEOPLE_STATEMENTS(X)                                              \
    SRM_SQL_INBOX_STATEMENTS(X)

enum srm_sql_id {
#define SRM_SQL_ENUM_(name) SRM_STMT_##name,
    SRM_SQL_STATEMENTS(SRM_SQL_ENUM_)
#undef SRM_SQL_ENUM_
    SRM_STMT_COUNT_
};

#endif
