/* vcard.h - contacts to import, from vCard 3.0/4.0 (this file) or CSV
 * (csv.h), and vCard text for export. Pure: no I/O, any thread.
 *
 * A malformed line is reported with its line number (1-based, the line a
 * card, property or CSV record starts on) and skipped; everything else is
 * imported. */
#ifndef SRM_DAEMON_VCARD_H
#define SRM_DAEMON_VCARD_H

#include <stddef.h>

/* One contact. Strings are owned by the import. */
struct srm_contact_rec {
    unsigned line;       /* where its card or row starts */
    char *name;          /* FN (or N as "Given Family"), or NULL */
    char **emails;
    size_t n_emails;
    char **urls;         /* URL, X-SOCIALPROFILE */
    size_t n_urls;
    char **keys;         /* "network:remote_id" (X-SRMD-IDENTITY) */
    size_t n_keys;
    char **impps;        /* IMPP values, "scheme:address" */
    size_t n_impps;
    char *note;
    char *tags;          /* comma-separated (CATEGORIES) */
    char *uid;
};

struct srm_import_error {
    unsigned line;
    char *msg;
};

struct srm_import {
    struct srm_contact_rec *items;
    size_t n, cap;
    struct srm_import_error *errors;
    size_t n_errors, cap_errors;
};

/* Parse vCard text (2.1, 3.0 and 4.0 property syntax; folded lines; CRLF
 * or LF) into out (zeroed by the caller, or reused: entries are
 * appended). Never fails: problems become out->errors. */
void srm_vcard_parse(const char *text, size_t len, struct srm_import *out);
void srm_import_fini(struct srm_import *imp);

/* Internal to the parsers: add an error, a string to a list. */
void srm_import_error(struct srm_import *imp, unsigned line,
                      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void srm_import_push(char ***list, size_t *n, const char *s, size_t len);
struct srm_contact_rec *srm_import_new(struct srm_import *imp,
                                       unsigned line);
void srm_contact_rec_fini(struct srm_contact_rec *c);

/* A vCard value with \\, \n, \, and \; escaped (new string). */
char *srm_vcard_escape(const char *s);

#endif
