/* cloudgate: Glance providers as the "glance" kind of the provider store
 * (gateway/providers.h): [glance NAME] sections and the providers table. */
#include "glance_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers.h"
#include "store.h"

/* In the order of the cg_glance_provider fields from_glance reads. */
static const char *const glance_keys[] = {
    "url", "keystone_url", "user", "password_file", "project", "domain", "ca_file", NULL,
};

static int glance_value(const char *key, const char *value, char *why, size_t whylen)
{
    cg_glance_provider scratch = {0};
    int rc = cg_glance_provider_set(&scratch, key, value, why, whylen);

    cg_glance_provider_release(&scratch);
    return rc;
}

/* The Glance record of a stored provider into g (release it).  0 or -1. */
static int to_glance(const cg_provider *p, cg_glance_provider *g, char *why, size_t whylen)
{
    memset(g, 0, sizeof(*g));
    g->origin = p->origin == CG_PROVIDER_FROM_CONFIG ? CG_GLANCE_FROM_CONFIG
                                                     : CG_GLANCE_FROM_RUNTIME;
    if (!(g->name = strdup(p->name))) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < p->n; i++)
        if (cg_glance_provider_set(g, p->keys[i], p->values[i], why, whylen) < 0) {
            cg_glance_provider_release(g);
            return -1;
        }
    return 0;
}

static int glance_check(const cg_provider *p, char *why, size_t whylen)
{
    cg_glance_provider g;
    int rc = to_glance(p, &g, why, whylen);

    if (rc == 0)
        rc = cg_glance_provider_check(&g, why, whylen);
    cg_glance_provider_release(&g);
    return rc;
}

const cg_provider_kind cg_glance_kind = {
    .name = "glance",
    .label = "Glance provider",
    .keys = glance_keys,
    .check = glance_check,
    .check_value = glance_value,
};

/* Earlier versions kept runtime providers in a glance_providers table: move
 * its rows once, in one transaction (another process may be doing it too). */
static const char old_table[] =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'glance_providers'";
static const char move_rows[] =
    "INSERT OR IGNORE INTO providers (kind, name, settings, created)"
    " SELECT 'glance', name, json_object('url', url, 'keystone_url', keystone_url,"
    " 'user', user, 'password_file', password_file, 'project', project, 'domain', domain,"
    " 'ca_file', ca_file), created FROM glance_providers";

int cg_glance_store_init(sqlite3 *db, cg_error *err)
{
    long long old = 0;
    int ok;

    if (cg_providers_init(db, err) < 0 || cg_db_int(db, err, &old, old_table, NULL) < 0)
        return -1;
    if (!old)
        return 0;
    if (cg_db_begin(db, err) < 0)
        return -1;
    ok = cg_db_int(db, err, &old, old_table, NULL) >= 0 &&
         (!old || (cg_db_run(db, err, "move Glance providers", move_rows, NULL) >= 0 &&
                   cg_db_run(db, err, "move Glance providers", "DROP TABLE glance_providers",
                             NULL) >= 0));
    return cg_db_end(db, ok, err) == 0 && ok ? 0 : -1;
}

int cg_glance_store_add(sqlite3 *db, const cg_config *cfg, const cg_glance_provider *g,
                        cg_error *err)
{
    const char *values[] = {g->url, g->keystone_url, g->user, g->password_file,
                            g->project, g->domain, g->ca_file};
    cg_provider p = {0};
    char why[256];
    int rc = -1;

    if (!(p.kind = strdup("glance")) || !(p.name = strdup(g->name ? g->name : ""))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; glance_keys[i]; i++)
        if (values[i] && cg_provider_set(&p, glance_keys[i], values[i], why, sizeof(why)) < 0) {
            cg_error_set(err, CG_ERR_INVALID, "%s: %s", glance_keys[i], why);
            goto cleanup;
        }
    if (cg_glance_store_init(db, err) == 0)
        rc = cg_providers_add(db, cfg, &p, err);

cleanup:
    cg_provider_release(&p);
    return rc;
}

int cg_glance_store_remove(sqlite3 *db, const cg_config *cfg, const char *name, cg_error *err)
{
    if (cg_glance_store_init(db, err) < 0)
        return -1;
    return cg_providers_remove(db, cfg, "glance", name, err);
}

int cg_glance_providers(sqlite3 *db, const cg_config *cfg, cg_glance_provider_list *out,
                        cg_error *err)
{
    cg_provider_list all = {0};
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if ((db && cg_glance_store_init(db, err) < 0) ||
        cg_providers_list(db, cfg, "glance", &all, err) < 0)
        goto cleanup;
    for (size_t i = 0; i < all.n; i++) {
        cg_glance_provider g;
        char why[256];

        /* A row that no longer checks (edited by hand) is left out. */
        if (to_glance(&all.v[i], &g, why, sizeof(why)) < 0) {
            if (strcmp(why, "out of memory"))
                continue;
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
        if (cg_glance_provider_check(&g, why, sizeof(why)) < 0) {
            cg_glance_provider_release(&g);
            continue;
        }
        if (cg_glance_provider_list_add(out, &g) < 0) {
            cg_glance_provider_release(&g);
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
        cg_glance_provider_release(&g);
    }
    rc = 0;

cleanup:
    cg_provider_list_release(&all);
    if (rc < 0)
        cg_glance_provider_list_release(out);
    return rc;
}

int cg_glance_provider_find(sqlite3 *db, const cg_config *cfg, const char *name,
                            cg_glance_provider *out, cg_error *err)
{
    cg_provider p = {0};
    char why[256];
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if ((db && cg_glance_store_init(db, err) < 0) ||
        cg_provider_find(db, cfg, "glance", name, &p, err) < 0)
        goto cleanup;
    /* A row edited by hand so that it no longer checks is refused here
     * (the listing leaves it out). */
    if (to_glance(&p, out, why, sizeof(why)) < 0 ||
        cg_glance_provider_check(out, why, sizeof(why)) < 0) {
        cg_glance_provider_release(out);
        cg_error_set(err, strcmp(why, "out of memory") ? CG_ERR_INVALID : CG_ERR_INTERNAL,
                     "Glance provider %s: %s", name, why);
        goto cleanup;
    }
    rc = 0;

cleanup:
    cg_provider_release(&p);
    return rc;
}
