/* cloudgate engine: where imported bytes come from.
 *
 *   glance://PROVIDER/IMAGE_ID  a provider of the configuration or added at
 *                               run time; bare container, qcow2 or raw,
 *                               size and hash checked as the bytes arrive
 *   http://..., https://...     libcurl, TLS verified; the size comes from
 *                               Content-Length (required)
 *   file:///path                a regular file under one of import_dirs
 *                               (symbolic links resolved first)
 *
 * Nothing is buffered whole: bytes go to the caller's write function as
 * they arrive.
 */
#ifndef CG_ENGINE_IMPORT_SOURCE_H
#define CG_ENGINE_IMPORT_SOURCE_H

#include "../gateway/config.h"
#include "../gateway/error.h"

typedef struct cg_source_info {
    char format[16];              /* Glance's disk_format, else "" */
    char name[256];               /* Glance's name or the file's, else "" */
    unsigned long long size;      /* bytes; 0 until known */
    char verified[16];            /* hash checked: "sha512", "md5", "" (size only) */
} cg_source_info;

/* Consume len bytes (0) or stop the transfer (non-zero, err set). */
typedef int (*cg_source_write_fn)(const void *buf, size_t len, void *arg, cg_error *err);
/* Non-zero stops the transfer (a cancel). */
typedef int (*cg_source_cancel_fn)(void *arg);

/* What can be checked without reading data: the scheme, a known provider,
 * an allowed existing regular file.  0 or -1 (CG_ERR_INVALID/NOT_FOUND). */
int cg_source_check(const cg_config *cfg, const char *url, cg_error *err);

/* The source's record before reading it: size (Glance, files), format and
 * name (Glance); a Glance image that is not bare, not qcow2/raw or not
 * active is refused here.  0 or -1. */
int cg_source_stat(const cg_config *cfg, const char *url, cg_source_info *out, cg_error *err);

/* Read the whole source into write.  info->size is set before the first
 * write (http: from Content-Length).  Returns 0 once every byte arrived and
 * was verified, or -1 (cancelled: CG_ERR_STATE "cancelled"). */
int cg_source_fetch(const cg_config *cfg, const char *url, cg_source_write_fn write,
                    cg_source_cancel_fn cancelled, void *arg, cg_source_info *info,
                    cg_error *err);

/* url as it may be shown and stored: an http(s) URL's password and query
 * string become "***".  0, or -1 when it does not parse (buf then says so). */
int cg_source_display(const char *url, char *buf, size_t len);

/* Is the absolute path under one of cfg->import_dirs (after resolving
 * symbolic links)?  Writes the resolved path into real.  1 or 0. */
int cg_source_path_allowed(const cg_config *cfg, const char *path, char *real, size_t len);

#endif
