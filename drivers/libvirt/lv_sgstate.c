/* cloudgate libvirt driver: security group records in SQLite (lv_sg.h).
 *
 * Groups, their rules and tags, and which instance is in which group.  The
 * rules are the truth the nwfilters are built from (lv_nwfilter.c): every
 * change here is followed by a redefinition of the group's filter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "../../gateway/store.h"
#include "../../gateway/util.h"
#include "lv_rows.h"
#include "lv_sg.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS security_groups ("
    " id TEXT PRIMARY KEY, vpc_id TEXT NOT NULL, name TEXT NOT NULL,"
    " description TEXT NOT NULL, is_default INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL, UNIQUE (vpc_id, name));"
    "CREATE TABLE IF NOT EXISTS sg_tags ("
    " group_id TEXT NOT NULL REFERENCES security_groups(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (group_id, key));"
    /* A rule's identity is everything but its id and description: AWS
     * answers InvalidPermission.Duplicate for the same rule twice. */
    "CREATE TABLE IF NOT EXISTS sg_rules ("
    " id TEXT PRIMARY KEY,"
    " group_id TEXT NOT NULL REFERENCES security_groups(id) ON DELETE CASCADE,"
    " egress INTEGER NOT NULL, protocol TEXT NOT NULL, from_port INTEGER NOT NULL,"
    " to_port INTEGER NOT NULL, cidr TEXT NOT NULL, source_group TEXT NOT NULL,"
    " description TEXT NOT NULL,"
    " UNIQUE (group_id, egress, protocol, from_port, to_port, cidr, source_group));"
    "CREATE TABLE IF NOT EXISTS sg_rule_tags ("
    " rule_id TEXT NOT NULL REFERENCES sg_rules(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (rule_id, key));"
    "CREATE TABLE IF NOT EXISTS instance_groups ("
    " instance_id TEXT NOT NULL,"
    " group_id TEXT NOT NULL REFERENCES security_groups(id),"
    " PRIMARY KEY (instance_id, group_id));";

int lv_sgstate_init(lv_state *st, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = cg_db_exec(db, schema, err);

    lv_state_db_unlock(st);
    return ret;
}

/* Insert rule r of group_id with a new id.  In the caller's transaction. */
static int insert_rule(sqlite3 *db, const char *group_id, const cg_sg_rule *r, cg_error *err)
{
    char id[32];

    cg_new_id(id, sizeof(id), "sgr-");
    return cg_db_run(db, err, "insert rule",
                     "INSERT INTO sg_rules (id, group_id, egress, protocol, from_port, to_port,"
                     " cidr, source_group, description) VALUES (?,?,?,?,?,?,?,?,?)",
                     "ssisiisss", id, group_id, r->egress, r->protocol, r->from_port,
                     r->to_port, r->cidr, r->group, r->description) < 0 ? -1 : 0;
}

/* Group g's row, tags and rules (the caller's transaction). */
static int insert_group(sqlite3 *db, const cg_sg *g, cg_error *err)
{
    size_t i;

    if (cg_db_run(db, err, "insert group",
                  "INSERT INTO security_groups (id, vpc_id, name, description, is_default,"
                  " created) VALUES (?,?,?,?,?,?)", "ssssiI", g->id, g->vpc_id, g->name,
                  g->description, g->is_default, (long long)time(NULL)) < 0 ||
        cg_db_tags_write(db, "sg_tags", "group_id", g->id, &g->tags, 0, err) < 0)
        return -1;
    for (i = 0; i < g->n_rules; i++) {
        if (insert_rule(db, g->id, &g->rules[i], err) < 0)
            return -1;
    }
    return 0;
}

/* A VPC without its "default" group gets one: members reach each other,
 * egress is open, as AWS makes it.  Groups of VPCs gone go with them. */
