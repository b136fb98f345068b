/* csv.h - contacts from CSV (RFC 4180: commas, "quoted" fields with ""
 * inside, quoted line breaks). The first record is the header; columns are
 * recognised by name, case-insensitively: name / full name / display name
 * (or first name + last name), email* / e-mail*, url / website / homepage /
 * profile*, tags / categories / labels, note / notes, identity
 * ("network:remote_id"). Unknown columns are ignored. Pure. */
#ifndef SRM_DAEMON_CSV_H
#define SRM_DAEMON_CSV_H

#include <stddef.h>

#include "vcard.h"

/* Parse into out (see srm_vcard_parse). A record with more fields than the
 * header, a stray quote, an unterminated quoted field (the parser then
 * resumes on the next line), or a row with no name, email or URL is an
 * error with its line number. */
void srm_csv_parse(const char *text, size_t len, struct srm_import *out);

/* A CSV field, quoted when needed (new string). */
char *srm_csv_quote(const char *s);

#endif
