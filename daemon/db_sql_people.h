/* db_sql_people.h - SQL of the people area (identity resolution, notes,
 * tags, cadence, search, suggestions): schema version 2 and the named
 * statements, composed into db_sql.h's SRM_SQL_STATEMENTS. */
#ifndef SRM_DAEMON_DB_SQL_PEOPLE_H
#define SRM_DAEMON_DB_SQL_PEOPLE_H

#define SRM_SQL_MIGRATION_2 "PRAGMA user_version = 2;"

/* X(NAME) for each statement SRM_SQL_NAME defined here. */
#define SRM_SQL_PEOPLE_STATEMENTS(X)

#endif
