/* cloudgate fuzz target: the domain XML reader (lv_domxml_parse in
 * drivers/libvirt/lv_domparse.c) and lv_domxml_update on the same input.
 *
 * Input: a libvirt domain XML.  Checks: for a cloudgate instance, the XML
 * that lv_domxml_update writes from what was read reads back with the same
 * id, sizes and tags; a refusal is reported. */
#include "fuzz.h"
#include "drivers/libvirt/lv_domxml.h"

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
    free(fixed);
    free(updated);
    cg_instance_release(&back);
    cg_instance_release(&out);
    free(xml);
    return 0;
}
