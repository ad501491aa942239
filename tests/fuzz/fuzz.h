/* cloudgate fuzz targets: what they share.  Each target defines
 * LLVMFuzzerTestOneInput and is linked either with libFuzzer
 * (--enable-fuzzing, make fuzz) or with replay.c (make check). */
#ifndef CG_FUZZ_H
#define CG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property every input must keep: abort (a crash to libFuzzer, a failed
 * test to replay) rather than assert(), which NDEBUG would remove. */
#define FZ_CHECK(cond)                                                                    \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* Split data at '\n' into n fields (the last one takes the rest, newlines
 * and all); absent fields are "".  f[i] are malloc'd NUL-terminated copies
 * (each exactly len[i] + 1 bytes, so ASan sees overreads) with their length
 * in len[i].  0, or -1 when out of memory (f then all NULL). */
static inline int fz_split(const uint8_t *data, size_t size, size_t n, char **f, size_t *len)
{
    size_t i, at = 0, l;
    const uint8_t *nl;

    for (i = 0; i < n; i++) {
        l = size - at;
        if (i + 1 < n && (nl = memchr(data + at, '\n', size - at)))
            l = (size_t)(nl - (data + at));
        f[i] = malloc(l + 1);
        if (!f[i]) {
            while (i > 0)
                free(f[--i]);
            memset(f, 0, n * sizeof(*f));
            return -1;
        }
        memcpy(f[i], data + at, l);
        f[i][l] = '\0';
        len[i] = l;
        at += l + (at + l < size);
    }
    return 0;
}

static inline void fz_free(char **f, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(f[i]);
}

/* A NUL-terminated copy of data (exactly size + 1 bytes), or NULL. */
static inline char *fz_strdup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

#endif
