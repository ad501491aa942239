/* cloudgate engine: import sources (see import_source.h). */
#include "import_source.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../gateway/glance.h"
#include "../gateway/glance_store.h"
#include "../gateway/store.h"

#define READ_CHUNK (1024 * 1024)

typedef enum { SRC_GLANCE, SRC_HTTP, SRC_FILE } source_kind;

/* Split url into its kind and the rest: glance's "PROVIDER/ID", a file's
 * path, http's whole URL.  0 or -1. */
static int parse_url(const char *url, source_kind *kind, char *provider, size_t plen, char *rest,
                     size_t rlen, cg_error *err)
{
    const char *slash;

    if (!url || !*url) {
        cg_error_set(err, CG_ERR_MISSING, "an image URL is required");
        return -1;
    }
    if (strlen(url) >= rlen || strlen(url) >= 1024) {
        cg_error_set(err, CG_ERR_INVALID, "the URL is longer than 1023 characters");
        return -1;
    }
    if (strncmp(url, "glance://", 9) == 0) {
        *kind = SRC_GLANCE;
        slash = strchr(url + 9, '/');
        if (!slash || slash == url + 9 || !slash[1] || strchr(slash + 1, '/') ||
            (size_t)(slash - url - 9) >= plen) {
            cg_error_set(err, CG_ERR_INVALID, "'%.200s' is not glance://PROVIDER/IMAGE_ID", url);
            return -1;
        }
        snprintf(provider, plen, "%.*s", (int)(slash - url - 9), url + 9);
        snprintf(rest, rlen, "%s", slash + 1);
        return 0;
    }
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
        *kind = SRC_HTTP;
        snprintf(rest, rlen, "%s", url);
        return 0;
    }
    if (strncmp(url, "file://", 7) == 0) {
        *kind = SRC_FILE;
        if (url[7] != '/') {
            cg_error_set(err, CG_ERR_INVALID, "'%.200s' is not file:///ABSOLUTE/PATH", url);
            return -1;
        }
        snprintf(rest, rlen, "%s", url + 7);
        return 0;
    }
    cg_error_set(err, CG_ERR_INVALID,
                 "'%.200s' is not a glance://, http://, https:// or file:// URL", url);
    return -1;
}

int cg_source_path_allowed(const cg_config *cfg, const char *path, char *real, size_t len)
{
    char resolved[PATH_MAX], dir[PATH_MAX], one[PATH_MAX];
    const char *p = cfg->import_dirs;
    size_t n;

    if (!p || !realpath(path, resolved) || strlen(resolved) >= len)
        return 0;
    snprintf(real, len, "%s", resolved);
    while (p && *p) {
        p += strspn(p, ", ");
        n = strcspn(p, ",");
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n > 0 && n < sizeof(one)) {
            snprintf(one, sizeof(one), "%.*s", (int)n, p);
            /* The directory resolved too: /var/lib may itself be a link. */
            if (realpath(one, dir)) {
                size_t dl = strlen(dir);

                if (strncmp(resolved, dir, dl) == 0 && (resolved[dl] == '/' || dl == 1))
                    return 1;
            }
        }
        p += strcspn(p, ",");
    }
    return 0;
}

/* Resolve and open a file source.  fd or -1 (reported). */
static int open_file(const cg_config *cfg, const char *path, unsigned long long *size,
                     cg_error *err)
{
    char real[PATH_MAX];
    struct stat sb;
    int fd;

    if (!cg_source_path_allowed(cfg, path, real, sizeof(real))) {
        if (access(path, F_OK) < 0)
            cg_error_set(err, CG_ERR_INVALID, "cannot import %.300s: %s", path, strerror(errno));
        else
            cg_error_set(err, CG_ERR_INVALID,
                         "%.300s is not under a directory imports may read (import_dirs: %.200s)",
                         path, cfg->import_dirs ? cfg->import_dirs : "none");
        return -1;
    }
    if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &sb) < 0) {
        cg_error_set(err, CG_ERR_INVALID, "cannot read %.300s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        cg_error_set(err, CG_ERR_INVALID, "%.300s is not a regular file", path);
        close(fd);
        return -1;
    }
    *size = (unsigned long long)sb.st_size;
    return fd;
}

