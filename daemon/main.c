/* main.c - srmd: command line, then the loop. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <sqlite3.h>
#include <libxml/parser.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "host_api.h"
#include "log.h"
#include "plugin_loader.h"

#ifndef SRM_DEFAULT_CONFIG
#define SRM_DEFAULT_CONFIG "/etc/srmd/srmd.yaml"
#endif

/* Exit statuses. */
enum { EXIT_OK = 0, EXIT_FAILURE_RUN = 1, EXIT_BAD_CONFIG = 2 };

/* Each control client and each HTTP connection takes a descriptor; the
 * usual soft limit of 1024 is far below what hundreds of clients plus
 * thousands of sources need, so take what the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            SRM_WARNING("daemon: cannot raise the open-file limit: %s",
                        strerror(errno));
    }
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: srmd [-c FILE] [--check-config] [--describe PLUGIN] "
            "[--version] [-v]\n"
            "  -c, --config FILE    configuration (default %s)\n"
            "  -t, --check-config   validate the configuration and exit\n"
            "      --describe NAME  print a plugin's configuration keys\n"
            "  -v, --verbose        log at debug level\n"
            "  -V, --version        print the version and exit\n"
            "  -h, --help           this help\n",
            SRM_DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 't'},
        {"describe", required_argument, NULL, 'D'},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = SRM_DEFAULT_CONFIG;
    const char *describe = NULL;
    bool check_only = false, verbose = false;
    struct srm_plugins *plugins = NULL;
    struct srm_config *config = NULL;
    struct srm_daemon d;
    struct srm_diag diag;
    struct timespec t0;
    uv_loop_t loop;
    int opt, rc, status = EXIT_OK;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while ((opt = getopt_long(argc, argv, "c:tvVh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 't': check_only = true; break;
        case 'D': describe = optarg; break;
        case 'v': verbose = true; break;
        case 'V': printf("srmd %s (plugin ABI %d.%d)\n", SRM_VERSION,
                         SRM_PLUGIN_ABI_MAJOR, SRM_PLUGIN_ABI_MINOR);
                  return EXIT_OK;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_BAD_CONFIG;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "srmd: unexpected argument %s\n", argv[optind]);
        usage(stderr);
        return EXIT_BAD_CONFIG;
    }
    if (verbose)
        srm_log_set_level(SRM_LOG_DEBUG);

    /* glibc gives every thread that allocates its own arena; the writer
     * and the reader pool would each keep megabytes of freed batches.
     * Two arenas are plenty for one loop thread and one writer. */
    mallopt(M_ARENA_MAX, 2);
    /* A client that goes away must not kill the daemon. */
    signal(SIGPIPE, SIG_IGN);
    umask(077);
    srand((unsigned)(t0.tv_nsec ^ getpid()));
    /* SQLite counts every allocation under a global mutex for
     * sqlite3_memory_used(), which srmd never asks: 2.5% of the writer's
     * time during a cold sync. Must precede any other SQLite call. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    xmlInitParser();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "srmd: curl_global_init failed\n");
        return EXIT_FAILURE_RUN;
    }

    srm_plugins_create(srm_host_api(), &plugins);
    srm_diag_init(&diag);
    rc = srm_daemon_prepare_config(plugins, config_path, &config, &diag);
    if (rc < 0) {
        srm_diag_print(&diag);
        status = EXIT_BAD_CONFIG;
        goto out;
    }
    if (!verbose)
        srm_log_set_level(config->log_level);

    if (describe != NULL) {
        const struct srm_loaded_plugin *lp =
            srm_plugins_find(plugins, describe);
        if (lp == NULL) {
            fprintf(stderr, "srmd: no plugin named %s in %s\n", describe,
                    config->plugin_dir);
            status = EXIT_BAD_CONFIG;
        } else {
            srm_plugin_describe(lp, stdout);
        }
        goto out;
    }
    if (check_only) {
        printf("%s: configuration ok (%zu sources, %zu plugins)\n",
               config_path, config->n_sources, srm_plugins_count(plugins));
        goto out;
    }

    raise_fd_limit();
    uv_loop_init(&loop);
    rc = srm_daemon_start(&d, &loop, config_path, plugins, config);
    config = NULL; /* owned by the daemon now */
    if (rc < 0) {
        status = EXIT_FAILURE_RUN;
        srm_daemon_stop(&d);
    } else {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        SRM_INFO("daemon: ready in %.1f ms",
                 (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    srm_daemon_fini(&d);
    if (uv_loop_close(&loop) != 0)
        SRM_WARNING("daemon: handles left open at exit");
    if (status == EXIT_OK)
        SRM_NOTICE("daemon: stopped");

out:
    srm_config_destroy(config);
    srm_diag_fini(&diag);
    srm_plugins_destroy(plugins);
    curl_global_cleanup();
    xmlCleanupParser();
    return status;
}
