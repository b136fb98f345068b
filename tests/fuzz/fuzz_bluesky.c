/* fuzz_bluesky.c - the bluesky connector on fuzzed XRPC answers, as
 * fuzz_connector.c describes. With a login, so the first request is
 * createSession (its JWTs are decoded), then search, notifications, both
 * contact lists and getProfiles for the accounts they named (seed
 * multi_profiles gets that far with good answers). */
#include "mock_host.h"

const char fuzz_net_headers[] =
    "Content-Type: application/json; charset=utf-8\r\n";

void fuzz_net_setup(struct mock_host *m);
void fuzz_net_setup(struct mock_host *m)
{
    mock_cfg_set_list(m, "query", "srmd", NULL);
    mock_cfg_set(m, "base_url", "https://public.example.test/");
    mock_cfg_set(m, "service", "https://pds.example.test");
    mock_cfg_set(m, "backfill", "3650d");
    mock_cfg_set(m, "notifications", "true");
    mock_cfg_set(m, "contacts", "both");
    mock_cfg_set(m, "identifier", "team.example.com");
    mock_cfg_set(m, "app_password", "abcd-efgh-ijkl-mnop");
}
