/* fuzz_html_text.c - srm_text_from_html() (daemon/html_text.h) on fuzzed
 * HTML. Checks: the result is a NUL-terminated string without leading or
 * trailing blanks (the header promises trimmed text). FUZZ_HTML_TRIM=0 in
 * the environment turns the trim check off, to hunt memory errors only
 * while a trim bug is open. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = srm_text_from_html((const char *)data, size);

    if (text == NULL) {
        fprintf(stderr, "fuzz_html_text: NULL without an allocation "
                        "failure\n");
        abort();
    }
    size_t n = strlen(text);
    static int trim_check = -1;
    if (trim_check < 0) {
        const char *e = getenv("FUZZ_HTML_TRIM");
        trim_check = e == NULL || strcmp(e, "0") != 0;
    }
    if (trim_check && n > 0 && (text[0] == ' ' || text[0] == '\n' || text[n - 1] == ' ' ||
                  text[n - 1] == '\n')) {
        fprintf(stderr, "fuzz_html_text: result not trimmed: [%s]\n", text);
        abort();
    }
    free(text);
    return 0;
}