static int ensure_defaults(sqlite3 *db, cg_error *err)
{
    sqlite3_stmt *s = cg_db_prep(db, err, "SELECT id FROM vpcs WHERE id NOT IN"
                                          " (SELECT vpc_id FROM security_groups"
                                          "  WHERE is_default = 1)", "");
    cg_sg_rule rules[2];
    cg_sg g;
    int rc = s ? 1 : -1;

    while (rc >= 0 && (rc = cg_db_step(s, err, "read vpcs")) == 1) {
        memset(&g, 0, sizeof(g));
        memset(rules, 0, sizeof(rules));
        cg_new_id(g.id, sizeof(g.id), "sg-");
        cg_db_col_copy(s, 0, g.vpc_id, sizeof(g.vpc_id));
        snprintf(g.name, sizeof(g.name), "default");
        snprintf(g.description, sizeof(g.description), "default VPC security group");
        g.is_default = 1;
        lv_sg_rule_all(&rules[0], 0, NULL, g.id);
        lv_sg_rule_all(&rules[1], 1, "0.0.0.0/0", NULL);
        g.rules = rules;
        g.n_rules = 2;
        if (insert_group(db, &g, err) < 0)
            rc = -1;
    }
    cg_db_done(s);
    if (rc < 0)
        return -1;
    if (cg_db_run(db, err, "forget groups", "DELETE FROM instance_groups WHERE group_id IN"
                  " (SELECT id FROM security_groups WHERE vpc_id NOT IN (SELECT id FROM vpcs))",
                  "") < 0)
        return -1;
    return cg_db_run(db, err, "forget groups", "DELETE FROM security_groups"
                     " WHERE vpc_id NOT IN (SELECT id FROM vpcs)", "") < 0 ? -1 : 0;
}

int lv_sgstate_ensure_defaults(lv_state *st, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    if (cg_db_begin(db, err) == 0)
        ret = cg_db_end(db, ensure_defaults(db, err) == 0, err);
    lv_state_db_unlock(st);
    return ret;
}

/* Group g's rules and tags from db.  0 or -1. */
static int read_group_parts(sqlite3 *db, cg_sg *g, cg_error *err)
{
    sqlite3_stmt *s = cg_db_prep(db, err, "SELECT id, egress, protocol, from_port, to_port,"
                                          " cidr, source_group, description FROM sg_rules"
                                          " WHERE group_id = ? ORDER BY rowid", "s", g->id);
    cg_sg_rule *r;
    int rc = s ? 1 : -1;

    while (rc >= 0 && (rc = cg_db_step(s, err, "read rules")) == 1) {
        if (!(r = lv_rows_grow((void **)&g->rules, g->n_rules, sizeof(*r), err))) {
            rc = -1;
            break;
        }
        g->n_rules++;
        cg_db_col_copy(s, 0, r->id, sizeof(r->id));
        r->egress = sqlite3_column_int(s, 1);
        cg_db_col_copy(s, 2, r->protocol, sizeof(r->protocol));
        r->from_port = sqlite3_column_int(s, 3);
        r->to_port = sqlite3_column_int(s, 4);
        cg_db_col_copy(s, 5, r->cidr, sizeof(r->cidr));
        cg_db_col_copy(s, 6, r->group, sizeof(r->group));
        cg_db_col_copy(s, 7, r->description, sizeof(r->description));
        if (lv_rows_read_tags(db, "SELECT key, value FROM sg_rule_tags WHERE rule_id = ?"
                              " ORDER BY rowid", r->id, &r->tags, err) < 0)
            rc = -1;
    }
    cg_db_done(s);
    if (rc < 0)
        return -1;
    return lv_rows_read_tags(db, "SELECT key, value FROM sg_tags WHERE group_id = ?"
                             " ORDER BY rowid", g->id, &g->tags, err);
}

int lv_sgstate_list(lv_state *st, cg_sg_list *out, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s = cg_db_prep(db, err, "SELECT id, vpc_id, name, description, is_default"
                                          " FROM security_groups"
                                          " ORDER BY is_default DESC, created, id", "");
    cg_sg *g;
    int rc = s ? 1 : -1;

    memset(out, 0, sizeof(*out));
    while (rc >= 0 && (rc = cg_db_step(s, err, "read groups")) == 1) {
        if (!(g = lv_rows_grow((void **)&out->v, out->n, sizeof(*g), err))) {
            rc = -1;
            break;
        }
        out->n++;
        cg_db_col_copy(s, 0, g->id, sizeof(g->id));
        cg_db_col_copy(s, 1, g->vpc_id, sizeof(g->vpc_id));
        cg_db_col_copy(s, 2, g->name, sizeof(g->name));
        cg_db_col_copy(s, 3, g->description, sizeof(g->description));
        g->is_default = sqlite3_column_int(s, 4) != 0;
        if (read_group_parts(db, g, err) < 0)
            rc = -1;
    }
    cg_db_done(s);
    lv_state_db_unlock(st);
    if (rc < 0)
        cg_sg_list_release(out);
    return rc < 0 ? -1 : 0;
}

