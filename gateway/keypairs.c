/* cloudgate: the key-pair store (see keypairs.h).
 *
 * Tables key_pairs and key_pair_tags in STATE_DIR/cloudgate.db, on a
 * connection of their own.  Names are unique (case-sensitive, as EC2's), so
 * two concurrent creates of one name cannot both succeed: the loser hits
 * the UNIQUE constraint and reports CG_ERR_CONFLICT.  Key material itself
 * (generation, parsing, fingerprints) is sshkey.c's business.
 */
#include "keypairs.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sshkey.h"
#include "store.h"
#include "util.h"

#define KEY_NAME_MAX 255

struct cg_keystore {
    sqlite3 *db;
    /* The handle is shared by the workers; a transaction must not take in
     * another thread's statements, so store operations run one at a time. */
    pthread_mutex_t mu;
};

static const char schema[] = "CREATE TABLE IF NOT EXISTS key_pairs ("
                             " key_id TEXT PRIMARY KEY,"
                             " name TEXT NOT NULL UNIQUE,"
                             " type TEXT NOT NULL,"
                             " fingerprint TEXT NOT NULL,"
                             " public_key TEXT NOT NULL,"
                             " created INTEGER NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS key_pair_tags ("
                             " key_id TEXT NOT NULL REFERENCES key_pairs(key_id) ON DELETE CASCADE,"
                             " key TEXT NOT NULL,"
                             " value TEXT NOT NULL,"
                             " PRIMARY KEY (key_id, key));";

cg_keystore *cg_keystore_open(const cg_config *cfg, cg_error *err)
{
    cg_keystore *ks = calloc(1, sizeof(*ks));

    if (!ks) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (!(ks->db = cg_db_open(cfg, err)) || cg_db_exec(ks->db, schema, err) < 0) {
        cg_db_close(ks->db);
        free(ks);
        return NULL;
    }
    pthread_mutex_init(&ks->mu, NULL);
    return ks;
}

void cg_keystore_close(cg_keystore *ks)
{
    if (!ks)
        return;
    cg_db_close(ks->db);
    pthread_mutex_destroy(&ks->mu);
    free(ks);
}

void cg_keypair_release(cg_keypair *kp)
{
    if (!kp)
        return;
    free(kp->public_key);
    cg_tags_release(&kp->tags);
    memset(kp, 0, sizeof(*kp));
}

void cg_keypair_list_release(cg_keypair_list *list)
{
    size_t i;

    if (!list)
        return;
    for (i = 0; i < list->n; i++)
        cg_keypair_release(&list->v[i]);
    free(list->v);
    list->v = NULL;
    list->n = 0;
}

/* EC2: up to 255 ASCII characters.  Printable only, since the name becomes
 * the comment of an authorized_keys line. */
static int check_name(const char *name, cg_error *err)
{
    size_t n = name ? strlen(name) : 0, i;

    if (n == 0 || n > KEY_NAME_MAX) {
        cg_error_set(err, CG_ERR_INVALID, "key pair names are 1 to %d characters long",
                     KEY_NAME_MAX);
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (name[i] < 0x20 || name[i] > 0x7e) {
            cg_error_set(err, CG_ERR_INVALID, "key pair names are printable ASCII");
            return -1;
        }
    }
    return 0;
}

static int db_fail(cg_keystore *ks, cg_error *err, const char *what)
{
    cg_error_set(err, CG_ERR_INTERNAL, "key pairs: %s: %s", what, sqlite3_errmsg(ks->db));
    return -1;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);

    return s ? (const char *)s : "";
}

/* ---- writing ------------------------------------------------------------ */

/* Fill out (name, id, type, fingerprint, public line, time) from key. */
static int describe_key(const cg_sshkey *key, const char *name, int created, cg_keypair *out,
                        cg_error *err)
{
    memset(out, 0, sizeof(*out));
    cg_new_id(out->key_id, sizeof(out->key_id), "key-");
    snprintf(out->name, sizeof(out->name), "%s", name);
    snprintf(out->type, sizeof(out->type), "%s", cg_sshkey_type_name(key));
    out->created = time(NULL);
    if (cg_sshkey_fingerprint(key, created, out->fingerprint, sizeof(out->fingerprint), err) < 0)
        return -1;
    /* The key's name as comment, as EC2 shows public keys. */
    if (!(out->public_key = cg_sshkey_public_line(key, name))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

static int insert(cg_keystore *ks, const cg_keypair *kp, cg_error *err)
{
    static const char sql[] = "INSERT INTO key_pairs (key_id, name, type, fingerprint, "
                              "public_key, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    pthread_mutex_lock(&ks->mu);
    if (sqlite3_prepare_v2(ks->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_fail(ks, err, "insert");
        goto cleanup;
    }
    sqlite3_bind_text(st, 1, kp->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kp->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, kp->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, kp->fingerprint, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, kp->public_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)kp->created);
    rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT)
        cg_error_set(err, CG_ERR_CONFLICT, "The keypair '%s' already exists.", kp->name);
    else if (rc != SQLITE_DONE)
        db_fail(ks, err, "insert");
    else
        ret = 0;

cleanup:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&ks->mu);
    return ret;
}

