/* cloudgate libvirt driver: VPC, subnet and instance NIC records in SQLite
 * (lv_vpc.h).
 *
 * libvirt knows which networks exist and their address blocks; these tables
 * know what EC2 says about them (ids, zones, tags, which instance sits in
 * which subnet).  The default VPC's and default subnets' rows hold no CIDR:
 * it is read from the configured network each time (lv_vpc.c).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "../../gateway/store.h"
#include "../../gateway/util.h"
#include "lv_rows.h"
#include "lv_vpc.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS vpcs ("
    " id TEXT PRIMARY KEY, cidr TEXT NOT NULL, network TEXT NOT NULL,"
    " is_default INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS vpc_tags ("
    " vpc_id TEXT NOT NULL REFERENCES vpcs(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (vpc_id, key));"
    "CREATE TABLE IF NOT EXISTS subnets ("
    " id TEXT PRIMARY KEY, vpc_id TEXT NOT NULL REFERENCES vpcs(id),"
    " cidr TEXT NOT NULL, zone TEXT NOT NULL, default_for_az INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS subnet_tags ("
    " subnet_id TEXT NOT NULL REFERENCES subnets(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (subnet_id, key));"
    /* An instance launched into a subnet; one without a row is in its
     * zone's default subnet (every instance made before VPCs existed). */
    "CREATE TABLE IF NOT EXISTS instance_nics ("
    " instance_id TEXT PRIMARY KEY, subnet_id TEXT NOT NULL REFERENCES subnets(id),"
    " eni_id TEXT NOT NULL UNIQUE);";

/* The default VPC (network) and one default subnet per configured zone,
 * made once: their ids stay the same across restarts.  In the caller's
 * transaction.  0 or -1. */
static int ensure_defaults(sqlite3 *db, const cg_config *cfg, cg_error *err)
{
    char vpc_id[24] = "", subnet_id[32];
    long long n = 0;
    size_t i;
    sqlite3_stmt *s;
    int rc;

    if (!(s = cg_db_prep(db, err, "SELECT id FROM vpcs WHERE is_default = 1", "")))
        return -1;
    rc = cg_db_step(s, err, "read default vpc");
    if (rc == 1)
        cg_db_col_copy(s, 0, vpc_id, sizeof(vpc_id));
    cg_db_done(s);
    if (rc < 0)
        return -1;
    if (!vpc_id[0]) {
        cg_new_id(vpc_id, sizeof(vpc_id), "vpc-");
        if (cg_db_run(db, err, "insert default vpc",
                      "INSERT INTO vpcs (id, cidr, network, is_default, created)"
                      " VALUES (?, '', ?, 1, ?)", "ssI", vpc_id, cfg->network ? cfg->network : "",
                      (long long)time(NULL)) < 0)
            return -1;
    } else if (cg_db_run(db, err, "update default vpc", "UPDATE vpcs SET network = ? WHERE id = ?",
                         "ss", cfg->network ? cfg->network : "", vpc_id) < 0) {
        return -1;
    }
    for (i = 0; i < cfg->n_zones; i++) {
        if (cg_db_int(db, err, &n, "SELECT count(*) FROM subnets WHERE vpc_id = ? AND zone = ?"
                                   " AND default_for_az = 1", "ss", vpc_id,
                      cfg->zones[i].name) < 0)
            return -1;
        if (n)
            continue;
        cg_new_id(subnet_id, sizeof(subnet_id), "subnet-");
        if (cg_db_run(db, err, "insert default subnet",
                      "INSERT INTO subnets (id, vpc_id, cidr, zone, default_for_az, created)"
                      " VALUES (?, ?, '', ?, 1, ?)", "sssI", subnet_id, vpc_id,
                      cfg->zones[i].name, (long long)time(NULL)) < 0)
            return -1;
    }
    return 0;
}

int lv_netstate_init(lv_state *st, const cg_config *cfg, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    if (cg_db_exec(db, schema, err) == 0 && cg_db_begin(db, err) == 0)
        ret = cg_db_end(db, ensure_defaults(db, cfg, err) == 0, err);
    lv_state_db_unlock(st);
    return ret;
}

