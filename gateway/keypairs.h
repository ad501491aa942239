/* cloudgate: the key-pair store (EC2 key pairs, later CIMI credentials).
 *
 * Key pairs are user state, not hypervisor state: SQLite table key_pairs in
 * STATE_DIR/cloudgate.db.  Only public keys are kept; a created key's
 * private half is returned once and never stored.
 */
#ifndef CG_KEYPAIRS_H
#define CG_KEYPAIRS_H

#include <stddef.h>
#include <time.h>

#include "../drivers/driver.h"
#include "config.h"
#include "error.h"

typedef struct cg_keypair {
    char key_id[32];          /* "key-" + 17 hex digits */
    char name[256];
    char type[16];            /* "rsa" or "ed25519" */
    char fingerprint[128];    /* as AWS computes it for this key's type and origin */
    char *public_key;         /* OpenSSH authorized_keys line */
    time_t created;
    cg_tags tags;
} cg_keypair;

typedef struct cg_keypair_list {
    cg_keypair *v;
    size_t n;
} cg_keypair_list;

typedef struct cg_keystore cg_keystore;

/* Open the store (creates its table).  NULL and err on failure. */
cg_keystore *cg_keystore_open(const cg_config *cfg, cg_error *err);
void cg_keystore_close(cg_keystore *ks);

/* Generate a key pair of type "rsa" (2048 bits) or "ed25519".  *private_pem
 * gets the private key in PEM (malloc'd).  Duplicate name: CG_ERR_CONFLICT. */
int cg_keypair_create(cg_keystore *ks, const char *name, const char *type, cg_keypair *out,
                      char **private_pem, cg_error *err);

/* Import an OpenSSH public key ("ssh-rsa AAAA... comment" or ssh-ed25519).
 * Unparsable: CG_ERR_INVALID; duplicate name: CG_ERR_CONFLICT. */
int cg_keypair_import(cg_keystore *ks, const char *name, const char *material, size_t len,
                      cg_keypair *out, cg_error *err);

/* name's key pair; CG_ERR_NOT_FOUND when there is none. */
int cg_keypair_get(cg_keystore *ks, const char *name, cg_keypair *out, cg_error *err);

int cg_keypair_list_all(cg_keystore *ks, cg_keypair_list *out, cg_error *err);

/* Delete by name; deleting a missing key succeeds (as AWS). */
int cg_keypair_delete(cg_keystore *ks, const char *name, cg_error *err);

/* Add or replace tags on name's key pair (TagSpecification of Create/
 * ImportKeyPair), all or none.  CG_ERR_NOT_FOUND when there is none. */
int cg_keypair_tag(cg_keystore *ks, const char *name, const cg_tags *tags, cg_error *err);

/* Add or replace (remove 0) or delete (remove 1; a NULL value: any value)
 * tags of the key pair key_id ("key-..."), all or none (CreateTags,
 * DeleteTags).  CG_ERR_NOT_FOUND when there is none. */
int cg_keypair_tags_edit(cg_keystore *ks, const char *key_id, const cg_tags *tags, int remove,
                         cg_error *err);

void cg_keypair_release(cg_keypair *kp);
void cg_keypair_list_release(cg_keypair_list *list);

#endif
