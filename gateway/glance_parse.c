/* cloudgate: the pure parts of the Glance client: provider records, JSON
 * parsing, next-link resolution and streaming hash verification. */
#include "glance.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/evp.h>

/* ---- provider records ---- */

static int is_http_url(const char *s)
{
    const char *host;

    if (!strncmp(s, "http://", 7))
        host = s + 7;
    else if (!strncmp(s, "https://", 8))
        host = s + 8;
    else
        return 0;
    /* A host, and nothing that could split a header or a request line. */
    if (!*host || *host == '/')
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

int cg_glance_provider_set(cg_glance_provider *p, const char *key, const char *value, char *why,
                           size_t whylen)
{
    static const struct {
        const char *key;
        size_t offset;
    } keys[] = {
        {"url", offsetof(cg_glance_provider, url)},
        {"keystone_url", offsetof(cg_glance_provider, keystone_url)},
        {"user", offsetof(cg_glance_provider, user)},
        {"password_file", offsetof(cg_glance_provider, password_file)},
        {"project", offsetof(cg_glance_provider, project)},
        {"domain", offsetof(cg_glance_provider, domain)},
        {"ca_file", offsetof(cg_glance_provider, ca_file)},
    };

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(key, keys[i].key) != 0)
            continue;
        if (!*value) {
            snprintf(why, whylen, "must not be empty");
            return -1;
        }
        if ((!strcmp(key, "url") || !strcmp(key, "keystone_url")) && !is_http_url(value)) {
            snprintf(why, whylen, "'%s' is not an http:// or https:// URL", value);
            return -1;
        }
        if (cg_set_str((char **)((char *)p + keys[i].offset), value) < 0) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        return 0;
    }
    snprintf(why, whylen, "unknown key in [glance]");
    return -1;
}

int cg_glance_provider_check(const cg_glance_provider *p, char *why, size_t whylen)
{
    const char *s;

    if (!p->name || !*p->name) {
        snprintf(why, whylen, "a provider needs a name");
        return -1;
    }
    for (s = p->name; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-._", *s)) {
            snprintf(why, whylen, "name '%s': only letters, digits, '-', '.', '_'", p->name);
            return -1;
        }
    if (!p->url || !is_http_url(p->url)) {
        snprintf(why, whylen, "url must be an http:// or https:// URL");
        return -1;
    }
    if (p->keystone_url && !is_http_url(p->keystone_url)) {
        snprintf(why, whylen, "keystone_url must be an http:// or https:// URL");
        return -1;
    }
    if ((p->password_file || p->project) && !p->user) {
        snprintf(why, whylen, "password_file and project need user");
        return -1;
    }
    if (p->user && (!p->keystone_url || !p->password_file || !p->project)) {
        snprintf(why, whylen, "user needs keystone_url, password_file and project");
        return -1;
    }
    if (p->keystone_url && !p->user) {
        snprintf(why, whylen, "keystone_url needs user, password_file and project");
        return -1;
    }
    return 0;
}

int cg_glance_provider_copy(cg_glance_provider *dst, const cg_glance_provider *src)
{
    const char *const *from[] = {
        (const char *const *)&src->name,         (const char *const *)&src->url,
        (const char *const *)&src->keystone_url, (const char *const *)&src->user,
        (const char *const *)&src->password_file, (const char *const *)&src->project,
        (const char *const *)&src->domain,       (const char *const *)&src->ca_file,
    };
    char **to[] = {&dst->name,    &dst->url,     &dst->keystone_url, &dst->user,
                   &dst->password_file, &dst->project, &dst->domain, &dst->ca_file};

    memset(dst, 0, sizeof(*dst));
    dst->origin = src->origin;
    for (size_t i = 0; i < sizeof(to) / sizeof(to[0]); i++) {
        if (*from[i] && !(*to[i] = strdup(*from[i]))) {
            cg_glance_provider_release(dst);
            return -1;
        }
    }
    return 0;
}

void cg_glance_provider_release(cg_glance_provider *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->url);
    free(p->keystone_url);
    free(p->user);
    free(p->password_file);
    free(p->project);
    free(p->domain);
    free(p->ca_file);
    memset(p, 0, sizeof(*p));
}

