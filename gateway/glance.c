/* cloudgate: the Glance client: Keystone v3 tokens, image list, image
 * record and streaming download over libcurl. */
#include "glance.h"
#include "pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "log.h"
#include "util.h"

#define MAX_REPLY (16u * 1024 * 1024)  /* JSON replies; image data is streamed */
#define MAX_PASSWORD 1024

struct cg_glance {
    cg_glance_provider p;
    unsigned page_size;
    pthread_mutex_t lock;   /* guards the token fields */
    char *token;            /* NULL: none yet (or noauth) */
    time_t issued, expires;
    unsigned token_count;
};

/* A bounded reply buffer (JSON bodies and error pages). */
typedef struct reply {
    char *data;
    size_t len;
    size_t max;
    int overflow;
    char *subject_token;    /* X-Subject-Token, for Keystone */
} reply;

/* base[0..n) followed by tail, malloc'd. */
static char *url_join(const char *base, size_t n, const char *tail)
{
    return cg_asprintf("%.*s%s", (int)n, base, tail);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* curl_global_init is not thread-safe: once per process, before any thread
 * makes a handle. */
static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int cg_curl_ready(cg_error *err)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        cg_error_set(err, CG_ERR_INTERNAL, "libcurl: %s", curl_easy_strerror(curl_init_rc));
        return -1;
    }
    return 0;
}

cg_glance *cg_glance_new(const cg_glance_provider *p, cg_error *err)
{
    cg_glance *g;
    char why[256];

    if (cg_curl_ready(err) < 0)
        return NULL;
    if (cg_glance_provider_check(p, why, sizeof(why)) < 0) {
        cg_error_set(err, CG_ERR_INVALID, "Glance provider %s: %s", p->name ? p->name : "?",
                     why);
        return NULL;
    }
    if (!(g = calloc(1, sizeof(*g))) || cg_glance_provider_copy(&g->p, p) < 0) {
        free(g);
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    g->page_size = 100;
    pthread_mutex_init(&g->lock, NULL);
    return g;
}

void cg_glance_free(cg_glance *g)
{
    if (!g)
        return;
    if (g->token)
        OPENSSL_cleanse(g->token, strlen(g->token));
    free(g->token);
    cg_glance_provider_release(&g->p);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void cg_glance_set_page_size(cg_glance *g, unsigned n)
{
    g->page_size = n < 1 ? 1 : n > 1000 ? 1000 : n;
}

unsigned cg_glance_token_count(cg_glance *g)
{
    unsigned n;

    pthread_mutex_lock(&g->lock);
    n = g->token_count;
    pthread_mutex_unlock(&g->lock);
    return n;
}

static size_t reply_write(char *buf, size_t size, size_t nmemb, void *arg)
{
    reply *r = arg;
    size_t n = size * nmemb;
    char *d;

    if (r->len + n > r->max) {
        r->overflow = 1;
        return 0;
    }
    if (!(d = realloc(r->data, r->len + n + 1)))
        return 0;
    r->data = d;
    memcpy(r->data + r->len, buf, n);
    r->len += n;
    r->data[r->len] = '\0';
    return n;
}

static size_t reply_header(char *buf, size_t size, size_t nmemb, void *arg)
{
    reply *r = arg;
    size_t n = size * nmemb, klen = sizeof("X-Subject-Token:") - 1;

    if (n > klen && !strncasecmp(buf, "X-Subject-Token:", klen)) {
        const char *v = buf + klen;
        size_t vlen = n - klen;

        while (vlen && (*v == ' ' || *v == '\t'))
            v++, vlen--;
        while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
            vlen--;
        free(r->subject_token);
        r->subject_token = strndup(v, vlen);
    }
    return n;
}

static void reply_release(reply *r)
{
    free(r->data);
    if (r->subject_token)
        OPENSSL_cleanse(r->subject_token, strlen(r->subject_token));
    free(r->subject_token);
    memset(r, 0, sizeof(*r));
}

/* A handle with the options every request shares: TLS verification always
 * on, the provider's CA file, bounded connect time, no signals (threads). */
static CURL *new_handle(const cg_glance *g, const char *url, char *errbuf)
{
    CURL *c = curl_easy_init();

    if (!c)
        return NULL;
    errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (g->p.ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, g->p.ca_file);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cloudgate");
    return c;
}

/* Report a transport failure: unreachable, TLS (naming the CA file), other. */
static void transport_error(const cg_glance *g, const char *what, const char *url, CURLcode rc,
                            const char *errbuf, cg_error *err)
{
    const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);

    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
        cg_error_set(err, CG_ERR_UNAVAILABLE,
                     "Glance provider %s: TLS handshake with %s failed (%s%s): %s", g->p.name,
                     url, g->p.ca_file ? "CA file " : "system CAs",
                     g->p.ca_file ? g->p.ca_file : "", detail);
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        cg_error_set(err, CG_ERR_UNAVAILABLE,
                     "Glance provider %s: TLS verification of %s failed against %s%s: %s",
                     g->p.name, url, g->p.ca_file ? "CA file " : "the system CAs",
                     g->p.ca_file ? g->p.ca_file : "", detail);
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        cg_error_set(err, CG_ERR_UNAVAILABLE, "Glance provider %s: %s unreachable at %s: %s",
                     g->p.name, what, url, detail);
        break;
    default:
        cg_error_set(err, CG_ERR_INTERNAL, "Glance provider %s: %s request to %s failed: %s",
                     g->p.name, what, url, detail);
    }
}

