/* cloudgate libvirt driver: instance attributes: user-data, tags,
 * ModifyInstanceAttribute (type, user-data, termination protection) and
 * the console output. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../gateway/log.h"
#include "lv_domxml.h"
#include "lv_driver.h"
#include "lv_seed.h"

/* ---- user-data and tags ---- */

/* 0 when instance id exists, live or retained terminated; else -1
 * (reported: CG_ERR_NOT_FOUND or a database error). */
static int known(cg_drv *drv, const char *id, cg_error *err)
{
    cg_instance inst;
    int rc;

    if (lv_drv_find_instance(drv, id))
        return 0;
    if ((rc = lv_state_terminated_get(drv->state, id, &inst, err)) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "instance %s does not exist", id);
        return -1;
    }
    cg_instance_release(&inst);
    return 0;
}

int lv_instance_user_data(cg_drv *drv, const char *id, unsigned char **data, size_t *len,
                          cg_error *err)
{
    int rc;

    *data = NULL;
    *len = 0;
    if (known(drv, id, err) < 0)
        return -1;
    if ((rc = lv_state_user_data_get(drv->state, id, data, len, err)) < 0)
        return -1;
    if (rc == 0 && !(*data = calloc(1, 1))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

static int apply_tags(cg_tags *dst, const cg_tags *tags, int remove)
{
    size_t i;

    for (i = 0; tags && i < tags->n; i++) {
        if (remove)
            cg_tags_remove(dst, tags->v[i].key, tags->v[i].value);
        else if (cg_tags_set(dst, tags->v[i].key, tags->v[i].value) < 0)
            return -1;
    }
    return 0;
}

/* Tags of a retained terminated instance live only in SQLite. */
static int terminated_tags(cg_drv *drv, cg_instance *inst, const cg_tags *tags, int remove,
                           cg_error *err)
{
    int ret = -1;

    pthread_mutex_lock(&drv->tags_lock);
    if (apply_tags(&inst->tags, tags, remove) < 0)
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
    else
        ret = lv_state_terminated_set_tags(drv->state, inst->id, &inst->tags, err);
    pthread_mutex_unlock(&drv->tags_lock);
    return ret;
}

int lv_instance_tags(cg_drv *drv, const char *id, const cg_tags *tags, int remove, cg_error *err)
{
    cg_instance inst;
    lv_host *h;
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    char *xml = NULL;
    unsigned flags = VIR_DOMAIN_AFFECT_CONFIG;
    int terminated, ret = -1;

    if (!(h = lv_instance_take(drv, id, &inst, &terminated, err))) {
        if (terminated)
            ret = terminated_tags(drv, &inst, tags, remove, err);
        cg_instance_release(&inst);
        return ret;
    }
    if (apply_tags(&inst.tags, tags, remove) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if (!(conn = lv_host_conn(h, err)) || !(dom = lv_domain_get(conn, id, err)) ||
        !(xml = lv_metadata_build(&inst, err)))
        goto cleanup;
    /* The metadata is where the tags live across gateway restarts. */
    if (virDomainIsActive(dom) == 1)
        flags |= VIR_DOMAIN_AFFECT_LIVE;
    if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, LV_METADATA_PREFIX,
                             LV_METADATA_NS, flags) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "tag instance %s", id);
        goto cleanup;
    }
    if (lv_cache_set_tags(lv_host_cache(h), id, &inst.tags) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    ret = 0;

cleanup:
    lv_cache_release(lv_host_cache(h), id);
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    free(xml);
    cg_instance_release(&inst);
    return ret;
}

/* ---- ModifyInstanceAttribute ---- */

/* Make data the user-data of inst: rebuild its seed, then store the bytes.
 * 0 or -1 (reported); *changed says whether anything was (the old seed
 * volume replaced or removed). */
static int put_user_data(cg_drv *drv, virConnectPtr conn, const cg_instance *inst,
                         const unsigned char *data, size_t len, int *changed, cg_error *err)
{
    lv_seed_spec seed;
    char format[16];
    char *key = NULL, *path = NULL;
    int rc, ret = -1;

    *changed = 0;
    if ((rc = lv_state_seed_get(drv->state, inst->id, format, sizeof(format), &key, err)) < 0)
        return -1;
    /* An instance launched before seeds existed has none to rebuild. */
    if (rc == 1) {
        memset(&seed, 0, sizeof(seed));
        seed.format = format;
        seed.instance_id = inst->id;
        seed.key_name = inst->key_name[0] ? inst->key_name : NULL;
        seed.public_key = key;
        seed.user_data = data;
        seed.user_data_len = len;
        if (!(path = lv_seed_create(conn, drv->cfg->storage_pool, &seed, changed, err)))
            goto cleanup;
        *changed = 1;
    }
    if (data && len > 0)
        ret = lv_state_user_data_put(drv->state, inst->id, data, len, err);
    else
        ret = lv_state_user_data_delete(drv->state, inst->id, err);
    if (ret == 0)
        *changed = 1;

cleanup:
    free(key);
    free(path);
    return ret;
}

/* Write inst's vcpus, memory and metadata into its domain: a redefinition
 * when the size changed (the domain is stopped), else new metadata. */
static int apply_definition(virConnectPtr conn, virDomainPtr dom, const cg_instance *inst,
                            int resize, cg_error *err)
{
    virDomainPtr again = NULL;
    unsigned flags = VIR_DOMAIN_AFFECT_CONFIG;
    char *xml = NULL, *updated = NULL, *md = NULL;
    int ret = -1;

    if (resize) {
        /* SECURE: a display password must survive the redefinition. */
        if (!(xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE))) {
            lv_report(err, conn, CG_ERR_INTERNAL, "read instance %s", inst->id);
            goto cleanup;
        }
        if (!(updated = lv_domxml_update(xml, inst, err)))
            goto cleanup;
        if (!(again = virDomainDefineXML(conn, updated))) {
            lv_report(err, conn, CG_ERR_INTERNAL, "redefine instance %s", inst->id);
            goto cleanup;
        }
    } else {
        if (!(md = lv_metadata_build(inst, err)))
            goto cleanup;
        if (virDomainIsActive(dom) == 1)
            flags |= VIR_DOMAIN_AFFECT_LIVE;
        if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, md, LV_METADATA_PREFIX,
                                 LV_METADATA_NS, flags) < 0) {
            lv_report(err, conn, CG_ERR_INTERNAL, "update instance %s", inst->id);
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    if (again)
        virDomainFree(again);
    free(xml);
    free(updated);
    free(md);
    return ret;
}

