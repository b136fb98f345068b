/* fuzz_github.c - the github connector on fuzzed REST answers (issue
 * search, notifications; Link and rate-limit headers), as
 * fuzz_connector.c describes. */
#include "mock_host.h"

const char fuzz_net_headers[] =
    "Content-Type: application/json; charset=utf-8\r\n";

void fuzz_net_setup(struct mock_host *m);
void fuzz_net_setup(struct mock_host *m)
{
    mock_cfg_set_list(m, "query", "srmd", NULL);
    mock_cfg_set(m, "base_url", "https://api.example.test/");
    mock_cfg_set(m, "token", "ghp_fuzz");
    mock_cfg_set(m, "notifications", "true");
    mock_cfg_set(m, "backfill", "3650d");
}