/* Append a JSON string literal of s to buf (bounded).  Returns 0 or -1. */
static int json_quote(char *buf, size_t size, size_t *len, const char *s)
{
    if (*len + 1 >= size)
        return -1;
    buf[(*len)++] = '"';
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (*len + 7 >= size)
            return -1;
        if (ch == '"' || ch == '\\') {
            buf[(*len)++] = '\\';
            buf[(*len)++] = (char)ch;
        } else if (ch < 0x20) {
            *len += (size_t)snprintf(buf + *len, size - *len, "\\u%04x", ch);
        } else {
            buf[(*len)++] = (char)ch;
        }
    }
    buf[(*len)++] = '"';
    buf[*len] = '\0';
    return 0;
}

/* The password: the first line of password_file.  read(2) into pw, not
 * stdio, so no library buffer keeps a copy after we wipe ours. */
static int read_password(const cg_glance *g, char *pw, size_t size, cg_error *err)
{
    int fd = open(g->p.password_file, O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    ssize_t n;
    int rc = -1;

    if (fd < 0) {
        cg_error_set(err, CG_ERR_INVALID, "Glance provider %s: cannot read password file %s: %s",
                     g->p.name, g->p.password_file, strerror(errno));
        return -1;
    }
    while (len < size - 1 && (n = read(fd, pw + len, size - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cg_error_set(err, CG_ERR_INVALID, "Glance provider %s: reading password file %s: %s",
                         g->p.name, g->p.password_file, strerror(errno));
            goto cleanup;
        }
        len += (size_t)n;
    }
    pw[len] = '\0';
    pw[strcspn(pw, "\r\n")] = '\0';
    if (!pw[0]) {
        cg_error_set(err, CG_ERR_INVALID, "Glance provider %s: password file %s is empty",
                     g->p.name, g->p.password_file);
        goto cleanup;
    }
    rc = 0;

cleanup:
    close(fd);
    return rc;
}

/* Build the POST /v3/auth/tokens body into body (wiped by the caller):
 * password method, user and project in the provider's domain. */
static int auth_body(const cg_glance *g, const char *pw, char *body, size_t size)
{
    const char *dom = g->p.domain ? g->p.domain : "Default";
    size_t n = 0;
    int bad = 0;

#define LIT(s) (bad |= n + sizeof(s) >= size, bad ? 0 : (memcpy(body + n, s, sizeof(s)), n += sizeof(s) - 1))
    LIT("{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":");
    bad |= json_quote(body, size, &n, g->p.user);
    LIT(",\"domain\":{\"name\":");
    bad |= json_quote(body, size, &n, dom);
    LIT("},\"password\":");
    bad |= json_quote(body, size, &n, pw);
    LIT("}}},\"scope\":{\"project\":{\"name\":");
    bad |= json_quote(body, size, &n, g->p.project);
    LIT(",\"domain\":{\"name\":");
    bad |= json_quote(body, size, &n, dom);
    LIT("}}}}}");
#undef LIT
    return bad ? -1 : (int)n;
}

/* POST /v3/auth/tokens; on success the new token replaces g->token.
 * Called with g->lock held. */
static int fetch_token(cg_glance *g, cg_error *err)
{
    char pw[MAX_PASSWORD], body[MAX_PASSWORD * 6 + 1024], errbuf[CURL_ERROR_SIZE], *url = NULL;
    size_t klen = strlen(g->p.keystone_url);
    reply r = {.max = MAX_REPLY};
    struct curl_slist *hdrs = NULL;
    CURL *c = NULL;
    CURLcode crc;
    long status = 0;
    time_t issued, expires;
    int blen = -1, rc = -1;

    while (klen && g->p.keystone_url[klen - 1] == '/')
        klen--;
    /* keystone_url may name the API root or its /v3. */
    url = klen >= 3 && !strncmp(g->p.keystone_url + klen - 3, "/v3", 3)
              ? url_join(g->p.keystone_url, klen, "/auth/tokens")
              : url_join(g->p.keystone_url, klen, "/v3/auth/tokens");
    if (!url) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if (read_password(g, pw, sizeof(pw), err) < 0)
        goto cleanup;
    blen = auth_body(g, pw, body, sizeof(body));
    OPENSSL_cleanse(pw, sizeof(pw));
    if (blen < 0) {
        cg_error_set(err, CG_ERR_INVALID, "Glance provider %s: user, project or password too long",
                     g->p.name);
        goto cleanup;
    }
    if (!(c = new_handle(g, url, errbuf)) ||
        !(hdrs = curl_slist_append(hdrs, "Content-Type: application/json")) ||
        !(hdrs = curl_slist_append(hdrs, "Accept: application/json"))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    /* POSTFIELDS, not COPYPOSTFIELDS: curl reads our buffer, which we wipe. */
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reply_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, reply_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    if ((crc = curl_easy_perform(c)) != CURLE_OK) {
        transport_error(g, "Keystone", url, crc, errbuf, err);
        goto cleanup;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status == 401) {
        cg_error_set(err, CG_ERR_FORBIDDEN, "Glance provider %s: Keystone at %s refused the "
                     "credentials of user %s (401: bad user, password or project?)", g->p.name,
                     url, g->p.user);
        goto cleanup;
    }
    if (status != 201 && status != 200) {
        cg_error_set(err, CG_ERR_UNAVAILABLE, "Glance provider %s: Keystone at %s answered %ld",
                     g->p.name, url, status);
        goto cleanup;
    }
    if (!r.subject_token || !r.subject_token[0]) {
        cg_error_set(err, CG_ERR_INTERNAL, "Glance provider %s: Keystone sent no X-Subject-Token",
                     g->p.name);
        goto cleanup;
    }
    if (cg_glance_parse_token(r.data ? r.data : "", r.len, &issued, &expires, err) < 0)
        goto cleanup;
    if (g->token)
        OPENSSL_cleanse(g->token, strlen(g->token));
    free(g->token);
    g->token = r.subject_token;
    r.subject_token = NULL;
    g->issued = issued;
    g->expires = expires;
    g->token_count++;
    cg_log(CG_LOG_INFO, "glance %s: new Keystone token for user %s, project %s (%lld s)",
           g->p.name, g->p.user, g->p.project, (long long)(expires - issued));
    rc = 0;

cleanup:
    OPENSSL_cleanse(body, sizeof(body));
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    reply_release(&r);
    free(url);
    return rc;
}

/* A copy of a valid token (*tok, malloc'd; NULL in noauth mode).
 * stale: the token a request was refused with, to renew it unless another
 * thread already has. */
static int get_token(cg_glance *g, const char *stale, char **tok, cg_error *err)
{
    int rc = 0;

    *tok = NULL;
    if (!g->p.keystone_url)
        return 0;
    pthread_mutex_lock(&g->lock);
    if (!g->token || cg_glance_token_stale(time(NULL), g->issued, g->expires) ||
        (stale && !strcmp(stale, g->token)))
        rc = fetch_token(g, err);
    if (rc == 0 && !(*tok = strdup(g->token))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        rc = -1;
    }
    pthread_mutex_unlock(&g->lock);
    return rc;
}

int cg_glance_authenticate(cg_glance *g, cg_error *err)
{
    char *tok = NULL;
    int rc = get_token(g, NULL, &tok, err);

    free(tok);
    return rc;
}

/* Streaming: 2xx bodies go to fn, others to err_body (an error page). */
typedef struct stream_ctx {
    CURL *c;
    reply *err_body;        /* non-2xx bodies land here */
    size_t (*fn)(char *, size_t, size_t, void *);
    void *arg;
} stream_ctx;

static size_t stream_write(char *buf, size_t size, size_t nmemb, void *arg)
{
    stream_ctx *s = arg;
    long status = 0;

    curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299)
        return reply_write(buf, size, nmemb, s->err_body);
    return s->fn(buf, size, nmemb, s->arg);
}

typedef struct get_opts {
    size_t (*stream)(char *, size_t, size_t, void *);   /* NULL: into reply */
    void *stream_arg;
    curl_xferinfo_callback progress;
    void *progress_arg;
} get_opts;

/* A GET with the token.  With a write callback the body streams there (for
 * 2xx only), else it lands in *r.  Retries once with a new token on 401.
 * Returns the HTTP status, or -1 with err set. */
static long glance_get(cg_glance *g, const char *url, reply *r, const get_opts *o, cg_error *err)
{
    char errbuf[CURL_ERROR_SIZE], *tok = NULL, *hdr = NULL;
    struct curl_slist *hdrs = NULL;
    CURL *c = NULL;
    CURLcode crc;
    long status = -1;

    for (int attempt = 0; attempt < 2; attempt++) {
        stream_ctx s;

        char *old = tok;
        size_t max = r->max;
        int got = get_token(g, attempt ? old : NULL, &tok, err);

        if (old)
            OPENSSL_cleanse(old, strlen(old));
        free(old);
        if (got < 0) {
            status = -1;
            goto cleanup;
        }
        reply_release(r);
        r->max = max;
        curl_slist_free_all(hdrs);
        hdrs = NULL;
        if (hdr)
            OPENSSL_cleanse(hdr, strlen(hdr));
        free(hdr);
        hdr = tok ? cg_asprintf("X-Auth-Token: %s", tok) : NULL;
        curl_easy_cleanup(c);
        if (!(c = new_handle(g, url, errbuf)) || (tok && !hdr) ||
            (hdr && !(hdrs = curl_slist_append(hdrs, hdr))) ||
            !(hdrs = curl_slist_append(hdrs, "Accept: application/json"))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            status = -1;
            goto cleanup;
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        s = (stream_ctx){.c = c, .err_body = r, .fn = o ? o->stream : NULL,
                         .arg = o ? o->stream_arg : NULL};
        if (s.fn) {
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_write);
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
            /* Large images: no total timeout, but give up on a stalled
             * transfer (under 1 byte/s for 120 s). */
            curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
            curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
            curl_easy_setopt(c, CURLOPT_BUFFERSIZE, CG_DOWNLOAD_BUFFER);
        } else {
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reply_write);
            curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
            curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
        }
        if (o && o->progress) {
            curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, o->progress);
            curl_easy_setopt(c, CURLOPT_XFERINFODATA, o->progress_arg);
            curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        }
        crc = curl_easy_perform(c);
        if (crc == CURLE_ABORTED_BY_CALLBACK ||
            (crc == CURLE_WRITE_ERROR && !r->overflow && s.fn)) {
            cg_error_set(err, CG_ERR_STATE, "Glance provider %s: download cancelled (by the receiver)",
                         g->p.name);
            status = -1;
            goto cleanup;
        }
        if (crc != CURLE_OK) {
            transport_error(g, "Glance", url, crc, errbuf, err);
            status = -1;
            goto cleanup;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        /* A 401 to a token we hold: it was revoked or expired early. */
        if (status != 401 || !tok)
            break;
        cg_log(CG_LOG_INFO, "glance %s: token refused, renewing", g->p.name);
    }
    if (status == 401)
        cg_error_set(err, CG_ERR_FORBIDDEN, "Glance provider %s: %s refused %s (401)",
                     g->p.name, url, tok ? "a fresh Keystone token" : "access without a token: "
                     "does it need keystone_url, user, password_file and project?");

cleanup:
    if (hdr)
        OPENSSL_cleanse(hdr, strlen(hdr));
    free(hdr);
    if (tok)
        OPENSSL_cleanse(tok, strlen(tok));
    free(tok);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return status == 401 ? -1 : status;
}

/* The API root of the provider without trailing slashes, plus path. */
static char *api_url(const cg_glance *g, const char *fmt, const char *arg)
{
    size_t n = strlen(g->p.url);
    char *path = cg_asprintf(fmt, arg), *out;

    while (n && g->p.url[n - 1] == '/')
        n--;
    out = path ? url_join(g->p.url, n, path) : NULL;
    free(path);
    return out;
}

/* An image id goes into a URL path: uuids are hex and dashes, and a bad id
 * must not become another path. */
static int check_id(const cg_glance *g, const char *id, cg_error *err)
{
    if (!*id || strlen(id) > 64 || strspn(id, "0123456789abcdefABCDEF-") != strlen(id)) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "Glance provider %s: no image %.80s (not an id)",
                     g->p.name, id);
        return -1;
    }
    return 0;
}

