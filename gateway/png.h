/* cloudgate: PNG from a PPM screenshot (qemu's screendump format). */
#ifndef CG_PNG_H
#define CG_PNG_H

#include <stddef.h>

/* Largest width or height accepted, so a corrupt header cannot ask for
 * gigabytes. */
#define CG_PNG_MAX_SIDE 16384

/* Convert a binary PPM ("P6", maxval 255) to an 8-bit RGB PNG.  Returns the
 * malloc'd PNG (length in *out_len, dimensions in *width and *height, both
 * may be NULL) or NULL when the PPM is malformed or memory runs out. */
unsigned char *cg_png_from_ppm(const unsigned char *ppm, size_t len, size_t *out_len,
                               unsigned *width, unsigned *height);

#endif
