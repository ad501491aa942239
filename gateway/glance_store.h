/* cloudgate: Glance providers: the [glance NAME] sections of the
 * configuration and those added at run time (cloudgate-admin glance-add),
 * the "glance" kind of the provider store (gateway/providers.h).  Only the
 * path of a password file is stored, never a password. */
#ifndef CG_GLANCE_STORE_H
#define CG_GLANCE_STORE_H

#include <sqlite3.h>

#include "config.h"
#include "error.h"
#include "glance.h"

extern const cg_provider_kind cg_glance_kind;

/* Create the table if missing (moving the rows of the glance_providers
 * table of earlier versions into it).  Returns 0 or -1. */
int cg_glance_store_init(sqlite3 *db, cg_error *err);

/* Save p (origin ignored).  CG_ERR_CONFLICT if cfg or the table already has
 * the name.  Returns 0 or -1. */
int cg_glance_store_add(sqlite3 *db, const cg_config *cfg, const cg_glance_provider *p,
                        cg_error *err);

/* Forget a runtime provider.  CG_ERR_NOT_FOUND if none; CG_ERR_FORBIDDEN for
 * a configured one (edit the file).  Returns 0 or -1. */
int cg_glance_store_remove(sqlite3 *db, const cg_config *cfg, const char *name, cg_error *err);

/* Every provider: the configured ones, then the added ones by name.
 * db may be NULL (configured only).  Release *out.  Returns 0 or -1. */
int cg_glance_providers(sqlite3 *db, const cg_config *cfg, cg_glance_provider_list *out,
                        cg_error *err);

/* The provider called name into *out (release it).  CG_ERR_NOT_FOUND if none. */
int cg_glance_provider_find(sqlite3 *db, const cg_config *cfg, const char *name,
                            cg_glance_provider *out, cg_error *err);

#endif