static void status_error(const cg_glance *g, const char *what, long status, cg_error *err)
{
    if (status == 404)
        cg_error_set(err, CG_ERR_NOT_FOUND, "Glance provider %s: no %s", g->p.name, what);
    else if (status == 403)
        cg_error_set(err, CG_ERR_FORBIDDEN, "Glance provider %s: %s: forbidden (403)",
                     g->p.name, what);
    else
        cg_error_set(err, CG_ERR_UNAVAILABLE, "Glance provider %s: %s: Glance answered %ld",
                     g->p.name, what, status);
}

int cg_glance_list_images(cg_glance *g, unsigned max_pages, cg_glance_image_cb cb, void *arg,
                          cg_error *err)
{
    char first[32], *url = NULL, *next = NULL;
    reply r = {.max = MAX_REPLY};
    unsigned pages = 0;
    long status;
    int rc = -1;

    snprintf(first, sizeof(first), "%u", g->page_size);
    if (!(url = api_url(g, "/v2/images?limit=%s", first))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    while (url) {
        if (max_pages && pages++ >= max_pages) {
            cg_error_set(err, CG_ERR_CAPACITY, "Glance provider %s: more than %u pages of images",
                         g->p.name, max_pages);
            goto cleanup;
        }
        if ((status = glance_get(g, url, &r, NULL, err)) < 0)
            goto cleanup;
        if (status != 200) {
            status_error(g, "image list", status, err);
            goto cleanup;
        }
        if (cg_glance_parse_images(r.data ? r.data : "", r.len, cb, arg, &next, err) < 0)
            goto cleanup;
        free(url);
        url = NULL;
        /* Loop until Glance sends no next link (a full page always has one). */
        if (next && !(url = cg_glance_resolve_next(g->p.url, next, err)))
            goto cleanup;
        free(next);
        next = NULL;
    }
    rc = 0;

cleanup:
    free(url);
    free(next);
    reply_release(&r);
    return rc;
}

int cg_glance_get_image(cg_glance *g, const char *id, cg_glance_image *out, cg_error *err)
{
    reply r = {.max = MAX_REPLY};
    char *url = NULL, what[128];
    long status;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    out->size = -1;
    if (check_id(g, id, err) < 0)
        return -1;
    if (!(url = api_url(g, "/v2/images/%s", id))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if ((status = glance_get(g, url, &r, NULL, err)) < 0)
        goto cleanup;
    if (status != 200) {
        snprintf(what, sizeof(what), "image %s", id);
        status_error(g, what, status, err);
        goto cleanup;
    }
    rc = cg_glance_parse_image(r.data ? r.data : "", r.len, out, err);

cleanup:
    free(url);
    reply_release(&r);
    return rc;
}

typedef struct download_ctx {
    cg_glance_verify *verify;
    cg_pipe *hash;          /* the bytes into verify, on a thread of its own */
    cg_glance_write_cb write;
    cg_glance_progress_cb progress;
    void *arg;
    long long total;
    long long done;
} download_ctx;

static size_t download_write(char *buf, size_t size, size_t nmemb, void *arg)
{
    download_ctx *d = arg;
    size_t n = size * nmemb;

    cg_error e = {0};

    if (cg_pipe_write(d->hash, buf, n, &e) < 0 || d->write(buf, n, d->arg) != 0)
        return 0;   /* curl reports CURLE_WRITE_ERROR: the caller aborted */
    d->done += (long long)n;
    return n;
}

/* The pipe's consumer: sha512 (or md5) of the bytes, off libcurl's thread
 * (computing it there halved an import's speed, bench/README.md). */
static int hash_chunk(void *arg, const void *buf, size_t len, cg_error *err)
{
    if (cg_glance_verify_update(arg, buf, len) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "computing the image's digest failed");
        return -1;
    }
    return 0;
}

static int download_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                             curl_off_t ulnow)
{
    download_ctx *d = arg;

    return d->progress ? d->progress(d->done, d->total, d->arg) : 0;
}

