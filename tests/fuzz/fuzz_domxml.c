/* cloudgate fuzz target: the libvirt XML readers: the domain reader
 * (lv_domxml_parse in drivers/libvirt/lv_domparse.c), lv_domxml_update and
 * lv_domxml_nic_refiltered on the same input, and the NIC filter reader
 * (lv_nwfilter_nic_groups) on it as a filter.
 *
 * Input: a libvirt domain (or nwfilter) XML.  Checks: for a cloudgate
 * instance, the XML that lv_domxml_update writes from what was read reads
 * back with the same id, sizes and tags; a refiltered NIC names the new
 * filter; the group ids read from a filter, written into a NIC filter
 * again, read back the same; a refusal is reported. */
#include "fuzz.h"
#include "drivers/libvirt/lv_domxml.h"
#include "drivers/libvirt/lv_nwfilter.h"

#define NEW_FILTER "cg-nic-00000000000000ff"

static int in_list(const char *id, char (*ids)[32], int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (strcmp(id, ids[i]) == 0)
            return 1;
    }
    return 0;
}

/* The NIC readers: what lv_sg_inst.c feeds libvirt's answers to. */
static void check_nic_readers(const char *xml)
{
    /* At most an instance's groups, as lv_sg_inst.c reads them. */
    char ids[CG_INSTANCE_GROUPS_MAX][32], again[CG_INSTANCE_GROUPS_MAX][32], *dev, *nic;
    const char *ptrs[CG_INSTANCE_GROUPS_MAX];
    cg_error err = {0};
    int n, m, i;

    if ((dev = lv_domxml_nic_refiltered(xml, lv_nwfilter_is_nic, NEW_FILTER, &err)))
        FZ_CHECK(strstr(dev, "filter=\"" NEW_FILTER "\"") != NULL ||
                 strstr(dev, "filter='" NEW_FILTER "'") != NULL);
    else
        FZ_CHECK(err.kind != CG_ERR_NONE);
    free(dev);
    n = lv_nwfilter_nic_groups(xml, ids, CG_INSTANCE_GROUPS_MAX);
    FZ_CHECK(n >= -1 && n <= CG_INSTANCE_GROUPS_MAX);
    for (i = 0; i < n; i++) {
        FZ_CHECK(memchr(ids[i], '\0', sizeof(ids[i])) != NULL);
        ptrs[i] = ids[i];
    }
    /* Ids a filter names come back from the filter written for them. */
    if (n > 0) {
        cg_error_clear(&err);
        nic = lv_nwfilter_nic_xml(ptrs, (size_t)n, 1, &err);
        FZ_CHECK(nic || err.kind != CG_ERR_NONE);
        if (nic) {
            m = lv_nwfilter_nic_groups(nic, again, CG_INSTANCE_GROUPS_MAX);
            FZ_CHECK(m >= 1 && m <= n); /* a repeated id is written once */
            for (i = 0; i < m; i++)
                FZ_CHECK(in_list(again[i], ids, n));
            for (i = 0; i < n; i++)
                FZ_CHECK(in_list(ids[i], again, m));
        }
        free(nic);
    }
}

static void check_same(const cg_instance *a, const cg_instance *b)
{
    size_t i;

    FZ_CHECK(strcmp(a->id, b->id) == 0);
    FZ_CHECK(strcmp(a->image_id, b->image_id) == 0);
    FZ_CHECK(strcmp(a->instance_type, b->instance_type) == 0);
    FZ_CHECK(a->vcpus == b->vcpus && a->memory_mib == b->memory_mib);
    FZ_CHECK(a->disable_api_termination == b->disable_api_termination);
    FZ_CHECK(a->tags.n == b->tags.n);
    for (i = 0; i < a->tags.n; i++)
        FZ_CHECK(strcmp(a->tags.v[i].value, cg_tags_get(&b->tags, a->tags.v[i].key)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *xml = fz_strdup(data, size), *updated = NULL, *fixed = NULL;
    cg_instance out, back, meta;
    cg_error err = {0};
    int rc;

    memset(&out, 0, sizeof(out));
    memset(&back, 0, sizeof(back));
    memset(&meta, 0, sizeof(meta));
    if (!xml)
        return 0;
    rc = lv_domxml_parse(xml, &out, &err);
    FZ_CHECK(rc >= -1 && rc <= 1);
    if (rc < 0)
        FZ_CHECK(err.kind != CG_ERR_NONE);
    if (rc == 1 && out.vcpus && out.memory_mib) {
        cg_error_clear(&err);
        if ((updated = lv_domxml_update(xml, &out, &err))) {
            FZ_CHECK(lv_domxml_parse(updated, &back, &err) == 1);
            check_same(&out, &back);
        }
    }
    /* Any domain, a fixed instance written into it. */
    snprintf(meta.id, sizeof(meta.id), "i-0123456789abcdef0");
    snprintf(meta.image_id, sizeof(meta.image_id), "ami-0fedcba9876543210");
    snprintf(meta.instance_type, sizeof(meta.instance_type), "t2.micro");
    meta.vcpus = 2;
    meta.memory_mib = 512;
    cg_error_clear(&err);
    fixed = lv_domxml_update(xml, &meta, &err);
    FZ_CHECK(fixed || err.kind != CG_ERR_NONE);
    check_nic_readers(xml);
    free(fixed);
    free(updated);
    cg_instance_release(&back);
    cg_instance_release(&out);
    free(xml);
    return 0;
}
