/* cloudgate: resources only CIMI has (machine templates, volume
 * configurations and volume templates): rows of a JSON body in SQLite
 * (table cimi_resources in STATE_DIR/cloudgate.db).  The bodies are the
 * canonical forms cimi_templates.c validated, never what a client sent. */
#include "cimi.h"
#include "cimi_internal.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/store.h"

struct cimi_store {
    sqlite3 *db;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS cimi_resources ("
    " kind TEXT NOT NULL, id TEXT NOT NULL, created INTEGER NOT NULL, body TEXT NOT NULL,"
    " PRIMARY KEY (kind, id));";

cimi_store *cimi_store_open(const cg_config *cfg, cg_error *err)
{
    cimi_store *st = calloc(1, sizeof(*st));

    if (!st) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (!(st->db = cg_db_open(cfg, err)) || cg_db_exec(st->db, schema, err) < 0) {
        cimi_store_close(st);
        return NULL;
    }
    return st;
}

void cimi_store_close(cimi_store *st)
{
    if (!st)
        return;
    cg_db_close(st->db);
    free(st);
}

void cimi_stored_release(cimi_stored *s)
{
    if (!s)
        return;
    json_object_put(s->body);
    memset(s, 0, sizeof(*s));
}

void cimi_stored_list_free(cimi_stored *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        cimi_stored_release(&v[i]);
    free(v);
}

static int from_row(sqlite3_stmt *s, cimi_stored *out)
{
    const char *body = (const char *)sqlite3_column_text(s, 3);

    memset(out, 0, sizeof(*out));
    snprintf(out->kind, sizeof(out->kind), "%s", (const char *)sqlite3_column_text(s, 0));
    snprintf(out->id, sizeof(out->id), "%s", (const char *)sqlite3_column_text(s, 1));
    out->created = (time_t)sqlite3_column_int64(s, 2);
    out->body = body ? json_tokener_parse(body) : NULL;
    return out->body ? 0 : -1;
}

int cimi_store_put(cimi_store *st, const char *kind, const char *prefix, json_object *body,
                   cimi_stored *out, cg_error *err)
{
    unsigned char rnd[9];
    const char *text;
    int i;

    memset(out, 0, sizeof(*out));
    if (!st) {
        cg_error_set(err, CG_ERR_UNSUPPORTED, "no CIMI store is configured");
        return -1;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        cg_error_set(err, CG_ERR_INTERNAL, "no randomness for an id");
        return -1;
    }
    /* prefix + 17 hex digits, the shape of the EC2 ids. */
    snprintf(out->id, sizeof(out->id), "%s%x", prefix, rnd[0] & 15);
    for (i = 1; i < 9; i++)
        snprintf(out->id + strlen(out->id), sizeof(out->id) - strlen(out->id), "%02x", rnd[i]);
    snprintf(out->kind, sizeof(out->kind), "%s", kind);
    out->created = time(NULL);
    text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    if (cg_db_run(st->db, err, "store", "INSERT INTO cimi_resources (kind, id, created, body)"
                  " VALUES (?,?,?,?)", "ssIs", kind, out->id, (long long)out->created, text) < 0)
        return -1;
    out->body = json_object_get(body);
    return 0;
}

int cimi_store_get(cimi_store *st, const char *kind, const char *id, cimi_stored *out,
                   cg_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc, ret = -1;

    memset(out, 0, sizeof(*out));
    if (!st)
        return 1;
    if (!(s = cg_db_prep(st->db, err, "SELECT kind, id, created, body FROM cimi_resources"
                                      " WHERE kind = ? AND id = ?", "ss", kind, id)))
        return -1;
    rc = cg_db_step(s, err, "read");
    if (rc == 1 && from_row(s, out) < 0)
        cg_error_set(err, CG_ERR_INTERNAL, "stored %s %s is not JSON", kind, id);
    else if (rc >= 0)
        ret = rc == 1 ? 0 : 1;     /* 1: no such row */
    cg_db_done(s);
    return ret;
}

int cimi_store_list(cimi_store *st, const char *kind, cimi_stored **out, size_t *n, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    cimi_stored *v = NULL, *grown;
    size_t count = 0;
    int rc, ret = -1;

    *out = NULL;
    *n = 0;
    if (!st)
        return 0;
    if (!(s = cg_db_prep(st->db, err, "SELECT kind, id, created, body FROM cimi_resources"
                                      " WHERE kind = ? ORDER BY created, rowid", "s", kind)))
        return -1;
    while ((rc = cg_db_step(s, err, "list")) == 1) {
        if (!(grown = realloc(v, (count + 1) * sizeof(*v)))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
        v = grown;
        if (from_row(s, &v[count]) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "a stored %s is not JSON", kind);
            goto cleanup;
        }
        count++;
    }
    if (rc < 0)
        goto cleanup;
    *out = v;
    *n = count;
    v = NULL;
    count = 0;
    ret = 0;

cleanup:
    cimi_stored_list_free(v, count);
    cg_db_done(s);
    return ret;
}

/* One row changed by n = cg_db_run(...): CG_ERR_NOT_FOUND when there was none. */
static int one_row(int n, const char *kind, const char *id, cg_error *err)
{
    if (n == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "%s '%.64s' does not exist", kind, id);
    return n > 0 ? 0 : -1;
}

int cimi_store_delete(cimi_store *st, const char *kind, const char *id, cg_error *err)
{
    if (!st)
        return one_row(0, kind, id, err);
    return one_row(cg_db_run(st->db, err, "delete",
                             "DELETE FROM cimi_resources WHERE kind = ? AND id = ?", "ss", kind,
                             id),
                   kind, id, err);
}

int cimi_store_update(cimi_store *st, const char *kind, const char *id, json_object *body,
                      cg_error *err)
{
    if (!st)
        return one_row(0, kind, id, err);
    return one_row(cg_db_run(st->db, err, "update",
                             "UPDATE cimi_resources SET body = ? WHERE kind = ? AND id = ?", "sss",
                             json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), kind,
                             id),
                   kind, id, err);
}