/* The provider called name, as a client.  NULL (reported: NOT_FOUND). */
static cg_glance *glance_client(const cg_config *cfg, const char *name, cg_error *err)
{
    cg_glance_provider p = {0};
    cg_glance *g = NULL;
    sqlite3 *db = cg_db_open(cfg, err);

    if (!db)
        return NULL;
    if (cg_glance_store_init(db, err) == 0 && cg_glance_provider_find(db, cfg, name, &p, err) == 0)
        g = cg_glance_new(&p, err);
    else if (err->kind == CG_ERR_NOT_FOUND)
        cg_error_set(err, CG_ERR_NOT_FOUND, "there is no Glance provider '%.100s'", name);
    cg_glance_provider_release(&p);
    cg_db_close(db);
    return g;
}

int cg_source_check(const cg_config *cfg, const char *url, cg_error *err)
{
    char provider[128], rest[1024];
    unsigned long long size;
    source_kind kind;
    cg_glance *g;
    int fd;

    if (parse_url(url, &kind, provider, sizeof(provider), rest, sizeof(rest), err) < 0)
        return -1;
    switch (kind) {
    case SRC_GLANCE:
        if (!(g = glance_client(cfg, provider, err)))
            return -1;
        cg_glance_free(g);
        return 0;
    case SRC_FILE:
        if ((fd = open_file(cfg, rest, &size, err)) < 0)
            return -1;
        close(fd);
        return 0;
    case SRC_HTTP:
        return 0;
    }
    return 0;
}

static int glance_stat(cg_glance *g, const char *provider, const char *id, cg_source_info *out,
                       cg_error *err)
{
    cg_glance_image im = {0};
    int ret = -1;

    if (cg_glance_get_image(g, id, &im, err) < 0)
        goto cleanup;
    if (!im.container_format || strcmp(im.container_format, "bare") != 0) {
        cg_error_set(err, CG_ERR_INVALID,
                     "Glance image %s has container format '%s': only 'bare' is imported", id,
                     im.container_format ? im.container_format : "none");
        goto cleanup;
    }
    if (!im.disk_format || (strcmp(im.disk_format, "qcow2") && strcmp(im.disk_format, "raw"))) {
        cg_error_set(err, CG_ERR_INVALID,
                     "Glance image %s has disk format '%s': only qcow2 and raw are imported", id,
                     im.disk_format ? im.disk_format : "none");
        goto cleanup;
    }
    if (!im.status || strcmp(im.status, "active") != 0 || im.size <= 0) {
        cg_error_set(err, CG_ERR_INVALID, "Glance image %s is %s, not active", id,
                     im.status ? im.status : "of unknown status");
        goto cleanup;
    }
    snprintf(out->format, sizeof(out->format), "%s", im.disk_format);
    snprintf(out->name, sizeof(out->name), "%s", im.name ? im.name : "");
    out->size = (unsigned long long)im.size;
    ret = 0;

cleanup:
    (void)provider;
    cg_glance_image_release(&im);
    return ret;
}

int cg_source_stat(const cg_config *cfg, const char *url, cg_source_info *out, cg_error *err)
{
    char provider[128], rest[1024];
    source_kind kind;
    const char *base;
    cg_glance *g;
    int fd, rc;

    memset(out, 0, sizeof(*out));
    if (parse_url(url, &kind, provider, sizeof(provider), rest, sizeof(rest), err) < 0)
        return -1;
    switch (kind) {
    case SRC_GLANCE:
        if (!(g = glance_client(cfg, provider, err)))
            return -1;
        rc = glance_stat(g, provider, rest, out, err);
        cg_glance_free(g);
        return rc;
    case SRC_FILE:
        if ((fd = open_file(cfg, rest, &out->size, err)) < 0)
            return -1;
        close(fd);
        base = strrchr(rest, '/');
        snprintf(out->name, sizeof(out->name), "%.255s", base ? base + 1 : rest);
        return 0;
    case SRC_HTTP:
        return 0; /* the size comes with the answer */
    }
    return 0;
}