int lv_instance_modify(cg_drv *drv, const char *id, const cg_instance_change *chg, cg_error *err)
{
    cg_instance inst;
    lv_host *h;
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    unsigned char *old = NULL;
    size_t old_len = 0;
    int state, reason, changed = 0, ret = -1;

    if (!(h = lv_instance_take_live(drv, id, &inst, err)))
        return -1;
    /* As on EC2: a running guest keeps the size and user-data it booted with. */
    if ((chg->type || chg->set_user_data) && inst.state != CG_STATE_STOPPED) {
        cg_error_set(err, CG_ERR_STATE,
                     "instance %s is %s; its type and user-data change only while it is stopped",
                     id, cg_instance_state_name(inst.state));
        goto cleanup;
    }
    /* A suspended instance resumes from its saved memory, which would keep
     * the old size and the old user-data: refused rather than discarded. */
    if ((chg->type || chg->set_user_data) && inst.sub == CG_SUB_SUSPENDED) {
        cg_error_set(err, CG_ERR_STATE,
                     "instance %s is suspended; start and stop it to change its type or "
                     "user-data", id);
        goto cleanup;
    }
    if (!(conn = lv_host_conn(h, err)) || !(dom = lv_domain_get(conn, id, err)))
        goto cleanup;
    if (chg->set_user_data) {
        if (lv_state_user_data_get(drv->state, id, &old, &old_len, err) < 0 ||
            put_user_data(drv, conn, &inst, chg->user_data, chg->user_data_len, &changed, err) < 0)
            goto cleanup;
    }
    if (chg->type) {
        snprintf(inst.instance_type, sizeof(inst.instance_type), "%s", chg->type->name);
        inst.vcpus = chg->type->vcpus;
        inst.memory_mib = chg->type->memory_mib;
    }
    if (chg->disable_api_termination >= 0)
        inst.disable_api_termination = chg->disable_api_termination != 0;
    /* Also while running: stored now, applied at the next start. */
    if (lv_display_store(drv, conn, dom, &inst, chg->display, err) < 0)
        goto cleanup;
    if ((chg->type || chg->disable_api_termination >= 0) &&
        apply_definition(conn, dom, &inst, chg->type != NULL, err) < 0)
        goto cleanup;
    if (virDomainGetState(dom, &state, &reason, 0) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "state of instance %s", id);
        goto cleanup;
    }
    if (lv_cache_update(lv_host_cache(h), &inst, lv_state_from_libvirt(state)) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    cg_info("instance %s modified", id);
    ret = 0;

cleanup:
    if (ret < 0 && changed) {
        cg_error e = {0};
        int again;

        /* All or nothing: the old user-data and seed go back. */
        if (put_user_data(drv, conn, &inst, old, old_len, &again, &e) < 0)
            cg_err("instance %s: old user-data and seed not restored: %s", id, e.message);
    }
    lv_cache_release(lv_host_cache(h), id);
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    free(old);
    cg_instance_release(&inst);
    return ret;
}

/* ---- console output ---- */

int lv_instance_console(cg_drv *drv, const char *id, size_t max_bytes, unsigned char **data,
                        size_t *len, time_t *when, cg_error *err)
{
    char path[4096];
    struct stat sb;
    size_t want, got = 0;
    ssize_t n = 0;
    int fd;

    *data = NULL;
    *len = 0;
    *when = time(NULL);
    if (known(drv, id, err) < 0)
        return -1;
    lv_drv_console_path(drv, id, path, sizeof(path));
    /* No log (never started, or terminated): no output yet, as of now. */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 && errno != ENOENT) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (fd < 0 || fstat(fd, &sb) < 0) {
        if (fd >= 0)
            close(fd);
        if (!(*data = calloc(1, 1))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            return -1;
        }
        return 0;
    }
    *when = sb.st_mtime;
    want = (unsigned long long)sb.st_size > max_bytes ? max_bytes : (size_t)sb.st_size;
    if (!(*data = malloc(want + 1))) {
        close(fd);
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    /* The tail as of the fstat; the guest may be writing more meanwhile. */
    while (got < want) {
        n = pread(fd, *data + got, want - got, (off_t)(sb.st_size - want + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got < want && n < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "reading %s: %s", path, strerror(errno));
        free(*data);
        *data = NULL;
        return -1;
    }
    (*data)[got] = '\0';
    *len = got;
    return 0;
}
