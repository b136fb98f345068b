/* db_sql_inbox.h - SQL of the team inbox (mentions, assignment, claims,
 * replies, outcomes, reports, audit): schema version 3 and the named
 * statements, composed into db_sql.h's SRM_SQL_STATEMENTS. */
#ifndef SRM_DAEMON_DB_SQL_INBOX_H
#define SRM_DAEMON_DB_SQL_INBOX_H

#define SRM_SQL_MIGRATION_3 "PRAGMA user_version = 3;"

/* X(NAME) for each statement SRM_SQL_NAME defined here. */
#define SRM_SQL_INBOX_STATEMENTS(X)

#endif
