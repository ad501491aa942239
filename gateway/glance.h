/* cloudgate: a client for OpenStack Glance (Images API v2), with Keystone v3
 * password authentication.  Knows nothing of EC2 or CIMI: the image import
 * calls it.
 *
 * One cg_glance per provider; it may be shared by threads (the token cache
 * has a mutex, each request uses its own curl handle).  TLS is always
 * verified, against ca_file when set.  The password is read from
 * password_file only when a token is needed and wiped after use: it never
 * appears in a message, a log line or the database.
 */
#ifndef CG_GLANCE_H
#define CG_GLANCE_H

#include <stddef.h>
#include <time.h>

#include "error.h"

/* libcurl's receive buffer for image downloads (its default is 16 KiB):
 * fewer, larger reads and write callbacks for gigabytes of image. */
#define CG_DOWNLOAD_BUFFER (512L * 1024)

/* Where a provider comes from. */
typedef enum { CG_GLANCE_FROM_CONFIG = 0, CG_GLANCE_FROM_RUNTIME = 1 } cg_glance_origin;

typedef struct cg_glance_provider {
    char *name;
    char *url;            /* Glance API root, http(s)://host:port[/prefix] */
    char *keystone_url;   /* NULL: Glance without authentication (noauth) */
    char *user;
    char *password_file;  /* a file holding the password (first line) */
    char *project;
    char *domain;         /* user and project domain; NULL means "Default" */
    char *ca_file;        /* PEM bundle for https (Glance and Keystone); NULL: system CAs */
    cg_glance_origin origin;
} cg_glance_provider;

typedef struct cg_glance_provider_list {
    cg_glance_provider *v;
    size_t n;
} cg_glance_provider_list;

/* Set one config key (url, keystone_url, user, password_file, project,
 * domain, ca_file).  Returns 0, or -1 with why filled. */
int cg_glance_provider_set(cg_glance_provider *p, const char *key, const char *value, char *why,
                           size_t whylen);

/* Whole-record checks: a name, url http(s)://, keystone_url http(s)://,
 * password_file and project only with user, user needs keystone_url.
 * Returns 0, or -1 with why filled. */
int cg_glance_provider_check(const cg_glance_provider *p, char *why, size_t whylen);

/* Deep copy into dst (zeroed first).  Returns 0 or -1 (out of memory). */
int cg_glance_provider_copy(cg_glance_provider *dst, const cg_glance_provider *src);

/* Free contents.  Accepts NULL. */
void cg_glance_provider_release(cg_glance_provider *p);
void cg_glance_provider_list_release(cg_glance_provider_list *l);

/* Append a copy of p.  Returns 0 or -1 (out of memory). */
int cg_glance_provider_list_add(cg_glance_provider_list *l, const cg_glance_provider *p);

/* One image as Glance lists it.  Strings are NULL when absent or null. */
typedef struct cg_glance_image {
    char *id;
    char *name;
    char *status;
    char *disk_format;
    char *container_format;
    long long size;        /* bytes; -1 when unknown (queued) */
    char *checksum;        /* md5 hex */
    char *os_hash_algo;    /* e.g. "sha512" */
    char *os_hash_value;
} cg_glance_image;

void cg_glance_image_release(cg_glance_image *im);

/* Called once per listed image (borrowed: valid during the call).
 * Return non-zero to stop listing. */
typedef int (*cg_glance_image_cb)(const cg_glance_image *im, void *arg);

/* Download callbacks.  write: consume len bytes, return 0 or non-zero to
 * abort.  progress: bytes so far and the expected total; non-zero cancels. */
typedef int (*cg_glance_write_cb)(const void *buf, size_t len, void *arg);
typedef int (*cg_glance_progress_cb)(long long done, long long total, void *arg);

typedef struct cg_glance cg_glance;

/* curl_global_init, once per process (any libcurl user calls this first).
 * 0 or -1. */
int cg_curl_ready(cg_error *err);

