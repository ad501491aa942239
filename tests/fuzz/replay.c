/* cloudgate: replays a fuzz target's inputs without libFuzzer.  Linked with
 * one fuzz_NAME.c as tests/fuzz/replay_NAME, it runs LLVMFuzzerTestOneInput
 * over every file of tests/fuzz/corpus/NAME and tests/fuzz/regressions/NAME
 * (under $CG_TOP_SRCDIR, else "."), or of the files and directories given as
 * arguments, so make check keeps each seed and each crash found as a test.
 * NAME is taken from the program's own name. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Read path into an exactly-sized buffer; -1 with a message on failure. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;
    int ret = -1;

    if (!f || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        goto cleanup;
    }
    /* malloc(0) may give NULL; the target gets a valid pointer and size 0. */
    if (!(buf = malloc(size ? (size_t)size : 1)) ||
        fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        goto cleanup;
    }
    LLVMFuzzerTestOneInput(buf, (size_t)size);
    ret = 0;

cleanup:
    free(buf);
    if (f)
        fclose(f);
    return ret;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Run every regular file of dir (sorted, so failures repeat).  The number
 * run, or -1.  A missing directory counts 0 when optional. */
static long run_dir(const char *dir, int optional)
{
    struct dirent **ents = NULL;
    char path[4096];
    struct stat st;
    long count = 0;
    int n, i;

    if ((n = scandir(dir, &ents, NULL, by_name)) < 0) {
        if (optional && errno == ENOENT)
            return 0;
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
        if (ents[i]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (count >= 0 && run_file(path) < 0)
                count = -1;
            else if (count >= 0)
                count++;
        }
        free(ents[i]);
    }
    free(ents);
    return count;
}

int main(int argc, char **argv)
{
    const char *top = getenv("CG_TOP_SRCDIR"), *name = strrchr(argv[0], '/');
    char dir[4096];
    struct stat st;
    long n, total = 0;
    int i;

    if (argc > 1) {
        for (i = 1; i < argc; i++) {
            n = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? run_dir(argv[i], 0)
                                                                : (run_file(argv[i]) == 0);
            if (n < 0)
                return 1;
            total += n;
        }
        printf("replay: %ld inputs\n", total);
        return 0;
    }
    name = name ? name + 1 : argv[0];
    if (strncmp(name, "replay_", 7) == 0)
        name += 7;
    top = top && *top ? top : ".";
    /* The seed corpus must exist and hold something: an empty run would
     * pass without testing anything. */
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top, name);
    if ((n = run_dir(dir, 0)) <= 0) {
        fprintf(stderr, "replay: no inputs in %s\n", dir);
        return 1;
    }
    total += n;
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/regressions/%s", top, name);
    if ((n = run_dir(dir, 1)) < 0)
        return 1;
    printf("replay %s: %ld corpus inputs, %ld regressions\n", name, total, n);
    return 0;
}
