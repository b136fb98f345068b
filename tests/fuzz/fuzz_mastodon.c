/* fuzz_mastodon.c - the mastodon connector on fuzzed REST answers and
 * event-stream bodies, as fuzz_connector.c describes. Everything is on:
 * a token, a hashtag, notifications, both contact lists and the user
 * stream (opened after a pass that ends OK, so it gets the next part). */
#include "mock_host.h"

const char fuzz_net_headers[] =
    "Content-Type: application/json; charset=utf-8\r\n";

void fuzz_net_setup(struct mock_host *m);
void fuzz_net_setup(struct mock_host *m)
{
    mock_cfg_set(m, "base_url", "https://social.example.test/");
    mock_cfg_set(m, "token", "T0KEN");
    mock_cfg_set_list(m, "hashtags", "srmd", NULL);
    mock_cfg_set(m, "notifications", "true");
    mock_cfg_set(m, "contacts", "both");
    mock_cfg_set(m, "stream", "true");
}
