/* cloudgate: named providers of one kind ("v2v": external VM sources,
 * "glance": image sources), from
 * [KIND NAME] sections of the configuration (read-only) and from the
 * providers table of STATE_DIR/cloudgate.db (cloudgate-admin KIND-add).
 *
 * A provider is a name and string settings; its kind says which keys it
 * takes and checks the whole record.  Secrets are never settings: a kind
 * stores the path of a file that holds one (password_file). */
#ifndef CG_PROVIDERS_H
#define CG_PROVIDERS_H

#include <stddef.h>

#include <sqlite3.h>

#include "error.h"

struct cg_config;

typedef enum { CG_PROVIDER_FROM_CONFIG = 0, CG_PROVIDER_FROM_RUNTIME = 1 } cg_provider_origin;

typedef struct cg_provider {
    char *kind;             /* "v2v" */
    char *name;
    cg_provider_origin origin;
    char **keys;            /* settings, keys[i] = values[i] */
    char **values;
    size_t n;
} cg_provider;

typedef struct cg_provider_list {
    cg_provider *v;
    size_t n;
} cg_provider_list;

typedef struct cg_provider_kind {
    const char *name;          /* config section head and the table's kind column */
    const char *label;         /* "v2v provider", for messages */
    const char *const *keys;   /* accepted setting keys, NULL-terminated */
    /* Whole-record checks.  Returns 0, or -1 with why filled. */
    int (*check)(const cg_provider *p, char *why, size_t whylen);
    /* Optional: one value's checks, before it is set.  0, or -1 (why). */
    int (*check_value)(const char *key, const char *value, char *why, size_t whylen);
} cg_provider_kind;

/* The kind called name, or NULL. */
const cg_provider_kind *cg_provider_kind_find(const char *name);

/* A provider name: 1..64 of [A-Za-z0-9._-], not starting with '-' or '.'. */
int cg_provider_name_ok(const char *name);

/* The value of key, or NULL when unset. */
const char *cg_provider_get(const cg_provider *p, const char *key);

/* Set (or replace) a key the kind accepts; values are at most 4096 bytes
 * without control characters.  Returns 0, or -1 with why filled. */
int cg_provider_set(cg_provider *p, const char *key, const char *value, char *why, size_t whylen);

/* Name, kind and the kind's own checks.  Returns 0, or -1 with why filled. */
int cg_provider_check(const cg_provider *p, char *why, size_t whylen);

/* Append an empty provider; NULL when out of memory. */
cg_provider *cg_provider_list_new(cg_provider_list *l, const char *kind, const char *name,
                                  cg_provider_origin origin);

/* Free contents.  Accept NULL. */
void cg_provider_release(cg_provider *p);
void cg_provider_list_release(cg_provider_list *l);

/* ---- the table --------------------------------------------------------- */

/* Create the table if missing.  Returns 0 or -1. */
int cg_providers_init(sqlite3 *db, cg_error *err);

/* Save p (origin ignored) after cg_provider_check.  CG_ERR_CONFLICT when the
 * configuration or the table already has kind/name.  Returns 0 or -1. */
int cg_providers_add(sqlite3 *db, const struct cg_config *cfg, const cg_provider *p,
                     cg_error *err);

/* Forget a runtime provider.  CG_ERR_NOT_FOUND if none; CG_ERR_FORBIDDEN for
 * a configured one.  Returns 0 or -1. */
int cg_providers_remove(sqlite3 *db, const struct cg_config *cfg, const char *kind,
                        const char *name, cg_error *err);

/* The providers of kind: configured ones first, then added ones by name.
 * db may be NULL (configured only).  Release *out.  Returns 0 or -1. */
int cg_providers_list(sqlite3 *db, const struct cg_config *cfg, const char *kind,
                      cg_provider_list *out, cg_error *err);

/* The provider kind/name into *out (release it).  CG_ERR_NOT_FOUND if none. */
int cg_provider_find(sqlite3 *db, const struct cg_config *cfg, const char *kind,
                     const char *name, cg_provider *out, cg_error *err);

#endif
