/* cloudgate libvirt driver: source groups as kernel ipsets (lv_sg_ipset.h
 * says why). */
#include "lv_sg_ipset.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/tool_run.h"
#include "../../gateway/log.h"

/* The kernel's limit on a set name is 31 characters; the swap partner
 * adds SWAP_SUFFIX. */
#define SET_NAME_MAX 31
#define SWAP_SUFFIX "-t"

void lv_sg_ipset_name(const char *group_id, char *buf, size_t len)
{
    lv_nwfilter_group_name(group_id, buf, len);
}

/* 1 when group_id makes a set name (and its swap partner's) the kernel
 * and ipset's restore syntax take as they are. */
static int group_id_ok(const char *group_id)
{
    size_t len = strlen(group_id);

    return len > 0 && strlen(LV_NWFILTER_GROUP) + len + strlen(SWAP_SUFFIX) <= SET_NAME_MAX &&
           strspn(group_id, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

static int ipv4_ok(const char *ip)
{
    struct in_addr a;

    return inet_pton(AF_INET, ip, &a) == 1;
}

char *lv_sg_ipset_script(const lv_sg_peers *peers, size_t n, int fill, cg_error *err)
{
    char *buf = NULL, name[64];
    size_t size = 0, i, j;
    FILE *f = open_memstream(&buf, &size);
    int ok = 0;

    if (!f) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (!group_id_ok(peers[i].group_id)) {
            cg_error_set(err, CG_ERR_INTERNAL, "not a security group id: \"%.40s\"",
                         peers[i].group_id);
            goto cleanup;
        }
        lv_sg_ipset_name(peers[i].group_id, name, sizeof(name));
        fprintf(f, "create %s hash:ip family inet -exist\n", name);
        if (!fill)
            continue;
        fprintf(f, "create %s" SWAP_SUFFIX " hash:ip family inet -exist\n", name);
        fprintf(f, "flush %s" SWAP_SUFFIX "\n", name);
        for (j = 0; j < peers[i].n; j++) {
            if (ipv4_ok(peers[i].ips[j]))
                fprintf(f, "add %s" SWAP_SUFFIX " %s -exist\n", name, peers[i].ips[j]);
        }
        fprintf(f, "swap %s" SWAP_SUFFIX " %s\ndestroy %s" SWAP_SUFFIX "\n", name, name, name);
    }
    ok = 1;

cleanup:
    return cg_tool_input_done(f, &buf, ok, err);
}

/* ipset ARGS... (at most three), quiet; 0 on exit 0. */
static int ipset(cg_error *err, const char *a1, const char *a2, const char *a3)
{
    char *argv[] = {"ipset", (char *)a1, (char *)a2, (char *)a3, NULL};
    cg_tool_spec spec = {.argv = argv, .package = "ipset", .log_fd = -1};

    return cg_tool_run(&spec, err);
}

/* 1 when uri names a libvirt on this machine other than the test driver:
 * its NICs' filters run in this kernel, where the sets are. */
static int uri_local(const char *uri)
{
    const char *sep = uri ? strstr(uri, "://") : NULL;

    return sep && sep[3] == '/' && strncmp(uri, "test", 4) != 0;
}

int lv_sg_ipset_on(cg_drv *drv)
{
    static pthread_mutex_t decide_lock = PTHREAD_MUTEX_INITIALIZER;
    static int decided = -1;
    cg_error err = {0};
    size_t i;
    int on;

    pthread_mutex_lock(&decide_lock);
    if (decided < 0) {
        /* The configured zones: this may run as a zone connects, before
         * the driver has counted its hosts. */
        on = drv->cfg->n_zones > 0;
        for (i = 0; on && i < drv->cfg->n_zones; i++)
            on = uri_local(drv->cfg->zones[i].uri);
        /* Listing the set names needs the tool, root and the kernel's
         * ip_set: what creating one needs. */
        if (on && ipset(&err, "list", "-n", NULL) < 0) {
            cg_warn("security groups: no ipset (%s): a source group's members are one "
                    "filter rule each, and a change of members redefines the filters "
                    "(install ipset)",
                    err.message);
            on = 0;
        }
        decided = on;
    }
    on = decided;
    pthread_mutex_unlock(&decide_lock);
    return on;
}

int lv_sg_ipset_write(const lv_sg_peers *peers, size_t n, int fill, cg_error *err)
{
    /* One restore at a time: two would share the swap partners. */
    static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
    char *argv[] = {"ipset", "-file", CG_TOOL_INPUT, "restore", NULL};
    cg_tool_spec spec = {.argv = argv, .package = "ipset", .log_fd = -1};
    char *script;
    int ret;

    if (!n)
        return 0;
    if (!(script = lv_sg_ipset_script(peers, n, fill, err)))
        return -1;
    pthread_mutex_lock(&write_lock);
    ret = cg_tool_run_input(&spec, script, err);
    pthread_mutex_unlock(&write_lock);
    free(script);
    return ret;
}

void lv_sg_ipset_destroy(cg_drv *drv, const char *group_id)
{
    char *argv[] = {"ipset", "-file", CG_TOOL_INPUT, "restore", NULL};
    cg_tool_spec spec = {.argv = argv, .package = "ipset", .log_fd = -1};
    cg_error err = {0};
    char name[64], script[512];

    if (!lv_sg_ipset_on(drv) || !group_id_ok(group_id))
        return;
    /* One restore: "create -exist" makes each destroy find its set,
     * whether or not it was there.  The swap partner first: a restore that
     * failed midway leaves it. */
    lv_sg_ipset_name(group_id, name, sizeof(name));
    snprintf(script, sizeof(script),
             "create %s" SWAP_SUFFIX " hash:ip family inet -exist\ndestroy %s" SWAP_SUFFIX "\n"
             "create %s hash:ip family inet -exist\ndestroy %s\n",
             name, name, name, name);
    if (cg_tool_run_input(&spec, script, &err) < 0)
        cg_warn("security group set %s stays: %s", name, err.message);
}
