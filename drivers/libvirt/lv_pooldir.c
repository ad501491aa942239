/* cloudgate libvirt driver: where a job stages large files next to the
 * pool (driver.h pool_local_dir).  virt-v2v writes its converted disks
 * there, so they are on the pool's filesystem and never cross another. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include <libvirt/virterror.h>

#include "lv_driver.h"
#include "lv_host.h"

/* The pool's <target><path> when it names a directory here, into out. */
static int target_dir(virConnectPtr conn, const char *pool, char *out, size_t len)
{
    virStoragePoolPtr p = virStoragePoolLookupByName(conn, pool);
    char *xml = p ? virStoragePoolGetXMLDesc(p, 0) : NULL;
    xmlDocPtr doc = NULL;
    xmlXPathContextPtr ctx = NULL;
    xmlXPathObjectPtr o = NULL;
    struct stat sb;
    int ret = -1;

    if (!xml || !(doc = xmlReadMemory(xml, (int)strlen(xml), "pool.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR |
                                          XML_PARSE_NOWARNING)) ||
        !(ctx = xmlXPathNewContext(doc)) ||
        !(o = xmlXPathEvalExpression((const xmlChar *)"string(/pool/target/path)", ctx)) ||
        !o->stringval || o->stringval[0] != '/')
        goto cleanup;
    if (stat((const char *)o->stringval, &sb) == 0 && S_ISDIR(sb.st_mode) &&
        (size_t)snprintf(out, len, "%s", (const char *)o->stringval) < len)
        ret = 0;
cleanup:
    virResetLastError();
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    free(xml);
    if (p)
        virStoragePoolFree(p);
    return ret;
}

int lv_pool_local_dir(cg_drv *drv, char *out, size_t len, cg_error *err)
{
    virConnectPtr conn;
    cg_error down = {0};

    for (size_t i = 0; i < drv->n_hosts; i++) {
        /* only a zone whose files this process can open */
        if (strncmp(lv_host_uri(drv->hosts[i]), "qemu:///", 8) != 0)
            continue;
        if (!(conn = lv_host_conn(drv->hosts[i], down.kind ? NULL : &down)))
            continue;
        if (target_dir(conn, drv->cfg->storage_pool, out, len) == 0) {
            virConnectClose(conn);
            return 0;
        }
        virConnectClose(conn);
    }
    /* A local zone that is down is a retry later, not a missing feature. */
    if (down.kind) {
        *err = down;
        return -1;
    }
    cg_error_set(err, CG_ERR_UNSUPPORTED,
                 "converting needs a zone on this host whose pool '%s' is a local directory",
                 drv->cfg->storage_pool);
    return -1;
}