/* ---- fetching ---------------------------------------------------------- */

typedef struct fetch_ctx {
    cg_source_write_fn write;
    cg_source_cancel_fn cancelled;
    void *arg;
    cg_source_info *info;
    cg_error *err;
    int failed;               /* write said stop (err set) */
    int stopped;              /* cancelled */
    CURL *curl;
} fetch_ctx;

static int glance_write(const void *buf, size_t len, void *arg)
{
    fetch_ctx *f = arg;

    if (f->write(buf, len, f->arg, f->err) != 0) {
        f->failed = 1;
        return 1;
    }
    return 0;
}

static int glance_progress(long long done, long long total, void *arg)
{
    fetch_ctx *f = arg;

    (void)done;
    (void)total;
    if (f->cancelled && f->cancelled(f->arg)) {
        f->stopped = 1;
        return 1;
    }
    return 0;
}

static int fetch_glance(const cg_config *cfg, const char *provider, const char *id, fetch_ctx *f)
{
    cg_glance_image im = {0};
    cg_error gerr = {0};
    cg_glance *g;
    int rc;

    if (!(g = glance_client(cfg, provider, f->err)))
        return -1;
    if (f->info->size == 0 && glance_stat(g, provider, id, f->info, f->err) < 0) {
        cg_glance_free(g);
        return -1;
    }
    rc = cg_glance_download(g, id, glance_write, glance_progress, f, &im, &gerr);
    if (rc == 0)
        snprintf(f->info->verified, sizeof(f->info->verified), "%s",
                 im.os_hash_value && im.os_hash_algo ? im.os_hash_algo
                 : im.checksum                        ? "md5"
                                                      : "");
    else if (!f->failed)
        *f->err = gerr; /* the writer's own error stays otherwise */
    cg_glance_image_release(&im);
    cg_glance_free(g);
    return rc;
}

static size_t http_write(char *buf, size_t size, size_t nmemb, void *arg)
{
    fetch_ctx *f = arg;
    size_t len = size * nmemb;

    if (f->info->size == 0) {
        curl_off_t cl = -1;
        long status = 0;

        curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(f->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        if (cl <= 0) {
            cg_error_set(f->err, CG_ERR_INVALID,
                         "the server sent no Content-Length: the image's size must be known");
            f->failed = 1;
            return 0;
        }
        f->info->size = (unsigned long long)cl;
    }
    if (f->write(buf, len, f->arg, f->err) != 0) {
        f->failed = 1;
        return 0;
    }
    return len;
}

static int http_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return glance_progress(0, 0, arg);
}