static void vpc_from_row(sqlite3_stmt *s, void *elem)
{
    cg_vpc *v = elem;

    cg_db_col_copy(s, 0, v->id, sizeof(v->id));
    cg_db_col_copy(s, 1, v->cidr, sizeof(v->cidr));
    cg_db_col_copy(s, 2, v->network, sizeof(v->network));
    v->is_default = sqlite3_column_int(s, 3) != 0;
    snprintf(v->state, sizeof(v->state), "available");
}

static void subnet_from_row(sqlite3_stmt *s, void *elem)
{
    cg_subnet *v = elem;

    cg_db_col_copy(s, 0, v->id, sizeof(v->id));
    cg_db_col_copy(s, 1, v->vpc_id, sizeof(v->vpc_id));
    cg_db_col_copy(s, 2, v->cidr, sizeof(v->cidr));
    cg_db_col_copy(s, 3, v->zone, sizeof(v->zone));
    v->default_for_az = sqlite3_column_int(s, 4) != 0;
    snprintf(v->state, sizeof(v->state), "available");
}

int lv_netstate_vpcs(lv_state *st, cg_vpc_list *out, cg_error *err)
{
    static const lv_row_kind k = {
        "SELECT id, cidr, network, is_default FROM vpcs ORDER BY is_default DESC, created, id",
        "SELECT key, value FROM vpc_tags WHERE vpc_id = ? ORDER BY rowid",
        sizeof(cg_vpc), offsetof(cg_vpc, id), offsetof(cg_vpc, tags), vpc_from_row};

    return lv_rows_read(st, &k, (void **)&out->v, &out->n, err);
}

int lv_netstate_subnets(lv_state *st, cg_subnet_list *out, cg_error *err)
{
    static const lv_row_kind k = {
        "SELECT id, vpc_id, cidr, zone, default_for_az FROM subnets"
        " ORDER BY default_for_az DESC, created, id",
        "SELECT key, value FROM subnet_tags WHERE subnet_id = ? ORDER BY rowid",
        sizeof(cg_subnet), offsetof(cg_subnet, id), offsetof(cg_subnet, tags),
        subnet_from_row};

    return lv_rows_read(st, &k, (void **)&out->v, &out->n, err);
}

/* The INSERTs of lv_netstate_vpc_add / subnet_add, in their transaction. */
static int insert_vpc(sqlite3 *db, const cg_vpc *v, cg_error *err)
{
    if (cg_db_run(db, err, "insert vpc",
                  "INSERT INTO vpcs (id, cidr, network, is_default, created) VALUES (?,?,?,0,?)",
                  "sssI", v->id, v->cidr, v->network, (long long)time(NULL)) < 0)
        return -1;
    return cg_db_tags_write(db, "vpc_tags", "vpc_id", v->id, &v->tags, 0, err);
}

static int insert_subnet(sqlite3 *db, const cg_subnet *v, cg_error *err)
{
    if (cg_db_run(db, err, "insert subnet",
                  "INSERT INTO subnets (id, vpc_id, cidr, zone, default_for_az, created)"
                  " VALUES (?,?,?,?,0,?)", "ssssI", v->id, v->vpc_id, v->cidr, v->zone,
                  (long long)time(NULL)) < 0)
        return -1;
    return cg_db_tags_write(db, "subnet_tags", "subnet_id", v->id, &v->tags, 0, err);
}

int lv_netstate_vpc_add(lv_state *st, const cg_vpc *vpc, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    if (cg_db_begin(db, err) == 0)
        ret = cg_db_end(db, insert_vpc(db, vpc, err) == 0, err);
    lv_state_db_unlock(st);
    return ret;
}

int lv_netstate_subnet_add(lv_state *st, const cg_subnet *subnet, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    if (cg_db_begin(db, err) == 0)
        ret = cg_db_end(db, insert_subnet(db, subnet, err) == 0, err);
    lv_state_db_unlock(st);
    return ret;
}

int lv_netstate_vpc_delete(lv_state *st, const char *id, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int n = cg_db_run(db, err, "delete vpc",
                      "DELETE FROM vpcs WHERE id = ? AND is_default = 0 AND NOT EXISTS"
                      " (SELECT 1 FROM subnets WHERE vpc_id = ?) AND NOT EXISTS"
                      " (SELECT 1 FROM security_groups WHERE vpc_id = ? AND is_default = 0)",
                      "sss", id, id, id);

    lv_state_db_unlock(st);
    return n;
}

