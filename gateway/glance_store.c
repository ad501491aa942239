/* cloudgate: runtime Glance providers in SQLite. */
#include "glance_store.h"

#include <string.h>

#include "store.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS glance_providers ("
    " name TEXT PRIMARY KEY,"
    " url TEXT NOT NULL,"
    " keystone_url TEXT,"
    " user TEXT,"
    " password_file TEXT,"   /* a path: the password stays in that file */
    " project TEXT,"
    " domain TEXT,"
    " ca_file TEXT,"
    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')));";

int cg_glance_store_init(sqlite3 *db, cg_error *err)
{
    return cg_db_exec(db, schema, err);
}

static const cg_glance_provider *config_find(const cg_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->glance.n; i++)
        if (!strcmp(cfg->glance.v[i].name, name))
            return &cfg->glance.v[i];
    return NULL;
}

static void bind_opt(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

int cg_glance_store_add(sqlite3 *db, const cg_config *cfg, const cg_glance_provider *p,
                        cg_error *err)
{
    sqlite3_stmt *st = NULL;
    char why[256];
    int rc = -1, src;

    if (cg_glance_provider_check(p, why, sizeof(why)) < 0) {
        cg_error_set(err, CG_ERR_INVALID, "%s", why);
        return -1;
    }
    if (config_find(cfg, p->name)) {
        cg_error_set(err, CG_ERR_CONFLICT, "Glance provider %s is in the configuration file",
                     p->name);
        return -1;
    }
    if (cg_glance_store_init(db, err) < 0)
        return -1;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO glance_providers (name, url, keystone_url, user,"
                           " password_file, project, domain, ca_file)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                           -1, &st, NULL) != SQLITE_OK) {
        cg_error_set(err, CG_ERR_INTERNAL, "database: %s", sqlite3_errmsg(db));
        goto cleanup;
    }
    bind_opt(st, 1, p->name);
    bind_opt(st, 2, p->url);
    bind_opt(st, 3, p->keystone_url);
    bind_opt(st, 4, p->user);
    bind_opt(st, 5, p->password_file);
    bind_opt(st, 6, p->project);
    bind_opt(st, 7, p->domain);
    bind_opt(st, 8, p->ca_file);
    src = sqlite3_step(st);
    if (src == SQLITE_CONSTRAINT) {
        cg_error_set(err, CG_ERR_CONFLICT, "Glance provider %s already exists", p->name);
        goto cleanup;
    }
    if (src != SQLITE_DONE) {
        cg_error_set(err, CG_ERR_INTERNAL, "database: %s", sqlite3_errmsg(db));
        goto cleanup;
    }
    rc = 0;

cleanup:
    sqlite3_finalize(st);
    return rc;
}

int cg_glance_store_remove(sqlite3 *db, const cg_config *cfg, const char *name, cg_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (config_find(cfg, name)) {
        cg_error_set(err, CG_ERR_FORBIDDEN, "Glance provider %s comes from the configuration "
                     "file: remove its [glance %s] section there", name, name);
        return -1;
    }
    if (cg_glance_store_init(db, err) < 0)
        return -1;
    if (sqlite3_prepare_v2(db, "DELETE FROM glance_providers WHERE name = ?1", -1, &st, NULL) !=
        SQLITE_OK) {
        cg_error_set(err, CG_ERR_INTERNAL, "database: %s", sqlite3_errmsg(db));
        goto cleanup;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        cg_error_set(err, CG_ERR_INTERNAL, "database: %s", sqlite3_errmsg(db));
        goto cleanup;
    }
    if (sqlite3_changes(db) == 0) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "no Glance provider called %s", name);
        goto cleanup;
    }
    rc = 0;

cleanup:
    sqlite3_finalize(st);
    return rc;
}

static const char *col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

int cg_glance_providers(sqlite3 *db, const cg_config *cfg, cg_glance_provider_list *out,
                        cg_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = -1, src;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < cfg->glance.n; i++) {
        if (cg_glance_provider_list_add(out, &cfg->glance.v[i]) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
    }
    if (!db) {
        rc = 0;
        goto cleanup;
    }
    if (cg_glance_store_init(db, err) < 0)
        goto cleanup;
    if (sqlite3_prepare_v2(db,
                           "SELECT name, url, keystone_url, user, password_file, project, domain,"
                           " ca_file FROM glance_providers ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK) {
        cg_error_set(err, CG_ERR_INTERNAL, "database: %s", sqlite3_errmsg(db));
        goto cleanup;
    }
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        /* Borrowed column text: the list copies it. */
        cg_glance_provider p = {
            .name = (char *)col(st, 0), .url = (char *)col(st, 1),
            .keystone_url = (char *)col(st, 2), .user = (char *)col(st, 3),
            .password_file = (char *)col(st, 4), .project = (char *)col(st, 5),
            .domain = (char *)col(st, 6), .ca_file = (char *)col(st, 7),
            .origin = CG_GLANCE_FROM_RUNTIME,
        };

        if (!p.name || !p.url)
            continue;
        if (cg_glance_provider_list_add(out, &p) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
    }
    if (src != SQLITE_DONE) {
        cg_error_set(err, CG_ERR_INTERNAL, "database: %s", sqlite3_errmsg(db));
        goto cleanup;
    }
    rc = 0;

cleanup:
    sqlite3_finalize(st);
    if (rc < 0)
        cg_glance_provider_list_release(out);
    return rc;
}

int cg_glance_provider_find(sqlite3 *db, const cg_config *cfg, const char *name,
                            cg_glance_provider *out, cg_error *err)
{
    cg_glance_provider_list all;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (cg_glance_providers(db, cfg, &all, err) < 0)
        return -1;
    for (size_t i = 0; i < all.n; i++)
        if (!strcmp(all.v[i].name, name)) {
            *out = all.v[i];
            memset(&all.v[i], 0, sizeof(all.v[i]));
            rc = 0;
            break;
        }
    if (rc < 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "no Glance provider called %s (see glance-list)",
                     name);
    cg_glance_provider_list_release(&all);
    return rc;
}
