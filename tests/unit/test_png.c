/* cloudgate unit tests: PPM screenshots to PNG (gateway/png.c), read back
 * with zlib: signature, IHDR, CRCs and the pixels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "gateway/png.h"

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A w x h PPM whose pixel (x, y) is (x, y, x ^ y), with a comment. */
static unsigned char *make_ppm(unsigned w, unsigned h, size_t *len)
{
    char head[64];
    int n = snprintf(head, sizeof(head), "P6\n# qemu\n%u %u\n255\n", w, h);
    unsigned char *p = malloc((size_t)n + (size_t)w * h * 3);
    unsigned x, y;

    memcpy(p, head, (size_t)n);
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            unsigned char *px = p + n + ((size_t)y * w + x) * 3;

            px[0] = (unsigned char)x;
            px[1] = (unsigned char)y;
            px[2] = (unsigned char)(x ^ y);
        }
    *len = (size_t)n + (size_t)w * h * 3;
    return p;
}

static void test_png_roundtrip(void **state)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned w = 37, h = 5, gw = 0, gh = 0, x, y;
    size_t ppm_len, png_len = 0, off = 8;
    unsigned char *ppm = make_ppm(w, h, &ppm_len);
    unsigned char *png = cg_png_from_ppm(ppm, ppm_len, &png_len, &gw, &gh);
    unsigned char *pixels = NULL;
    uLongf raw_len = (uLongf)(w * 3 + 1) * h;
    int chunks = 0;

    assert_non_null(png);
    assert_int_equal(gw, w);
    assert_int_equal(gh, h);
    assert_memory_equal(png, sig, 8);
    pixels = malloc(raw_len);
    while (off < png_len) {
        uint32_t n = get32(png + off);
        const unsigned char *type = png + off + 4;

        assert_true(off + 12 + n <= png_len);
        assert_int_equal(get32(png + off + 8 + n), (uint32_t)crc32(0L, type, n + 4));
        if (memcmp(type, "IHDR", 4) == 0) {
            assert_int_equal(n, 13);
            assert_int_equal(get32(type + 4), w);
            assert_int_equal(get32(type + 8), h);
            assert_int_equal(type[12], 8); /* bit depth */
            assert_int_equal(type[13], 2); /* RGB */
        } else if (memcmp(type, "IDAT", 4) == 0) {
            assert_int_equal(uncompress(pixels, &raw_len, type + 4, n), Z_OK);
            assert_int_equal(raw_len, (uLongf)(w * 3 + 1) * h);
        }
        off += 12 + n;
        chunks++;
    }
    assert_int_equal(chunks, 3);
    assert_int_equal(off, png_len);
    assert_memory_equal(png + png_len - 12 + 4, "IEND", 4);
    for (y = 0; y < h; y++) {
        assert_int_equal(pixels[y * (w * 3 + 1)], 0);
        for (x = 0; x < w; x++) {
            const unsigned char *px = pixels + y * (w * 3 + 1) + 1 + x * 3;

            assert_int_equal(px[0], x);
            assert_int_equal(px[1], y);
            assert_int_equal(px[2], x ^ y);
        }
    }
    free(pixels);
    free(png);
    free(ppm);
}

static void test_png_rejects(void **state)
{
    static const char *const bad[] = {
        "", "P5\n1 1\n255\n\x01", "P6\n1 1\n65535\n\x01\x02\x03\x04\x05\x06",
        "P6\n2 1\n255\n\x01\x02\x03", /* short */
        "P6\n0 1\n255\n", "P6\n99999 1\n255\n", "P6 1 1 255",
    };
    unsigned char *png;
    size_t i, len;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(cg_png_from_ppm((const unsigned char *)bad[i], strlen(bad[i]) + (i == 1),
                                    &len, NULL, NULL));
    /* Spaces between header fields are as good as newlines. */
    png = cg_png_from_ppm((const unsigned char *)"P6 1 1 255 abc", 14, &len, NULL, NULL);
    assert_non_null(png);
    free(png);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_roundtrip),
        cmocka_unit_test(test_png_rejects),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
