/* fuzz_rss.c - the rss connector on fuzzed feed bodies: one feed, passes
 * as fuzz_connector.c describes (RSS 2.0, Atom, RDF, charsets, dates). */
#include "mock_host.h"

const char fuzz_net_headers[] = "Content-Type: application/rss+xml\r\n";

void fuzz_net_setup(struct mock_host *m);
void fuzz_net_setup(struct mock_host *m)
{
    mock_cfg_set_list(m, "feeds", "https://feeds.example.test/feed.xml",
                      NULL);
    mock_cfg_set(m, "max_items", "50");
}
