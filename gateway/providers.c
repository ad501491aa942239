/* cloudgate: named providers in the configuration and in SQLite. */
#include "providers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "glance_store.h"
#include "store.h"
#include "v2v_provider.h"

#define MAX_NAME 64
#define MAX_VALUE 4096

static const cg_provider_kind *const kinds[] = {&cg_v2v_kind, &cg_glance_kind, NULL};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS providers ("
    " kind TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " settings TEXT NOT NULL,"   /* a JSON object of strings; never a secret */
    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
    " PRIMARY KEY (kind, name));";

int cg_providers_init(sqlite3 *db, cg_error *err)
{
    return cg_db_exec(db, schema, err);
}

const cg_provider_kind *cg_provider_kind_find(const char *name)
{
    for (size_t i = 0; kinds[i]; i++)
        if (!strcmp(kinds[i]->name, name))
            return kinds[i];
    return NULL;
}

int cg_provider_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > MAX_NAME || name[0] == '-' || name[0] == '.')
        return 0;
    for (const char *s = name; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *s))
            return 0;
    return 1;
}

const char *cg_provider_get(const cg_provider *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->keys[i], key))
            return p->values[i];
    return NULL;
}

static int key_allowed(const cg_provider_kind *k, const char *key)
{
    for (size_t i = 0; k->keys[i]; i++)
        if (!strcmp(k->keys[i], key))
            return 1;
    return 0;
}

int cg_provider_set(cg_provider *p, const char *key, const char *value, char *why, size_t whylen)
{
    const cg_provider_kind *k = cg_provider_kind_find(p->kind);
    char **keys, **values, *dup;

    if (k && k->check_value && k->check_value(key, value, why, whylen) < 0)
        return -1;
    if (!k || !key_allowed(k, key)) {
        snprintf(why, whylen, "unknown key '%s' for a %s", key, k ? k->label : "provider");
        return -1;
    }
    if (strlen(value) > MAX_VALUE) {
        snprintf(why, whylen, "%s is longer than %d bytes", key, MAX_VALUE);
        return -1;
    }
    for (const char *s = value; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            snprintf(why, whylen, "%s has a control character", key);
            return -1;
        }
    if (!(dup = strdup(value)))
        goto oom;
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->keys[i], key)) {
            free(p->values[i]);
            p->values[i] = dup;
            return 0;
        }
    if (!(keys = realloc(p->keys, (p->n + 1) * sizeof(*keys))))
        goto oom;
    p->keys = keys;
    if (!(values = realloc(p->values, (p->n + 1) * sizeof(*values))))
        goto oom;
    p->values = values;
    if (!(p->keys[p->n] = strdup(key)))
        goto oom;
    p->values[p->n++] = dup;
    return 0;

oom:
    free(dup);
    snprintf(why, whylen, "out of memory");
    return -1;
}

int cg_provider_check(const cg_provider *p, char *why, size_t whylen)
{
    const cg_provider_kind *k = p->kind ? cg_provider_kind_find(p->kind) : NULL;

    if (!k) {
        snprintf(why, whylen, "unknown provider kind");
        return -1;
    }
    if (!p->name || !cg_provider_name_ok(p->name)) {
        snprintf(why, whylen, "a %s name is 1..%d of A-Z a-z 0-9 . _ - (not starting with "
                 "'-' or '.')", k->label, MAX_NAME);
        return -1;
    }
    return k->check(p, why, whylen);
}

cg_provider *cg_provider_list_new(cg_provider_list *l, const char *kind, const char *name,
                                  cg_provider_origin origin)
{
    cg_provider *v = realloc(l->v, (l->n + 1) * sizeof(*v)), *p;

    if (!v)
        return NULL;
    l->v = v;
    p = &l->v[l->n];
    memset(p, 0, sizeof(*p));
    p->origin = origin;
    if (!(p->kind = strdup(kind)) || !(p->name = strdup(name))) {
        cg_provider_release(p);
        return NULL;
    }
    l->n++;
    return p;
}

void cg_provider_release(cg_provider *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->keys[i]);
        free(p->values[i]);
    }
    free(p->keys);
    free(p->values);
    free(p->kind);
    free(p->name);
    memset(p, 0, sizeof(*p));
}