int cg_keypair_create(cg_keystore *ks, const char *name, const char *type, cg_keypair *out,
                      char **private_pem, cg_error *err)
{
    cg_sshkey key = {0};
    char *pem = NULL;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    *private_pem = NULL;
    if (check_name(name, err) < 0 || cg_sshkey_generate(type ? type : "rsa", &key, err) < 0)
        return -1;
    if (describe_key(&key, name, 1, out, err) < 0 ||
        !(pem = cg_sshkey_private_pem(&key, name, err)) || insert(ks, out, err) < 0)
        goto cleanup;
    *private_pem = pem;
    pem = NULL;
    ret = 0;

cleanup:
    if (pem)
        OPENSSL_clear_free(pem, strlen(pem));
    if (ret < 0)
        cg_keypair_release(out);
    cg_sshkey_release(&key);
    return ret;
}

int cg_keypair_import(cg_keystore *ks, const char *name, const char *material, size_t len,
                      cg_keypair *out, cg_error *err)
{
    cg_sshkey key = {0};
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (check_name(name, err) < 0 || cg_sshkey_parse_public(material, len, &key, err) < 0)
        return -1;
    if (describe_key(&key, name, 0, out, err) < 0 || insert(ks, out, err) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    if (ret < 0)
        cg_keypair_release(out);
    cg_sshkey_release(&key);
    return ret;
}

int cg_keypair_delete(cg_keystore *ks, const char *name, cg_error *err)
{
    sqlite3_stmt *st = NULL;
    int ret = -1;

    pthread_mutex_lock(&ks->mu);
    /* Tags go with it (ON DELETE CASCADE). */
    if (sqlite3_prepare_v2(ks->db, "DELETE FROM key_pairs WHERE name = ?1", -1, &st, NULL) !=
        SQLITE_OK) {
        db_fail(ks, err, "delete");
        goto cleanup;
    }
    sqlite3_bind_text(st, 1, name ? name : "", -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        db_fail(ks, err, "delete");
    else
        ret = 0;

cleanup:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&ks->mu);
    return ret;
}

/* The key_id of name into id (size 32); 0, or -1 with CG_ERR_NOT_FOUND. */
static int find_id(cg_keystore *ks, const char *name, char *id, cg_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    if (sqlite3_prepare_v2(ks->db, "SELECT key_id FROM key_pairs WHERE name = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return db_fail(ks, err, "lookup");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(id, 32, "%s", col_text(st, 0));
        ret = 0;
    } else if (rc == SQLITE_DONE) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "The key pair '%s' does not exist", name);
    } else {
        db_fail(ks, err, "lookup");
    }
    sqlite3_finalize(st);
    return ret;
}