static int fetch_http(const char *url, fetch_ctx *f)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode rc;
    long status = 0;
    int ret = -1;

    if (cg_curl_ready(f->err) < 0)
        return -1;
    if (!(f->curl = curl_easy_init())) {
        cg_error_set(f->err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    curl_easy_setopt(f->curl, CURLOPT_URL, url);
    curl_easy_setopt(f->curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(f->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(f->curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(f->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(f->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(f->curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(f->curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(f->curl, CURLOPT_CONNECTTIMEOUT, 30L);
    /* A stalled server ends the import instead of holding a job thread. */
    curl_easy_setopt(f->curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(f->curl, CURLOPT_LOW_SPEED_TIME, 120L);
    curl_easy_setopt(f->curl, CURLOPT_BUFFERSIZE, CG_DOWNLOAD_BUFFER);
    curl_easy_setopt(f->curl, CURLOPT_USERAGENT, "cloudgate");
    curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, http_write);
    curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(f->curl, CURLOPT_XFERINFOFUNCTION, http_progress);
    curl_easy_setopt(f->curl, CURLOPT_XFERINFODATA, f);
    curl_easy_setopt(f->curl, CURLOPT_NOPROGRESS, 0L);
    rc = curl_easy_perform(f->curl);
    if (rc == CURLE_OK) {
        ret = 0;
    } else if (!f->failed && !f->stopped) {
        curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_HTTP_RETURNED_ERROR)
            cg_error_set(f->err, CG_ERR_INVALID, "%.300s answered HTTP %ld", url, status);
        else
            cg_error_set(f->err, CG_ERR_INVALID, "cannot download %.300s: %s", url,
                         errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    curl_easy_cleanup(f->curl);
    f->curl = NULL;
    return ret;
}

static int fetch_file(const cg_config *cfg, const char *path, fetch_ctx *f)
{
    unsigned long long size = 0, done = 0;
    char *buf = NULL;
    ssize_t n;
    int fd, ret = -1;

    if ((fd = open_file(cfg, path, &size, f->err)) < 0)
        return -1;
    f->info->size = size;
    if (!(buf = malloc(READ_CHUNK))) {
        cg_error_set(f->err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    while (done < size) {
        if (f->cancelled && f->cancelled(f->arg)) {
            f->stopped = 1;
            goto cleanup;
        }
        n = read(fd, buf, READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            cg_error_set(f->err, CG_ERR_INVALID, "reading %.300s: %s", path,
                         n < 0 ? strerror(errno) : "the file shrank while being read");
            goto cleanup;
        }
        if ((unsigned long long)n > size - done)
            n = (ssize_t)(size - done); /* grew meanwhile: the size we announced wins */
        if (f->write(buf, (size_t)n, f->arg, f->err) != 0)
            goto cleanup;
        done += (unsigned long long)n;
    }
    ret = 0;

cleanup:
    free(buf);
    close(fd);
    return ret;
}

int cg_source_fetch(const cg_config *cfg, const char *url, cg_source_write_fn write,
                    cg_source_cancel_fn cancelled, void *arg, cg_source_info *info,
                    cg_error *err)
{
    fetch_ctx f = {.write = write, .cancelled = cancelled, .arg = arg, .info = info, .err = err};
    char provider[128], rest[1024];
    source_kind kind;
    int rc = -1;

    if (parse_url(url, &kind, provider, sizeof(provider), rest, sizeof(rest), err) < 0)
        return -1;
    switch (kind) {
    case SRC_GLANCE:
        rc = fetch_glance(cfg, provider, rest, &f);
        break;
    case SRC_HTTP:
        rc = fetch_http(rest, &f);
        break;
    case SRC_FILE:
        rc = fetch_file(cfg, rest, &f);
        break;
    }
    if (rc < 0 && f.stopped)
        cg_error_set(err, CG_ERR_STATE, "cancelled");
    return rc;
}

int cg_source_display(const char *url, char *buf, size_t len)
{
    CURLU *u = NULL;
    char *pw = NULL, *query = NULL, *shown = NULL;
    int ret = -1;

    if (!url || strncmp(url, "http", 4) != 0) {   /* glance:// and file:// carry no secret */
        snprintf(buf, len, "%s", url ? url : "");
        return 0;
    }
    /* A password in the authority or a token in the query (presigned URLs)
     * must not reach the job record, DescribeImportImageTasks or the log. */
    if (!(u = curl_url()) || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto cleanup;
    if (curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_PASSWORD, "***", 0) != CURLUE_OK)
        goto cleanup;
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_QUERY, "***", 0) != CURLUE_OK)
        goto cleanup;
    if (curl_url_get(u, CURLUPART_URL, &shown, 0) != CURLUE_OK)
        goto cleanup;
    snprintf(buf, len, "%s", shown);
    ret = 0;

cleanup:
    if (ret < 0)
        snprintf(buf, len, "(an http(s) URL)");
    curl_free(pw);
    curl_free(query);
    curl_free(shown);
    curl_url_cleanup(u);
    return ret;
}
