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

int cg_glance_store_add(sqlite3 *db, const cg_config *cfg, const cg_glance_provider *p,
                        cg_error *err)
{
    cg_error dberr = {0};
    char why[256];

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
    if (cg_db_run(db, &dberr, "add Glance provider",
                  "INSERT INTO glance_providers (name, url, keystone_url, user,"
                  " password_file, project, domain, ca_file) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  "ssssssss", p->name, p->url, p->keystone_url, p->user, p->password_file,
                  p->project, p->domain, p->ca_file) < 0) {
        if (dberr.kind == CG_ERR_CONFLICT)
            cg_error_set(err, CG_ERR_CONFLICT, "Glance provider %s already exists", p->name);
        else
            cg_error_set(err, dberr.kind, "%s", dberr.message);
        return -1;
    }
    return 0;
}

int cg_glance_store_remove(sqlite3 *db, const cg_config *cfg, const char *name, cg_error *err)
{
    int n;

    if (config_find(cfg, name)) {
        cg_error_set(err, CG_ERR_FORBIDDEN, "Glance provider %s comes from the configuration "
                     "file: remove its [glance %s] section there", name, name);
        return -1;
    }
    if (cg_glance_store_init(db, err) < 0)
        return -1;
    n = cg_db_run(db, err, "remove Glance provider", "DELETE FROM glance_providers WHERE name = ?",
                  "s", name);
    if (n == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "no Glance provider called %s", name);
    return n > 0 ? 0 : -1;
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
    if (!(st = cg_db_prep(db, err, "SELECT name, url, keystone_url, user, password_file,"
                                   " project, domain, ca_file FROM glance_providers"
                                   " ORDER BY name", NULL)))
        goto cleanup;
    while ((src = cg_db_step(st, err, "list Glance providers")) == 1) {
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
    if (src == 0)
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