int cg_keypair_tag(cg_keystore *ks, const char *name, const cg_tags *tags, cg_error *err)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO key_pair_tags (key_id, key, value) VALUES (?1, ?2, ?3)";
    sqlite3_stmt *st = NULL;
    char id[32];
    size_t i;
    int ret = -1, began = 0;

    pthread_mutex_lock(&ks->mu);
    if (cg_db_exec(ks->db, "BEGIN IMMEDIATE", err) < 0)
        goto cleanup;
    began = 1;
    if (find_id(ks, name ? name : "", id, err) < 0)
        goto cleanup;
    if (sqlite3_prepare_v2(ks->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_fail(ks, err, "tag");
        goto cleanup;
    }
    for (i = 0; tags && i < tags->n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, tags->v[i].key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, tags->v[i].value ? tags->v[i].value : "", -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            db_fail(ks, err, "tag");
            goto cleanup;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (cg_db_exec(ks->db, "COMMIT", err) < 0)
        goto cleanup;
    began = 0;
    ret = 0;

cleanup:
    sqlite3_finalize(st);
    if (began)
        cg_db_exec(ks->db, "ROLLBACK", NULL);
    pthread_mutex_unlock(&ks->mu);
    return ret;
}

/* The statements of cg_keypair_tags_edit, inside its transaction. */
static int tags_edit(sqlite3 *db, const char *key_id, const cg_tags *tags, int remove,
                     cg_error *err)
{
    long long one;
    int rc = cg_db_int(db, err, &one, "SELECT 1 FROM key_pairs WHERE key_id = ?", "s", key_id);

    if (rc == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "The key pair '%s' does not exist", key_id);
    if (rc <= 0)
        return -1;
    return cg_db_tags_write(db, "key_pair_tags", "key_id", key_id, tags, remove, err);
}

int cg_keypair_tags_edit(cg_keystore *ks, const char *key_id, const cg_tags *tags, int remove,
                         cg_error *err)
{
    int ret = -1;

    pthread_mutex_lock(&ks->mu);
    if (cg_db_begin(ks->db, err) == 0)
        ret = cg_db_end(ks->db, tags_edit(ks->db, key_id, tags, remove, err) == 0, err);
    pthread_mutex_unlock(&ks->mu);
    return ret;
}

/* ---- reading ------------------------------------------------------------ */

/* Key pairs (all, or only name's) with their tags, by name: one statement,
 * so a concurrent change cannot split a key from its tags. */
static int load(cg_keystore *ks, const char *name, cg_keypair_list *out, cg_error *err)
{
    static const char all[] =
        "SELECT k.key_id, k.name, k.type, k.fingerprint, k.public_key, k.created, t.key, t.value"
        " FROM key_pairs k LEFT JOIN key_pair_tags t ON t.key_id = k.key_id"
        " ORDER BY k.name, t.key";
    static const char one[] =
        "SELECT k.key_id, k.name, k.type, k.fingerprint, k.public_key, k.created, t.key, t.value"
        " FROM key_pairs k LEFT JOIN key_pair_tags t ON t.key_id = k.key_id"
        " WHERE k.name = ?1 ORDER BY t.key";
    sqlite3_stmt *st = NULL;
    cg_keypair *kp = NULL, *grown;
    int rc, ret = -1;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&ks->mu);
    if (sqlite3_prepare_v2(ks->db, name ? one : all, -1, &st, NULL) != SQLITE_OK) {
        db_fail(ks, err, "list");
        goto cleanup;
    }
    if (name)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!kp || strcmp(kp->key_id, col_text(st, 0)) != 0) {
            if (!(grown = realloc(out->v, (out->n + 1) * sizeof(*grown))))
                goto oom;
            out->v = grown;
            kp = &out->v[out->n++];
            memset(kp, 0, sizeof(*kp));
            snprintf(kp->key_id, sizeof(kp->key_id), "%s", col_text(st, 0));
            snprintf(kp->name, sizeof(kp->name), "%s", col_text(st, 1));
            snprintf(kp->type, sizeof(kp->type), "%s", col_text(st, 2));
            snprintf(kp->fingerprint, sizeof(kp->fingerprint), "%s", col_text(st, 3));
            kp->created = (time_t)sqlite3_column_int64(st, 5);
            if (!(kp->public_key = strdup(col_text(st, 4))))
                goto oom;
        }
        if (sqlite3_column_type(st, 6) != SQLITE_NULL &&
            cg_tags_set(&kp->tags, col_text(st, 6), col_text(st, 7)) < 0)
            goto oom;
    }
    if (rc != SQLITE_DONE) {
        db_fail(ks, err, "list");
        goto cleanup;
    }
    ret = 0;
    goto cleanup;

oom:
    cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
cleanup:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&ks->mu);
    if (ret < 0)
        cg_keypair_list_release(out);
    return ret;
}

int cg_keypair_list_all(cg_keystore *ks, cg_keypair_list *out, cg_error *err)
{
    return load(ks, NULL, out, err);
}

int cg_keypair_get(cg_keystore *ks, const char *name, cg_keypair *out, cg_error *err)
{
    cg_keypair_list list = {0};

    memset(out, 0, sizeof(*out));
    if (load(ks, name ? name : "", &list, err) < 0)
        return -1;
    if (list.n == 0) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "The key pair '%s' does not exist", name ? name : "");
        return -1;
    }
    /* Hand over the one entry (names are unique). */
    *out = list.v[0];
    free(list.v);
    return 0;
}