/* A client for p (copied).  Initialises libcurl once per process.
 * Returns NULL with err set.  Free with cg_glance_free. */
cg_glance *cg_glance_new(const cg_glance_provider *p, cg_error *err);
/* Wipes the cached token.  Accepts NULL. */
void cg_glance_free(cg_glance *g);

/* Images per page of GET /v2/images (default 100; Glance caps it at 1000). */
void cg_glance_set_page_size(cg_glance *g, unsigned n);

/* How many tokens this client has obtained from Keystone. */
unsigned cg_glance_token_count(cg_glance *g);

/* Authenticate now (a no-op without keystone_url).  Returns 0 or -1. */
int cg_glance_authenticate(cg_glance *g, cg_error *err);

/* List images, following next links for at most max_pages pages (0: no
 * bound).  Returns 0 (also when cb stopped it) or -1. */
int cg_glance_list_images(cg_glance *g, unsigned max_pages, cg_glance_image_cb cb, void *arg,
                          cg_error *err);

/* The record of one image, into *out (release it).  CG_ERR_NOT_FOUND if none. */
int cg_glance_get_image(cg_glance *g, const char *id, cg_glance_image *out, cg_error *err);

/* Stream the image's data to write (no buffering of the whole file),
 * checking its size and hash (os_hash_algo/os_hash_value, else the md5
 * checksum) as it goes.  *info, when non-NULL, receives the record.
 * Returns 0 or -1 (cancelled: CG_ERR_STATE "cancelled"). */
int cg_glance_download(cg_glance *g, const char *id, cg_glance_write_cb write,
                       cg_glance_progress_cb progress, void *arg, cg_glance_image *info,
                       cg_error *err);

/* ---- pure helpers, exposed for the unit tests ---- */

/* Parse one GET /v2/images page: cb per image; *next (malloc'd, or NULL)
 * gets the next link.  Returns 0 or -1 (not an image list). */
int cg_glance_parse_images(const char *json, size_t len, cg_glance_image_cb cb, void *arg,
                           char **next, cg_error *err);

/* Parse one image record into *out.  Returns 0 or -1. */
int cg_glance_parse_image(const char *json, size_t len, cg_glance_image *out, cg_error *err);

/* A Keystone time ("2026-12-03T04:01:14.000000Z") as time_t (UTC).
 * Returns 0 or -1. */
int cg_glance_parse_time(const char *s, time_t *out);

/* From a POST /v3/auth/tokens body: expires_at and issued_at.  Returns 0 or -1. */
int cg_glance_parse_token(const char *json, size_t len, time_t *issued, time_t *expires,
                          cg_error *err);

/* True when a token should be renewed at now: less than 60 s left, or for
 * short-lived tokens less than a third of their life. */
int cg_glance_token_stale(time_t now, time_t issued, time_t expires);

/* The absolute URL of a next link against the provider url: a relative
 * path is appended to base (which may have a path prefix); an absolute URL
 * must have base's scheme, host and port (a token must not go elsewhere).
 * Returns malloc'd text or NULL with err set. */
char *cg_glance_resolve_next(const char *base, const char *next, cg_error *err);

/* Streaming verification of size and hash. */
typedef struct cg_glance_verify cg_glance_verify;

/* Picks os_hash_algo/os_hash_value when OpenSSL knows the algorithm, else the
 * md5 checksum, else size only.  Returns NULL with err set. */
cg_glance_verify *cg_glance_verify_new(const cg_glance_image *im, cg_error *err);
/* Feed the next len bytes.  Returns 0 or -1 (digest failure). */
int cg_glance_verify_update(cg_glance_verify *v, const void *buf, size_t len);
/* Compare with the record.  Returns 0 or -1 with a mismatch message. */
int cg_glance_verify_finish(cg_glance_verify *v, cg_error *err);
/* The algorithm in use ("sha512", "md5" or "none"). */
const char *cg_glance_verify_algo(const cg_glance_verify *v);
/* Accepts NULL. */
void cg_glance_verify_free(cg_glance_verify *v);

#endif
