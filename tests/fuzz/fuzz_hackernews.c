/* fuzz_hackernews.c - the hackernews connector on fuzzed Algolia search
 * answers, as fuzz_connector.c describes. Two queries, so a pass makes at
 * least two requests; backfill reaches the 2023 fixtures. */
#include "mock_host.h"

const char fuzz_net_headers[] =
    "Content-Type: application/json; charset=utf-8\r\n";

void fuzz_net_setup(struct mock_host *m);
void fuzz_net_setup(struct mock_host *m)
{
    mock_cfg_set_list(m, "query", "srmd", "c++ daemon", NULL);
    mock_cfg_set(m, "base_url", "http://127.0.0.1:9/");
    mock_cfg_set(m, "backfill", "3650d");
}