int cg_glance_download(cg_glance *g, const char *id, cg_glance_write_cb write,
                       cg_glance_progress_cb progress, void *arg, cg_glance_image *info,
                       cg_error *err)
{
    cg_glance_image im = {.size = -1};
    download_ctx d = {.write = write, .progress = progress, .arg = arg};
    reply r = {.max = 64 * 1024};
    char *url = NULL, what[128];
    get_opts o = {.stream = download_write, .stream_arg = &d,
                  .progress = download_progress, .progress_arg = &d};
    long status;
    int rc = -1;

    /* The record first: the size and hash to check the bytes against. */
    if (cg_glance_get_image(g, id, &im, err) < 0)
        goto cleanup;
    if (!im.status || strcmp(im.status, "active")) {
        cg_error_set(err, CG_ERR_STATE, "Glance provider %s: image %s is %s, not active",
                     g->p.name, id, im.status ? im.status : "of unknown status");
        goto cleanup;
    }
    if (!(d.verify = cg_glance_verify_new(&im, err)) ||
        !(d.hash = cg_pipe_new(1024 * 1024, hash_chunk, d.verify, err)))
        goto cleanup;
    d.total = im.size;
    if (!(url = api_url(g, "/v2/images/%s/file", id))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if ((status = glance_get(g, url, &r, &o, err)) < 0)
        goto cleanup;
    if (status != 200) {
        snprintf(what, sizeof(what), "data for image %s", id);
        status_error(g, what, status, err);
        goto cleanup;
    }
    if (cg_pipe_flush(d.hash, err) < 0)
        goto cleanup;
    if (cg_glance_verify_finish(d.verify, err) < 0) {
        /* Say which image: the message from verify names only the bytes. */
        cg_error err2 = {0};

        cg_error_set(&err2, err->kind, "Glance provider %s: image %s: %s", g->p.name, id,
                     err->message);
        *err = err2;
        goto cleanup;
    }
    if (progress)
        progress(d.done, d.total, arg);
    rc = 0;

cleanup:
    if (rc == 0 && info) {
        *info = im;
        memset(&im, 0, sizeof(im));
    }
    cg_glance_image_release(&im);
    cg_pipe_free(d.hash); /* before verify: its thread may be hashing */
    cg_glance_verify_free(d.verify);
    free(url);
    reply_release(&r);
    return rc;
}
