/* gen_pages.c - the pages srmd's testnet connector reads, pre-generated as
 * files for a static web server (bench/ingest/run serves them with nginx).
 *
 *   gen_pages [--rows N] [--page-size P] [--authors A] DIR
 *
 * Writes DIR/a.json (the first page: testnet asks for "?after=") and
 * DIR/a<K>.json (the page after cursor K), each
 *   {"items": [{"id", "author", "name", "text", "created_at"}...],
 *    "next": "<K>" | null}
 * in tests/testnet/testnet.c's format. The rows are bench_rows.h's, the
 * same ones sqlite_limit inserts. The last page has "next": null, so the
 * pass ends after it. Prints the number of pages and bytes written. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_rows.h"

static void gp_usage(void)
{
    fprintf(stderr,
            "usage: gen_pages [--rows N] [--page-size P] [--authors A] DIR\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int64_t rows = 1000000, page = 1000, authors = 1000, bytes = 0, pages = 0;
    const char *dir = NULL;
    char path[4096], text[512];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
            rows = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--page-size") == 0 && i + 1 < argc)
            page = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--authors") == 0 && i + 1 < argc)
            authors = strtoll(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && dir == NULL)
            dir = argv[i];
        else
            gp_usage();
    }
    if (dir == NULL || rows <= 0 || page <= 0 || authors <= 0)
        gp_usage();

    for (int64_t start = 0; start < rows; start += page) {
        int64_t end = start + page < rows ? start + page : rows;
        FILE *f;

        if (start == 0)
            snprintf(path, sizeof(path), "%s/a.json", dir);
        else
            snprintf(path, sizeof(path), "%s/a%" PRId64 ".json", dir, start);
        f = fopen(path, "w");
        if (f == NULL) {
            fprintf(stderr, "gen_pages: %s: %s\n", path, strerror(errno));
            return 1;
        }
        fputs("{\"items\": [", f);
        for (int64_t i = start; i < end; i++) {
            bench_text(i, text, sizeof(text));
            fprintf(f,
                    "%s{\"id\": \"bench:%" PRId64 "\", \"author\": \"user%"
                    PRId64 "\", \"name\": \"User %" PRId64 "\", \"text\": "
                    "\"%s\", \"created_at\": %" PRId64 "}",
                    i > start ? ", " : "", i, i % authors, i % authors, text,
                    (int64_t)1700000000 + i);
        }
        if (end < rows)
            fprintf(f, "], \"next\": \"%" PRId64 "\"}\n", end);
        else
            fputs("], \"next\": null}\n", f);
        bytes += ftell(f);
        pages++;
        if (fclose(f) != 0) {
            fprintf(stderr, "gen_pages: %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    printf("{\"pages\": %" PRId64 ", \"bytes\": %" PRId64 "}\n", pages, bytes);
    return 0;
}