void cg_glance_provider_list_release(cg_glance_provider_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        cg_glance_provider_release(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int cg_glance_provider_list_add(cg_glance_provider_list *l, const cg_glance_provider *p)
{
    cg_glance_provider *v = realloc(l->v, (l->n + 1) * sizeof(*v));

    if (!v)
        return -1;
    l->v = v;
    if (cg_glance_provider_copy(&l->v[l->n], p) < 0)
        return -1;
    l->n++;
    return 0;
}

/* ---- JSON ---- */

void cg_glance_image_release(cg_glance_image *im)
{
    if (!im)
        return;
    free(im->id);
    free(im->name);
    free(im->status);
    free(im->disk_format);
    free(im->container_format);
    free(im->checksum);
    free(im->os_hash_algo);
    free(im->os_hash_value);
    memset(im, 0, sizeof(*im));
    im->size = -1;
}

static int get_str(json_object *o, const char *key, char **out)
{
    json_object *v;

    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return 0;
    return (*out = strdup(json_object_get_string(v))) ? 0 : -1;
}

/* One image object into *out; needs at least an id. */
static int image_from_json(json_object *o, cg_glance_image *out, cg_error *err)
{
    json_object *v;

    memset(out, 0, sizeof(*out));
    out->size = -1;
    if (!json_object_is_type(o, json_type_object)) {
        cg_error_set(err, CG_ERR_INTERNAL, "Glance sent an image that is not a JSON object");
        return -1;
    }
    if (get_str(o, "id", &out->id) < 0 || get_str(o, "name", &out->name) < 0 ||
        get_str(o, "status", &out->status) < 0 ||
        get_str(o, "disk_format", &out->disk_format) < 0 ||
        get_str(o, "container_format", &out->container_format) < 0 ||
        get_str(o, "checksum", &out->checksum) < 0 ||
        get_str(o, "os_hash_algo", &out->os_hash_algo) < 0 ||
        get_str(o, "os_hash_value", &out->os_hash_value) < 0) {
        cg_glance_image_release(out);
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    if (json_object_object_get_ex(o, "size", &v) && json_object_is_type(v, json_type_int) &&
        json_object_get_int64(v) >= 0)
        out->size = json_object_get_int64(v);
    if (!out->id) {
        cg_glance_image_release(out);
        cg_error_set(err, CG_ERR_INTERNAL, "Glance sent an image without an id");
        return -1;
    }
    return 0;
}

static json_object *parse_json(const char *json, size_t len, const char *what, cg_error *err)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = NULL;

    if (!tok) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    o = json_tokener_parse_ex(tok, json, (int)len);
    if (!o || json_tokener_get_error(tok) != json_tokener_success ||
        !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
        cg_error_set(err, CG_ERR_INTERNAL, "%s is not a JSON object", what);
    }
    json_tokener_free(tok);
    return o;
}

int cg_glance_parse_images(const char *json, size_t len, cg_glance_image_cb cb, void *arg,
                           char **next, cg_error *err)
{
    json_object *root = NULL, *images, *v;
    cg_glance_image im;
    int rc = -1;

    *next = NULL;
    if (len > 0x7fffffff) {
        cg_error_set(err, CG_ERR_INTERNAL, "Glance image list too large");
        return -1;
    }
    if (!(root = parse_json(json, len, "Glance's image list", err)))
        goto cleanup;
    if (!json_object_object_get_ex(root, "images", &images) ||
        !json_object_is_type(images, json_type_array)) {
        cg_error_set(err, CG_ERR_INTERNAL, "Glance's image list has no \"images\" array");
        goto cleanup;
    }
    if (json_object_object_get_ex(root, "next", &v) && json_object_is_type(v, json_type_string) &&
        !(*next = strdup(json_object_get_string(v)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < json_object_array_length(images); i++) {
        int stop;

        if (image_from_json(json_object_array_get_idx(images, i), &im, err) < 0)
            goto cleanup;
        stop = cb(&im, arg);
        cg_glance_image_release(&im);
        if (stop) {
            /* The caller has seen enough: no next page. */
            free(*next);
            *next = NULL;
            break;
        }
    }
    rc = 0;

cleanup:
    if (rc < 0) {
        free(*next);
        *next = NULL;
    }
    json_object_put(root);
    return rc;
}

int cg_glance_parse_image(const char *json, size_t len, cg_glance_image *out, cg_error *err)
{
    json_object *root;
    int rc;

    memset(out, 0, sizeof(*out));
    out->size = -1;
    if (len > 0x7fffffff || !(root = parse_json(json, len, "Glance's image record", err)))
        return -1;
    rc = image_from_json(root, out, err);
    json_object_put(root);
    return rc;
}

int cg_glance_parse_time(const char *s, time_t *out)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    if (!s || !(end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
        return -1;
    /* Fractional seconds, then Z (Keystone writes UTC). */
    if (*end == '.') {
        end++;
        if (!isdigit((unsigned char)*end))
            return -1;
        while (isdigit((unsigned char)*end))
            end++;
    }
    if (strcmp(end, "Z") && strcmp(end, "+00:00") && *end)
        return -1;
    *out = timegm(&tm);
    return *out == (time_t)-1 ? -1 : 0;
}

int cg_glance_parse_token(const char *json, size_t len, time_t *issued, time_t *expires,
                          cg_error *err)
{
    json_object *root, *token, *v;
    int rc = -1;

    if (len > 0x7fffffff || !(root = parse_json(json, len, "Keystone's token", err)))
        return -1;
    if (!json_object_object_get_ex(root, "token", &token) ||
        !json_object_object_get_ex(token, "expires_at", &v) ||
        cg_glance_parse_time(json_object_get_string(v), expires) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "Keystone's token has no valid expires_at");
        goto cleanup;
    }
    /* issued_at only shortens the renewal margin for short-lived tokens. */
    if (!json_object_object_get_ex(token, "issued_at", &v) ||
        cg_glance_parse_time(json_object_get_string(v), issued) < 0)
        *issued = *expires - 3600;
    rc = 0;

cleanup:
    json_object_put(root);
    return rc;
}

int cg_glance_token_stale(time_t now, time_t issued, time_t expires)
{
    time_t margin = 60;

    if (expires > issued && (expires - issued) / 3 < margin)
        margin = (expires - issued) / 3;
    return expires - now < margin;
}

/* Length of "scheme://host[:port]" in url. */
static size_t origin_len(const char *url)
{
    const char *host = strstr(url, "://");

    if (!host)
        return 0;
    host += 3;
    return (size_t)(host - url) + strcspn(host, "/?#");
}

char *cg_glance_resolve_next(const char *base, const char *next, cg_error *err)
{
    size_t blen = strlen(base), olen;
    char *out;

    for (const char *s = next; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
            cg_error_set(err, CG_ERR_INTERNAL, "Glance sent a malformed next link");
            return NULL;
        }
    if (next[0] == '/' && next[1] != '/') {
        while (blen > 0 && base[blen - 1] == '/')
            blen--;
        if (!(out = malloc(blen + strlen(next) + 1))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            return NULL;
        }
        memcpy(out, base, blen);
        strcpy(out + blen, next);
        return out;
    }
    olen = origin_len(base);
    if (olen && origin_len(next) == olen && !strncasecmp(base, next, olen)) {
        if (!(out = strdup(next)))
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return out;
    }
    cg_error_set(err, CG_ERR_INTERNAL, "Glance sent a next link to another server: %.200s", next);
    return NULL;
}

/* ---- verification ---- */

struct cg_glance_verify {
    EVP_MD_CTX *ctx;        /* NULL: size only */
    char algo[32];
    char expected[EVP_MAX_MD_SIZE * 2 + 1];
    long long size;         /* -1: unknown */
    long long seen;
};

cg_glance_verify *cg_glance_verify_new(const cg_glance_image *im, cg_error *err)
{
    cg_glance_verify *v = calloc(1, sizeof(*v));
    const EVP_MD *md = NULL;
    const char *value = NULL;

    if (!v) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    v->size = im->size;
    if (im->os_hash_algo && im->os_hash_value && (md = EVP_get_digestbyname(im->os_hash_algo)))
        value = im->os_hash_value;
    else if (im->checksum && (md = EVP_md5()))
        value = im->checksum;
    if (md && strlen(value) == (size_t)EVP_MD_size(md) * 2) {
        snprintf(v->algo, sizeof(v->algo), "%s", md == EVP_md5() ? "md5" : im->os_hash_algo);
        snprintf(v->expected, sizeof(v->expected), "%s", value);
        if (!(v->ctx = EVP_MD_CTX_new()) || EVP_DigestInit_ex(v->ctx, md, NULL) != 1) {
            cg_glance_verify_free(v);
            cg_error_set(err, CG_ERR_INTERNAL, "cannot start a %s digest", v->algo);
            return NULL;
        }
    } else {
        snprintf(v->algo, sizeof(v->algo), "none");
    }
    return v;
}

int cg_glance_verify_update(cg_glance_verify *v, const void *buf, size_t len)
{
    v->seen += (long long)len;
    if (v->ctx && EVP_DigestUpdate(v->ctx, buf, len) != 1)
        return -1;
    return 0;
}

int cg_glance_verify_finish(cg_glance_verify *v, cg_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    char hex[EVP_MAX_MD_SIZE * 2 + 1];
    unsigned mdlen = 0;

    if (v->size >= 0 && v->seen != v->size) {
        cg_error_set(err, CG_ERR_INTERNAL, "size mismatch: got %lld bytes, Glance says %lld",
                     v->seen, v->size);
        return -1;
    }
    if (!v->ctx)
        return 0;
    if (EVP_DigestFinal_ex(v->ctx, md, &mdlen) != 1) {
        cg_error_set(err, CG_ERR_INTERNAL, "%s digest failed", v->algo);
        return -1;
    }
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[2 * mdlen] = '\0';
    if (strcasecmp(hex, v->expected) != 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "checksum mismatch: %s of the data is %.16s..., "
                     "Glance says %.16s...", v->algo, hex, v->expected);
        return -1;
    }
    return 0;
}

const char *cg_glance_verify_algo(const cg_glance_verify *v)
{
    return v->algo;
}

void cg_glance_verify_free(cg_glance_verify *v)
{
    if (!v)
        return;
    EVP_MD_CTX_free(v->ctx);
    free(v);
}
