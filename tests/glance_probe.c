/* A long-lived Glance client for tests/integration/test_glance.py: one
 * cg_glance lists images, waits for a line on stdin (the test revokes the
 * token meanwhile), lists again, and says how many Keystone tokens it took.
 *
 *   glance_probe URL KEYSTONE_URL USER PASSWORD_FILE PROJECT CA_FILE
 *
 * prints "images=N tokens=T" after each listing. */
#include <stdio.h>
#include <stdlib.h>

#include "gateway/glance.h"

static int count(const cg_glance_image *im, void *arg)
{
    ++*(int *)arg;
    return 0;
}

int main(int argc, char **argv)
{
    cg_glance_provider p = {.name = "probe"};
    cg_error err = {0};
    cg_glance *g;
    char line[64];
    int rc = 1;

    if (argc != 7) {
        fprintf(stderr, "usage: glance_probe URL KEYSTONE_URL USER PASSWORD_FILE PROJECT CA\n");
        return 2;
    }
    p.url = argv[1], p.keystone_url = argv[2], p.user = argv[3];
    p.password_file = argv[4], p.project = argv[5], p.ca_file = argv[6];
    if (!(g = cg_glance_new(&p, &err)))
        goto cleanup;
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
