/* A long-lived Glance client for tests/integration/test_glance.py: one
 * cg_glance lists images, waits for a line on stdin (the test revokes the
 * token meanwhile), lists again, and says how many Keystone tokens it took.
 *
 *   glance_probe URL KEYSTONE_URL USER PASSWORD_FILE PROJECT CA_FILE
 *
 * prints "images=N tokens=T" after each listing.  ("-" for KEYSTONE_URL and
 * the rest: no authentication.)
 *
 *   glance_probe URL - - - - - download IMAGE_ID CANCEL_AT
 *
 * streams the image into nothing and cancels (write callback returns
 * non-zero) once CANCEL_AT bytes have arrived; prints the outcome. */
#include <stdio.h>
#include <stdlib.h>

#include "gateway/glance.h"

static int count(const cg_glance_image *im, void *arg)
{
    ++*(int *)arg;
    return 0;
}

typedef struct sink {
    long long got, cancel_at;
    unsigned progress_calls;
} sink;

static int sink_write(const void *buf, size_t len, void *arg)
{
    sink *s = arg;

    s->got += (long long)len;
    return s->got >= s->cancel_at;
}

static int sink_progress(long long done, long long total, void *arg)
{
    ((sink *)arg)->progress_calls++;
    return 0;
}

static char *opt(char *s)
{
    return s[0] == '-' && !s[1] ? NULL : s;
}

int main(int argc, char **argv)
{
    cg_glance_provider p = {.name = "probe"};
    cg_error err = {0};
    cg_glance *g;
    char line[64];
    int rc = 1;

    if (argc != 7 && argc != 10) {
        fprintf(stderr, "usage: glance_probe URL KEYSTONE_URL USER PASSWORD_FILE PROJECT CA\n");
        return 2;
    }
    p.url = argv[1], p.keystone_url = opt(argv[2]), p.user = opt(argv[3]);
    p.password_file = opt(argv[4]), p.project = opt(argv[5]), p.ca_file = opt(argv[6]);
    if (!(g = cg_glance_new(&p, &err)))
        goto cleanup;
    if (argc == 10) {
        sink s = {.cancel_at = strtoll(argv[9], NULL, 10)};

        rc = cg_glance_download(g, argv[8], sink_write, sink_progress, &s, NULL, &err) < 0;
        printf("rc=%d got=%lld progress=%s error=%s\n", rc ? -1 : 0, s.got,
               s.progress_calls ? "yes" : "no", rc ? err.message : "");
        cg_glance_free(g);
        return 0;
    }
    for (int round = 0; round < 2; round++) {
        int n = 0;

        if (round && !fgets(line, sizeof(line), stdin))
            break;
        if (cg_glance_list_images(g, 100, count, &n, &err) < 0)
            goto cleanup;
        printf("images=%d tokens=%u\n", n, cg_glance_token_count(g));
        fflush(stdout);
    }
    rc = 0;

cleanup:
    if (rc)
        fprintf(stderr, "glance_probe: %s\n", err.message);
    cg_glance_free(g);
    return rc;
}