/* The checks and statements of lv_sgstate_add, in its transaction. */
static int add_checked(sqlite3 *db, const cg_sg *g, cg_error *err)
{
    long long one;
    int rc = cg_db_int(db, err, &one, "SELECT 1 FROM vpcs WHERE id = ?", "s", g->vpc_id);

    if (rc == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "The vpc ID '%s' does not exist", g->vpc_id);
    if (rc <= 0)
        return -1;
    rc = cg_db_int(db, err, &one, "SELECT 1 FROM security_groups WHERE vpc_id = ? AND name = ?",
                   "ss", g->vpc_id, g->name);
    if (rc == 1)
        cg_error_set(err, CG_ERR_CONFLICT, "The security group '%s' already exists for VPC "
                     "'%s'", g->name, g->vpc_id);
    if (rc != 0)
        return -1;
    return insert_group(db, g, err);
}

int lv_sgstate_add(lv_state *st, const cg_sg *g, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    if (cg_db_begin(db, err) == 0)
        ret = cg_db_end(db, ensure_defaults(db, err) == 0 && add_checked(db, g, err) == 0, err);
    lv_state_db_unlock(st);
    return ret;
}

/* The checks and statements of lv_sgstate_delete, in its transaction. */
static int delete_checked(sqlite3 *db, const char *id, cg_error *err)
{
    long long n = 0;
    int rc = cg_db_int(db, err, &n, "SELECT is_default FROM security_groups WHERE id = ?", "s",
                       id);

    if (rc == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "The security group '%s' does not exist", id);
    else if (rc == 1 && n)
        cg_error_set(err, CG_ERR_FORBIDDEN, "the default group cannot be deleted");
    if (rc != 1 || n)
        return -1;
    if (cg_db_int(db, err, &n, "SELECT (SELECT count(*) FROM instance_groups WHERE group_id = ?)"
                  " + (SELECT count(*) FROM sg_rules WHERE source_group = ? AND group_id != ?)",
                  "sss", id, id, id) < 0)
        return -1;
    if (n) {
        cg_error_set(err, CG_ERR_CONFLICT, "resource %s has a dependent object", id);
        return -1;
    }
    return cg_db_run(db, err, "delete group", "DELETE FROM security_groups WHERE id = ?", "s",
                     id) < 0 ? -1 : 0;
}

int lv_sgstate_delete(lv_state *st, const char *id, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    if (cg_db_begin(db, err) == 0)
        ret = cg_db_end(db, delete_checked(db, id, err) == 0, err);
    lv_state_db_unlock(st);
    return ret;
}

/* Add (revoke 0) or remove one rule of group_id (the caller's transaction). */
static int rule_change(sqlite3 *db, const char *group_id, int revoke, const cg_sg_rule *r,
                       cg_error *err)
{
    static const char where[] = " WHERE group_id = ? AND egress = ? AND protocol = ?"
                                " AND from_port = ? AND to_port = ? AND cidr = ?"
                                " AND source_group = ?";
    char sql[320];
    long long one;
    int rc;

    if (revoke) {
        snprintf(sql, sizeof(sql), "DELETE FROM sg_rules%s", where);
        rc = cg_db_run(db, err, "revoke rule", sql, "sisiiss", group_id, r->egress, r->protocol,
                       r->from_port, r->to_port, r->cidr, r->group);
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "The specified rule does not exist in this "
                         "security group.");
        return rc == 1 ? 0 : -1;
    }
    snprintf(sql, sizeof(sql), "SELECT 1 FROM sg_rules%s", where);
    rc = cg_db_int(db, err, &one, sql, "sisiiss", group_id, r->egress, r->protocol,
                   r->from_port, r->to_port, r->cidr, r->group);
    if (rc == 1)
        cg_error_set(err, CG_ERR_CONFLICT, "the specified rule \"peer: %s, %s, %d-%d, ALLOW\" "
                     "already exists", r->cidr[0] ? r->cidr : r->group, r->protocol,
                     r->from_port, r->to_port);
    if (rc != 0)
        return -1;
    return insert_rule(db, group_id, r, err);
}