int lv_netstate_subnet_delete(lv_state *st, const char *id, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int n = cg_db_run(db, err, "delete subnet",
                      "DELETE FROM subnets WHERE id = ? AND default_for_az = 0 AND NOT EXISTS"
                      " (SELECT 1 FROM instance_nics WHERE subnet_id = ?)", "ss", id, id);

    lv_state_db_unlock(st);
    return n;
}

/* The statements of lv_netstate_vpc_forget, inside its transaction. */
static int forget(sqlite3 *db, const char *id, cg_error *err)
{
    if (cg_db_run(db, err, "forget vpc nics", "DELETE FROM instance_nics WHERE subnet_id IN"
                  " (SELECT id FROM subnets WHERE vpc_id = ?)", "s", id) < 0 ||
        cg_db_run(db, err, "forget vpc subnets", "DELETE FROM subnets WHERE vpc_id = ?", "s",
                  id) < 0)
        return -1;
    return cg_db_run(db, err, "forget vpc", "DELETE FROM vpcs WHERE id = ? AND is_default = 0",
                     "s", id) < 0 ? -1 : 0;
}

int lv_netstate_vpc_forget(lv_state *st, const char *id, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    if (cg_db_begin(db, err) == 0)
        ret = cg_db_end(db, forget(db, id, err) == 0, err);
    lv_state_db_unlock(st);
    return ret;
}

int lv_netstate_tags(lv_state *st, const char *id, const cg_tags *tags, int remove,
                     cg_error *err)
{
    static const lv_tag_table vpc = {"SELECT 1 FROM vpcs WHERE id = ?", "vpc_tags", "vpc_id",
                                     "vpc"};
    static const lv_tag_table subnet = {"SELECT 1 FROM subnets WHERE id = ?", "subnet_tags",
                                        "subnet_id", "subnet"};

    return lv_rows_tags_edit(st, strncmp(id, "vpc-", 4) == 0 ? &vpc : &subnet, id, tags, remove,
                             err);
}

int lv_netstate_nic_add(lv_state *st, const char *instance_id, const char *subnet_id,
                        const char *eni_id, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int n = cg_db_run(db, err, "record nic", "INSERT INTO instance_nics (instance_id, subnet_id,"
                      " eni_id) VALUES (?,?,?)", "sss", instance_id, subnet_id, eni_id);

    lv_state_db_unlock(st);
    return n < 0 ? -1 : 0;
}

void lv_netstate_nic_delete(lv_state *st, const char *instance_id)
{
    sqlite3 *db = lv_state_db_lock(st);

    cg_db_run(db, NULL, "forget nic", "DELETE FROM instance_nics WHERE instance_id = ?", "s",
              instance_id);
    lv_state_db_unlock(st);
}

static void nic_from_row(sqlite3_stmt *s, void *elem)
{
    lv_nic *v = elem;

    cg_db_col_copy(s, 0, v->instance_id, sizeof(v->instance_id));
    cg_db_col_copy(s, 1, v->subnet_id, sizeof(v->subnet_id));
}

int lv_netstate_nics(lv_state *st, lv_nic **out, size_t *n, cg_error *err)
{
    static const lv_row_kind k = {"SELECT instance_id, subnet_id FROM instance_nics", NULL,
                                  sizeof(lv_nic), 0, 0, nic_from_row};

    return lv_rows_read(st, &k, (void **)out, n, err);
}

int lv_netstate_nic_prune(lv_state *st, const char *subnet_id, const cg_instance_list *live,
                          cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s = cg_db_prep(db, err, "SELECT instance_id FROM instance_nics"
                                          " WHERE subnet_id = ?", "s", subnet_id);
    char id[24];
    size_t i;
    int rc = s ? 1 : -1;

    while (rc >= 0 && (rc = cg_db_step(s, err, "read nics")) == 1) {
        cg_db_col_copy(s, 0, id, sizeof(id));
        for (i = 0; i < live->n && strcmp(live->v[i].id, id) != 0; i++)
            ;
        /* Gone, or terminated: its address is free again. */
        if ((i == live->n || live->v[i].state == CG_STATE_TERMINATED) &&
            cg_db_run(db, err, "prune nic", "DELETE FROM instance_nics WHERE instance_id = ?",
                      "s", id) < 0)
            rc = -1;
    }
    cg_db_done(s);
    lv_state_db_unlock(st);
    return rc < 0 ? -1 : 0;
}