void cg_provider_list_release(cg_provider_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        cg_provider_release(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static const cg_provider *config_find(const cg_config *cfg, const char *kind, const char *name)
{
    for (size_t i = 0; i < cfg->providers.n; i++)
        if (!strcmp(cfg->providers.v[i].kind, kind) && !strcmp(cfg->providers.v[i].name, name))
            return &cfg->providers.v[i];
    return NULL;
}

/* Deep copy of src appended to l.  0 or -1 (out of memory). */
static int list_add_copy(cg_provider_list *l, const cg_provider *src)
{
    char why[64];
    cg_provider *p = cg_provider_list_new(l, src->kind, src->name, src->origin);

    if (!p)
        return -1;
    for (size_t i = 0; i < src->n; i++)
        if (cg_provider_set(p, src->keys[i], src->values[i], why, sizeof(why)) < 0)
            return -1;
    return 0;
}

int cg_providers_add(sqlite3 *db, const cg_config *cfg, const cg_provider *p, cg_error *err)
{
    const cg_provider_kind *k = cg_provider_kind_find(p->kind ? p->kind : "");
    json_object *obj = NULL;
    cg_error dberr = {0};
    char why[256];
    int rc = -1;

    if (cg_provider_check(p, why, sizeof(why)) < 0) {
        cg_error_set(err, CG_ERR_INVALID, "%s", why);
        return -1;
    }
    if (config_find(cfg, p->kind, p->name)) {
        cg_error_set(err, CG_ERR_CONFLICT, "%s %s is in the configuration file", k->label,
                     p->name);
        return -1;
    }
    if (!(obj = json_object_new_object())) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < p->n; i++) {
        json_object *v = json_object_new_string(p->values[i]);

        if (!v || json_object_object_add(obj, p->keys[i], v) < 0) {
            json_object_put(v);
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
    }
    if (cg_providers_init(db, err) < 0)
        goto cleanup;
    if (cg_db_run(db, &dberr, "add provider",
                  "INSERT INTO providers (kind, name, settings) VALUES (?, ?, ?)", "sss", p->kind,
                  p->name, json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE)) < 0) {
        if (dberr.kind == CG_ERR_CONFLICT)
            cg_error_set(err, CG_ERR_CONFLICT, "%s %s already exists", k->label, p->name);
        else
            cg_error_set(err, dberr.kind, "%s", dberr.message);
        goto cleanup;
    }
    rc = 0;

cleanup:
    json_object_put(obj);
    return rc;
}

int cg_providers_remove(sqlite3 *db, const cg_config *cfg, const char *kind, const char *name,
                        cg_error *err)
{
    const cg_provider_kind *k = cg_provider_kind_find(kind);
    int n;

    if (!k) {
        cg_error_set(err, CG_ERR_INVALID, "unknown provider kind %s", kind);
        return -1;
    }
    if (config_find(cfg, kind, name)) {
        cg_error_set(err, CG_ERR_FORBIDDEN, "%s %s comes from the configuration file: remove "
                     "its [%s %s] section there", k->label, name, kind, name);
        return -1;
    }
    if (cg_providers_init(db, err) < 0)
        return -1;
    n = cg_db_run(db, err, "remove provider",
                  "DELETE FROM providers WHERE kind = ? AND name = ?", "ss", kind, name);
    if (n == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "no %s called %s", k->label, name);
    return n > 0 ? 0 : -1;
}

/* A row's settings into p.  A row that is not a JSON object of strings (an
 * edited database) loses the odd keys rather than the whole list. */
static int load_settings(cg_provider *p, const char *json)
{
    json_object *obj = json ? json_tokener_parse(json) : NULL;
    char why[64];
    int rc = 0;

    if (!obj || !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        return 0;
    }
    json_object_object_foreach(obj, key, val) {
        if (!json_object_is_type(val, json_type_string))
            continue;
        if (cg_provider_set(p, key, json_object_get_string(val), why, sizeof(why)) < 0 &&
            !strcmp(why, "out of memory")) {
            rc = -1;
            break;
        }
    }
    json_object_put(obj);
    return rc;
}

int cg_providers_list(sqlite3 *db, const cg_config *cfg, const char *kind, cg_provider_list *out,
                      cg_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = -1, src;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < cfg->providers.n; i++)
        if (!strcmp(cfg->providers.v[i].kind, kind) &&
            list_add_copy(out, &cfg->providers.v[i]) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
    if (!db) {
        rc = 0;
        goto cleanup;
    }
    if (cg_providers_init(db, err) < 0)
        goto cleanup;
    if (!(st = cg_db_prep(db, err, "SELECT name, settings FROM providers WHERE kind = ?"
                                   " ORDER BY name", "s", kind)))
        goto cleanup;
    while ((src = cg_db_step(st, err, "list providers")) == 1) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        cg_provider *p;

        if (!name)
            continue;
        if (!(p = cg_provider_list_new(out, kind, name, CG_PROVIDER_FROM_RUNTIME)) ||
            load_settings(p, (const char *)sqlite3_column_text(st, 1)) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
    }
    if (src == 0)
        rc = 0;

cleanup:
    cg_db_done(st);
    if (rc < 0)
        cg_provider_list_release(out);
    return rc;
}

int cg_provider_find(sqlite3 *db, const cg_config *cfg, const char *kind, const char *name,
                     cg_provider *out, cg_error *err)
{
    const cg_provider_kind *k = cg_provider_kind_find(kind);
    cg_provider_list all;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (cg_providers_list(db, cfg, kind, &all, err) < 0)
        return -1;
    for (size_t i = 0; i < all.n; i++)
        if (!strcmp(all.v[i].name, name)) {
            *out = all.v[i];
            memset(&all.v[i], 0, sizeof(all.v[i]));
            rc = 0;
            break;
        }
    if (rc < 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "no %s called %s (see %s-list)",
                     k ? k->label : "provider", name, kind);
    cg_provider_list_release(&all);
    return rc;
}
