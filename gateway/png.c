/* cloudgate: PNG from a PPM screenshot (png.h).
 *
 * A PNG is the signature and three chunks: IHDR (size, 8-bit RGB), one IDAT
 * (the zlib stream of the rows, each behind a filter byte 0) and IEND.
 * Each chunk is length, type, data and a CRC-32 over type and data.
 */
#include "png.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* Skip whitespace and '#' comments of a PPM header. */
static size_t ppm_skip(const unsigned char *p, size_t len, size_t i)
{
    while (i < len) {
        if (p[i] == '#') {
            while (i < len && p[i] != '\n')
                i++;
        } else if (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
            i++;
        } else {
            break;
        }
    }
    return i;
}

/* A decimal header field; 0 or -1. */
static int ppm_number(const unsigned char *p, size_t len, size_t *i, unsigned *out)
{
    unsigned long v = 0;
    size_t start;

    *i = ppm_skip(p, len, *i);
    start = *i;
    while (*i < len && p[*i] >= '0' && p[*i] <= '9' && v <= 1000000)
        v = v * 10 + (unsigned long)(p[(*i)++] - '0');
    if (*i == start || v > 1000000)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Write one chunk at out (room for 12 + n bytes); returns its size. */
static size_t chunk(unsigned char *out, const char *type, const unsigned char *data, size_t n)
{
    uLong crc;

    put32(out, (uint32_t)n);
    memcpy(out + 4, type, 4);
    if (n)
        memcpy(out + 8, data, n);
    crc = crc32(0L, out + 4, (uInt)(n + 4));
    put32(out + 8 + n, (uint32_t)crc);
    return 12 + n;
}

unsigned char *cg_png_from_ppm(const unsigned char *ppm, size_t len, size_t *out_len,
                               unsigned *width, unsigned *height)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13];
    unsigned char *raw = NULL, *z = NULL, *png = NULL;
    unsigned w, h, maxval, y;
    size_t i = 2, row, raw_len, off;
    uLongf z_len;

    if (!ppm || len < 2 || ppm[0] != 'P' || ppm[1] != '6' || ppm_number(ppm, len, &i, &w) < 0 ||
        ppm_number(ppm, len, &i, &h) < 0 || ppm_number(ppm, len, &i, &maxval) < 0 ||
        maxval != 255 || w == 0 || h == 0 || w > CG_PNG_MAX_SIDE || h > CG_PNG_MAX_SIDE)
        return NULL;
    /* Exactly one whitespace byte ends the header. */
    if (i >= len || (ppm[i] != ' ' && ppm[i] != '\n' && ppm[i] != '\t' && ppm[i] != '\r'))
        return NULL;
    i++;
    row = (size_t)w * 3;
    if (len - i < row * h)
        return NULL;
    raw_len = (row + 1) * h;
    if (!(raw = malloc(raw_len)))
        return NULL;
    for (y = 0; y < h; y++) {
        raw[y * (row + 1)] = 0; /* filter type None */
        memcpy(raw + y * (row + 1) + 1, ppm + i + y * row, row);
    }
    z_len = compressBound((uLong)raw_len);
    if (!(z = malloc(z_len)) || compress2(z, &z_len, raw, (uLong)raw_len, 6) != Z_OK)
        goto cleanup;
    if (!(png = malloc(sizeof(sig) + 12 + sizeof(ihdr) + 12 + z_len + 12)))
        goto cleanup;
    put32(ihdr, w);
    put32(ihdr + 4, h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* colour type: RGB */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* no interlace */
    memcpy(png, sig, sizeof(sig));
    off = sizeof(sig);
    off += chunk(png + off, "IHDR", ihdr, sizeof(ihdr));
    off += chunk(png + off, "IDAT", z, z_len);
    off += chunk(png + off, "IEND", NULL, 0);
    *out_len = off;
    if (width)
        *width = w;
    if (height)
        *height = h;

cleanup:
    free(raw);
    free(z);
    return png;
}
