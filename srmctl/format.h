/* format.h - human output: aligned tables and readable times. */
#ifndef SRMCTL_FORMAT_H
#define SRMCTL_FORMAT_H

#include <stdio.h>
#include <time.h>

#include <jansson.h>

struct srmctl_table;

/* A table of ncols columns. headers (ncols strings, borrowed) may be NULL
 * for a table without a header row. */
struct srmctl_table *srmctl_table_create(size_t ncols,
                                         const char *const *headers);
/* Add a row of ncols cells (copied; NULL prints "-"). */
void srmctl_table_add(struct srmctl_table *t, const char *const *cells);
/* Print with each column as wide as its widest cell, two spaces apart;
 * the last column is not padded. */
void srmctl_table_print(const struct srmctl_table *t, FILE *out);
void srmctl_table_destroy(struct srmctl_table *t);

/* These write into buf (size n) and return it. */
/* Unix time v relative to now: "12s ago", "3m ago", "in 2m", "-" for null
 * or absent. */
char *srmctl_fmt_age(const json_t *v, time_t now, char *buf, size_t n);
/* Seconds as "45s", "5m", "1h30m", "2d"; "-" for null. */
char *srmctl_fmt_duration(const json_t *v, char *buf, size_t n);
/* Any scalar as text; arrays joined with ","; null or absent as "-". */
char *srmctl_fmt_value(const json_t *v, char *buf, size_t n);

#endif