/* The statements of lv_sgstate_rules, in its transaction. */
static int rules_change(sqlite3 *db, const char *group_id, int revoke, const cg_sg_rule *rules,
                        size_t n, cg_error *err)
{
    long long one;
    size_t i;
    int rc = cg_db_int(db, err, &one, "SELECT 1 FROM security_groups WHERE id = ?", "s",
                       group_id);

    if (rc == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "The security group '%s' does not exist",
                     group_id);
    if (rc <= 0)
        return -1;
    for (i = 0; i < n; i++) {
        if (rules[i].group[0] &&
            (rc = cg_db_int(db, err, &one, "SELECT 1 FROM security_groups WHERE id = ?", "s",
                            rules[i].group)) <= 0) {
            if (rc == 0)
                cg_error_set(err, CG_ERR_MISSING, "The security group '%s' does not exist",
                             rules[i].group);
            return -1;
        }
        if (rule_change(db, group_id, revoke, &rules[i], err) < 0)
            return -1;
    }
    return 0;
}

int lv_sgstate_rules(lv_state *st, const char *group_id, int revoke, const cg_sg_rule *rules,
                     size_t n, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    if (cg_db_begin(db, err) == 0)
        ret = cg_db_end(db, rules_change(db, group_id, revoke, rules, n, err) == 0, err);
    lv_state_db_unlock(st);
    return ret;
}

/* "sg-..." or a rule's "sgr-...". */
int lv_sgstate_tags(lv_state *st, const char *id, const cg_tags *tags, int remove,
                    cg_error *err)
{
    static const lv_tag_table group = {"SELECT 1 FROM security_groups WHERE id = ?", "sg_tags",
                                       "group_id", "security group"};
    static const lv_tag_table rule = {"SELECT 1 FROM sg_rules WHERE id = ?", "sg_rule_tags",
                                      "rule_id", "security group rule"};

    return lv_rows_tags_edit(st, strncmp(id, "sgr-", 4) == 0 ? &rule : &group, id, tags, remove,
                             err);
}

void lv_sg_rule_all(cg_sg_rule *r, int egress, const char *cidr, const char *group)
{
    memset(r, 0, sizeof(*r));
    r->egress = egress;
    snprintf(r->protocol, sizeof(r->protocol), "-1");
    r->from_port = r->to_port = -1;
    snprintf(r->cidr, sizeof(r->cidr), "%s", cidr ? cidr : "");
    snprintf(r->group, sizeof(r->group), "%s", group ? group : "");
}

/* ---- instances in groups ---------------------------------------------------- */

static void member_from_row(sqlite3_stmt *s, void *elem)
{
    lv_sg_member *m = elem;

    cg_db_col_copy(s, 0, m->instance_id, sizeof(m->instance_id));
    cg_db_col_copy(s, 1, m->group_id, sizeof(m->group_id));
}

int lv_sgstate_members(lv_state *st, lv_sg_member **out, size_t *n, cg_error *err)
{
    static const lv_row_kind k = {"SELECT instance_id, group_id FROM instance_groups"
                                  " ORDER BY rowid", NULL, sizeof(lv_sg_member), 0, 0,
                                  member_from_row};

    return lv_rows_read(st, &k, (void **)out, n, err);
}

/* The statements of lv_sgstate_instance_set, in its transaction. */
static int instance_set(sqlite3 *db, const char *instance_id, const char *const *ids, size_t n,
                        cg_error *err)
{
    size_t i;
    int rc;

    if (cg_db_run(db, err, "forget groups", "DELETE FROM instance_groups WHERE instance_id = ?",
                  "s", instance_id) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        rc = cg_db_run(db, err, "record group", "INSERT OR IGNORE INTO instance_groups"
                       " (instance_id, group_id) SELECT ?, id FROM security_groups"
                       " WHERE id = ?", "ss", instance_id, ids[i]);
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "The security group '%s' does not exist",
                         ids[i]);
        if (rc <= 0)
            return -1;
    }
    return 0;
}

int lv_sgstate_instance_set(lv_state *st, const char *instance_id, const char *const *ids,
                            size_t n, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    if (cg_db_begin(db, err) == 0)
        ret = cg_db_end(db, instance_set(db, instance_id, ids, n, err) == 0, err);
    lv_state_db_unlock(st);
    return ret;
}

int lv_sgstate_default_of(lv_state *st, const char *vpc_id, char *buf, size_t len,
                          cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s = cg_db_prep(db, err, "SELECT id FROM security_groups WHERE vpc_id = ?"
                                          " AND is_default = 1", "s", vpc_id);
    int rc = s ? cg_db_step(s, err, "read default group") : -1;

    if (rc == 1)
        cg_db_col_copy(s, 0, buf, len);
    else if (rc == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "VPC %s has no default security group", vpc_id);
    cg_db_done(s);
    lv_state_db_unlock(st);
    return rc == 1 ? 0 : -1;
}
