/* cloudgate: MachineTemplates, VolumeConfigurations and VolumeTemplates.
 *
 * They exist only in the gateway (cimi_store.c).  A client's body is
 * checked and reduced to a canonical form before it is stored: references
 * become ids that were checked to exist, values their units.  Canonical
 * MachineTemplate:
 *   {"name", "description", "properties": {..}, "initialState",
 *    "machineConfig": "<instance type>", "machineImage": "ami-..",
 *    "credential": "key-..", "userData": "<base64>",
 *    "volumes": [{"volume": "vol-..", "initialLocation": "vdb"}],
 *    "volumeTemplates": [{"capacity": KB, "format": "qcow2", "initialLocation"}]}
 * VolumeConfiguration: {"name", "description", "properties", "format", "capacity": KB}
 * VolumeTemplate: {"name", "description", "properties",
 *                  "volumeConfig": {"id"?, "format", "capacity": KB}} */
#include "cimi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../gateway/util.h"

#define KIND_MT "machineTemplates"
#define KIND_VC "volumeConfigs"
#define KIND_VT "volumeTemplates"

/* name, description and properties, copied from a body into canonical. */
static int copy_common(cimi_call *c, json_object *body, const char *what, json_object *out)
{
    const char *name = NULL, *desc = NULL;
    json_object *props = NULL;

    if (cimi_body_str(c, body, "name", what, &name) < 0 ||
        cimi_body_str(c, body, "description", what, &desc) < 0 ||
        cimi_body_obj(c, body, "properties", what, &props) < 0)
        return -1;
    if (name)
        json_object_object_add(out, "name", json_object_new_string(name));
    if (desc)
        json_object_object_add(out, "description", json_object_new_string(desc));
    if (props) {
        cg_tags check = {0};
        int r = cimi_body_props(c, body, what, &check);
        cg_tags_release(&check);
        if (r < 0)
            return -1;
        json_object_object_add(out, "properties", json_object_get(props));
    }
    return 0;
}

static const char *canon_str(json_object *o, const char *key)
{
    json_object *v;

    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static const char *canon_str0(json_object *o, const char *key)
{
    const char *s = canon_str(o, key);

    return s ? s : "";
}

/* ---- volume configurations -------------------------------------------------- */

int cimi_volume_config_bytes(cimi_call *c, json_object *cfg, const char *what,
                             unsigned long long *bytes, char *format, size_t flen)
{
    const char *href = NULL, *fmt = NULL;
    char id[48], w[128];
    long long kb = 0;
    int present = 0, r;
    cimi_stored st = {0};
    cg_error err = {0};

    if (cimi_body_str(c, cfg, "href", what, &href) < 0)
        return -1;
    if (href) {
        if (cimi_href_id(c, href, KIND_VC, what, id, sizeof(id)) < 0)
            return -1;
        if ((r = cimi_store_get(c->ctx->cimi, KIND_VC, id, &st, &err)) < 0)
            return cimi_fail_cg(c, &err);
        if (r == 1)
            return cimi_fail(c, 400, "%s: VolumeConfiguration '%.64s' does not exist", what, id);
    }
    /* Values beside the href override the stored configuration's. */
    snprintf(w, sizeof(w), "%s.capacity", what);
    r = cimi_body_int(c, cfg, "capacity", w, &kb, &present);
    if (r == 0 && !present && st.body)
        r = cimi_body_int(c, st.body, "capacity", w, &kb, &present);
    snprintf(w, sizeof(w), "%s.format", what);
    if (r == 0)
        r = cimi_body_str(c, cfg, "format", w, &fmt);
    if (r == 0 && !fmt && st.body)
        r = cimi_body_str(c, st.body, "format", w, &fmt);
    if (r == 0 && !present)
        r = cimi_fail(c, 400, "%s needs a capacity (in KB)", what);
    if (r == 0 && (kb < 1024 || kb > 16LL * 1024 * 1024 * 1024))
        r = cimi_fail(c, 400, "%s.capacity must be 1024 KB (1 MiB) to 16 TiB, not %lld", what, kb);
    if (r == 0 && fmt && strcasecmp(fmt, "qcow2") != 0 && strcasecmp(fmt, "raw") != 0)
        r = cimi_fail(c, 400, "%s.format must be qcow2 or raw, not '%.32s'", what, fmt);
    if (r == 0) {
        *bytes = (unsigned long long)kb * 1024;
        snprintf(format, flen, "%s", fmt && strcasecmp(fmt, "raw") == 0 ? "raw" : "qcow2");
    }
    cimi_stored_release(&st);
    return r;
}

/* Check a body, store its canonical form as kind, answer 201 with it. */
typedef int (*canon_fn)(cimi_call *c, json_object *body, json_object *canon);
typedef cimi_obj *(*build_fn)(const char *base, const cimi_stored *s);

static void create_stored(cimi_call *c, const char *type, const char *kind, const char *prefix,
                          canon_fn canon_body, build_fn build)
{
    json_object *body = cimi_body(c, type), *canon = NULL;
    cimi_stored st = {0};
    cg_error err = {0};
    cimi_obj *o = NULL;

    if (!body)
        return;
    canon = json_object_new_object();
    if (copy_common(c, body, type, canon) < 0 || canon_body(c, body, canon) < 0)
        goto cleanup;
    if (cimi_store_put(c->ctx->cimi, kind, prefix, canon, &st, &err) < 0) {
        cimi_fail_cg(c, &err);
        goto cleanup;
    }
    o = build(c->base, &st);
    cimi_reply_created(c, o);

cleanup:
    cimi_obj_free(o);
    cimi_stored_release(&st);
    json_object_put(canon);
    json_object_put(body);
}

static int canon_config(cimi_call *c, json_object *body, json_object *canon)
{
    unsigned long long bytes;
    char format[16];

    if (cimi_volume_config_bytes(c, body, "VolumeConfiguration", &bytes, format, sizeof(format)) <
        0)
        return -1;
    json_object_object_add(canon, "format", json_object_new_string(format));
    json_object_object_add(canon, "capacity", json_object_new_int64((int64_t)(bytes / 1024)));
    return 0;
}

void cimi_volume_config_create(cimi_call *c)
{
    create_stored(c, "VolumeConfiguration", KIND_VC, "vc-", canon_config, cimi_build_volume_config);
}

/* ---- volume templates -------------------------------------------------------- */

/* A VolumeTemplate's volumeConfig (by reference or value) as canonical. */
static json_object *canon_volume_config(cimi_call *c, json_object *vt, const char *what)
{
    json_object *cfg = NULL, *out;
    unsigned long long bytes;
    const char *href = NULL;
    char format[16], id[48], w[128];

    snprintf(w, sizeof(w), "%s.volumeConfig", what);
    if (cimi_body_obj(c, vt, "volumeConfig", w, &cfg) < 0)
        return NULL;
    if (!cfg) {
        cimi_fail(c, 400, "%s needs a volumeConfig", what);
        return NULL;
    }
    if (cimi_volume_config_bytes(c, cfg, w, &bytes, format, sizeof(format)) < 0 ||
        cimi_body_str(c, cfg, "href", w, &href) < 0)
        return NULL;
    out = json_object_new_object();
    if (href && cimi_href_id(c, href, KIND_VC, w, id, sizeof(id)) == 0)
        json_object_object_add(out, "id", json_object_new_string(id));
    json_object_object_add(out, "format", json_object_new_string(format));
    json_object_object_add(out, "capacity", json_object_new_int64((int64_t)(bytes / 1024)));
    return out;
}

static int canon_volume_template(cimi_call *c, json_object *body, json_object *canon)
{
    json_object *cfg = canon_volume_config(c, body, "VolumeTemplate");

    if (!cfg)
        return -1;
    json_object_object_add(canon, "volumeConfig", cfg);
    return 0;
}

void cimi_volume_template_create(cimi_call *c)
{
    create_stored(c, "VolumeTemplate", KIND_VT, "vt-", canon_volume_template,
                  cimi_build_volume_template);
}

/* ---- machine templates --------------------------------------------------------- */

static int canon_ref(cimi_call *c, json_object *tpl, const char *key, const char *coll,
                     const char *what, json_object *out)
{
    json_object *ref = NULL;
    const char *href = NULL;
    char w[128], id[300];

    snprintf(w, sizeof(w), "%s.%s", what, key);
    if (cimi_body_obj(c, tpl, key, w, &ref) < 0 || !ref)
        return c->status ? -1 : 0;
    if (cimi_body_str(c, ref, "href", w, &href) < 0)
        return -1;
    if (!href)
        return cimi_fail(c, 400, "%s must be a reference ({\"href\": ...}) into %s", w, coll);
    if (cimi_href_id(c, href, coll, w, id, sizeof(id)) < 0)
        return -1;
    json_object_object_add(out, key, json_object_new_string(id));
    return 0;
}

/* Check that the references of a canonical template name things that exist. */
static int check_refs(cimi_call *c, json_object *canon, const char *what)
{
    const char *type = canon_str(canon, "machineConfig"), *image = canon_str(canon, "machineImage");
    const char *cred = canon_str(canon, "credential");
    cg_image_list imgs = {0};
    cg_keypair_list kps = {0};
    cg_error err = {0};
    size_t i;
    int ret = -1, found;

    if (type && !cg_config_find_type(c->ctx->cfg, type))
        return cimi_fail(c, 400, "%s.machineConfig: MachineConfiguration '%.64s' does not exist",
                         what, type);
    if (image) {
        if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_list, &err, &imgs) < 0)
            return cimi_fail_cg(c, &err);
        for (i = 0, found = 0; i < imgs.n && !found; i++)
            found = strcmp(imgs.v[i].id, image) == 0;
        cg_image_list_release(&imgs);
        if (!found)
            return cimi_fail(c, 400, "%s.machineImage: MachineImage '%.64s' does not exist", what,
                             image);
    }
    if (cred) {
        if (!c->ctx->keys || cg_keypair_list_all(c->ctx->keys, &kps, &err) < 0)
            return c->ctx->keys ? cimi_fail_cg(c, &err)
                                : cimi_fail(c, 501, "no key-pair store is configured");
        for (i = 0, found = 0; i < kps.n && !found; i++)
            found = strcmp(kps.v[i].key_id, cred) == 0;
        cg_keypair_list_release(&kps);
        if (!found)
            return cimi_fail(c, 400, "%s.credential: Credential '%.64s' does not exist", what,
                             cred);
    }
    ret = 0;
    return ret;
}

/* "/dev/vdb" or "vdb" -> "vdb"; "" when absent. */
static int canon_location(cimi_call *c, json_object *item, const char *what, json_object *out)
{
    const char *loc = NULL;

    if (cimi_body_str(c, item, "initialLocation", what, &loc) < 0)
        return -1;
    if (!loc || !*loc)
        return 0;
    if (strncmp(loc, "/dev/", 5) == 0)
        loc += 5;
    if (strlen(loc) != 3 || strncmp(loc, "vd", 2) != 0 || loc[2] < 'b' || loc[2] > 'z')
        return cimi_fail(c, 400, "%s.initialLocation must be /dev/vdb ... /dev/vdz", what);
    json_object_object_add(out, "initialLocation", json_object_new_string(loc));
    return 0;
}

/* The items of tpl's array key (0 when it is missing or no array). */
static size_t array_len(json_object *tpl, const char *key)
{
    json_object *list;

    return json_object_object_get_ex(tpl, key, &list) && json_object_is_type(list, json_type_array)
               ? json_object_array_length(list)
               : 0;
}

static int canon_volumes(cimi_call *c, json_object *tpl, const char *what, json_object *out)
{
    json_object *list, *item, *v, *arr = NULL;
    const char *href;
    char w[128], id[48];
    size_t i, n;

    /* Before any item is looked at (each may be a store lookup). */
    if (array_len(tpl, "volumes") + array_len(tpl, "volumeTemplates") > 8)
        return cimi_fail(c, 400, "%s: at most 8 volumes and volumeTemplates", what);
    if (json_object_object_get_ex(tpl, "volumes", &list)) {
        if (!json_object_is_type(list, json_type_array))
            return cimi_fail(c, 400, "%s.volumes must be an array", what);
        arr = json_object_new_array();
        json_object_object_add(out, "volumes", arr);
        for (i = 0, n = json_object_array_length(list); i < n; i++) {
            snprintf(w, sizeof(w), "%s.volumes[%zu]", what, i);
            item = json_object_array_get_idx(list, i);
            href = NULL;
            if (!json_object_is_type(item, json_type_object) ||
                cimi_body_str(c, item, "href", w, &href) < 0 || !href)
                return cimi_fail(c, 400, "%s must be {\"href\": a volume, \"initialLocation\"}", w);
            if (cimi_href_id(c, href, "volumes", w, id, sizeof(id)) < 0)
                return -1;
            v = json_object_new_object();
            json_object_array_add(arr, v);
            json_object_object_add(v, "volume", json_object_new_string(id));
            if (canon_location(c, item, w, v) < 0)
                return -1;
        }
    }
    if (json_object_object_get_ex(tpl, "volumeTemplates", &list)) {
        if (!json_object_is_type(list, json_type_array))
            return cimi_fail(c, 400, "%s.volumeTemplates must be an array", what);
        arr = json_object_new_array();
        json_object_object_add(out, "volumeTemplates", arr);
        for (i = 0, n = json_object_array_length(list); i < n; i++) {
            snprintf(w, sizeof(w), "%s.volumeTemplates[%zu]", what, i);
            item = json_object_array_get_idx(list, i);
            if (!json_object_is_type(item, json_type_object))
                return cimi_fail(c, 400, "%s must be a VolumeTemplate", w);
            href = NULL;
            if (cimi_body_str(c, item, "href", w, &href) < 0)
                return -1;
            if (href) { /* a stored VolumeTemplate: its configuration */
                cimi_stored st = {0};
                cg_error err = {0};
                json_object *cfg = NULL;
                int r;
                if (cimi_href_id(c, href, KIND_VT, w, id, sizeof(id)) < 0)
                    return -1;
                if ((r = cimi_store_get(c->ctx->cimi, KIND_VT, id, &st, &err)) != 0)
                    return r < 0
                               ? cimi_fail_cg(c, &err)
                               : cimi_fail(c, 400, "%s: VolumeTemplate '%s' does not exist", w, id);
                json_object_object_get_ex(st.body, "volumeConfig", &cfg);
                v = json_object_new_object();
                json_object_object_add(v, "capacity",
                                       json_object_get(json_object_object_get(cfg, "capacity")));
                json_object_object_add(v, "format",
                                       json_object_get(json_object_object_get(cfg, "format")));
                cimi_stored_release(&st);
            } else if (!(v = canon_volume_config(c, item, w))) {
                return -1;
            }
            json_object_object_del(v, "id");
            json_object_array_add(arr, v);
            if (canon_location(c, item, w, v) < 0)
                return -1;
        }
    }
    return 0;
}

int cimi_template_canonical(cimi_call *c, json_object *tpl, const char *what, json_object **out)
{
    json_object *canon = json_object_new_object();
    const char *state = NULL, *ud = NULL;
    size_t len;
    unsigned char *raw;

    *out = NULL;
    if (copy_common(c, tpl, what, canon) < 0 ||
        canon_ref(c, tpl, "machineConfig", "machineConfigs", what, canon) < 0 ||
        canon_ref(c, tpl, "machineImage", "machineImages", what, canon) < 0 ||
        canon_ref(c, tpl, "credential", "credentials", what, canon) < 0 ||
        canon_volumes(c, tpl, what, canon) < 0 ||
        cimi_body_str(c, tpl, "initialState", what, &state) < 0 ||
        cimi_body_str(c, tpl, "userData", what, &ud) < 0)
        goto fail;
    if (state) {
        if (strcasecmp(state, "STARTED") != 0 && strcasecmp(state, "STOPPED") != 0) {
            cimi_fail(c, 400, "%s.initialState must be STARTED or STOPPED, not '%.32s'", what,
                      state);
            goto fail;
        }
        json_object_object_add(
            canon, "initialState",
            json_object_new_string(strcasecmp(state, "STOPPED") == 0 ? "STOPPED" : "STARTED"));
    }
    if (ud) {
        /* base64, as Deltacloud's and Sirocco's clients send it. */
        if (strlen(ud) > 16384 * 4 / 3 + 4 || !(raw = cg_base64_decode(ud, strlen(ud), &len))) {
            cimi_fail(c, 400, "%s.userData must be base64 (at most 16 KiB decoded)", what);
            goto fail;
        }
        free(raw);
        json_object_object_add(canon, "userData", json_object_new_string(ud));
    }
    if (check_refs(c, canon, what) < 0)
        goto fail;
    *out = canon;
    return 0;

fail:
    json_object_put(canon);
    return -1;
}

int cimi_template_resolve(cimi_call *c, json_object *canon, cimi_launch *l)
{
    const char *type = canon_str(canon, "machineConfig"), *image = canon_str(canon, "machineImage");
    const char *cred = canon_str(canon, "credential"), *ud = canon_str(canon, "userData");
    const char *state = canon_str(canon, "initialState"), *display;
    json_object *props = NULL, *list, *item;
    cg_keypair_list kps = {0};
    cg_error err = {0};
    size_t i, n;

    memset(l, 0, sizeof(*l));
    if (!type)
        return cimi_fail(c, 400, "the machineTemplate needs a machineConfig");
    if (!image)
        return cimi_fail(c, 400, "the machineTemplate needs a machineImage");
    snprintf(l->type_name, sizeof(l->type_name), "%s", type);
    snprintf(l->image_id, sizeof(l->image_id), "%s", image);
    l->initial_stopped = state && strcmp(state, "STOPPED") == 0;
    if (cred) {
        if (!c->ctx->keys || cg_keypair_list_all(c->ctx->keys, &kps, &err) < 0)
            return c->ctx->keys ? cimi_fail_cg(c, &err)
                                : cimi_fail(c, 501, "no key-pair store is configured");
        for (i = 0; i < kps.n; i++) {
            if (strcmp(kps.v[i].key_id, cred) == 0)
                snprintf(l->key_name, sizeof(l->key_name), "%s", kps.v[i].name);
        }
        cg_keypair_list_release(&kps);
        if (!l->key_name[0])
            return cimi_fail(c, 400, "Credential '%.64s' does not exist any more", cred);
    }
    if (ud && !(l->user_data = cg_base64_decode(ud, strlen(ud), &l->user_data_len)))
        return cimi_fail(c, 400, "userData must be base64");
    if (l->user_data && !l->user_data_len) { /* "": none, as EC2's UserData */
        free(l->user_data);
        l->user_data = NULL;
    }
    if (json_object_object_get_ex(canon, "properties", &props) &&
        (display = canon_str(props, "display")) && cg_display_parse(display, &l->display) < 0)
        return cimi_fail(c, 400,
                         "the display property must be headless, vnc or spice, not "
                         "'%.32s'",
                         display);
    if (json_object_object_get_ex(canon, "volumes", &list)) {
        for (i = 0, n = json_object_array_length(list); i < n && l->n_volumes < 8; i++) {
            item = json_object_array_get_idx(list, i);
            snprintf(l->volumes[l->n_volumes].volume_id, sizeof(l->volumes[0].volume_id), "%s",
                     canon_str0(item, "volume"));
            snprintf(l->volumes[l->n_volumes++].device, sizeof(l->volumes[0].device), "%s",
                     canon_str(item, "initialLocation") ? canon_str(item, "initialLocation") : "");
        }
    }
    if (json_object_object_get_ex(canon, "volumeTemplates", &list)) {
        for (i = 0, n = json_object_array_length(list); i < n && l->n_volumes < 8; i++) {
            item = json_object_array_get_idx(list, i);
            l->volumes[l->n_volumes].create_bytes = (unsigned long long)json_object_get_int64(
                                                        json_object_object_get(item, "capacity")) *
                                                    1024;
            snprintf(l->volumes[l->n_volumes].format, sizeof(l->volumes[0].format), "%s",
                     canon_str0(item, "format"));
            snprintf(l->volumes[l->n_volumes++].device, sizeof(l->volumes[0].device), "%s",
                     canon_str(item, "initialLocation") ? canon_str(item, "initialLocation") : "");
        }
    }
    return 0;
}

/* The template's own fields (its name, description and properties are
 * already in canon). */
static int canon_machine_template(cimi_call *c, json_object *body, json_object *canon)
{
    json_object *full = NULL;

    if (cimi_template_canonical(c, body, "MachineTemplate", &full) < 0)
        return -1;
    json_object_object_foreach(full, k, v) json_object_object_add(canon, k, json_object_get(v));
    json_object_put(full);
    return 0;
}

void cimi_machine_template_create(cimi_call *c)
{
    create_stored(c, "MachineTemplate", KIND_MT, "mt-", canon_machine_template,
                  cimi_build_machine_template);
}

/* ---- lists and deletes ------------------------------------------------------------ */

static int list_kind(cimi_call *c, const char *kind,
                     cimi_obj *(*build)(const char *, const cimi_stored *), cimi_obj ***out,
                     size_t *n)
{
    cimi_stored *v = NULL;
    size_t count = 0, i;
    cg_error err = {0};
    int ret = -1;

    if (cimi_store_list(c->ctx->cimi, kind, &v, &count, &err) < 0)
        return cimi_fail_cg(c, &err);
    if (cimi_alloc_objs(c, out, count) < 0)
        goto cleanup;
    for (i = 0; i < count; i++) {
        if (!((*out)[(*n)++] = build(c->base, &v[i]))) {
            cimi_fail(c, 500, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    cimi_stored_list_free(v, count);
    return ret;
}

int cimi_list_machine_templates(cimi_call *c, cimi_obj ***out, size_t *n)
{
    return list_kind(c, KIND_MT, cimi_build_machine_template, out, n);
}

int cimi_list_volume_configs(cimi_call *c, cimi_obj ***out, size_t *n)
{
    return list_kind(c, KIND_VC, cimi_build_volume_config, out, n);
}

int cimi_list_volume_templates(cimi_call *c, cimi_obj ***out, size_t *n)
{
    return list_kind(c, KIND_VT, cimi_build_volume_template, out, n);
}

/* DELETE of a stored resource: 200 with no body (DSP0263 allows 200/204). */
static void delete_kind(cimi_call *c, const char *kind, const char *id)
{
    cg_error err = {0};

    if (cimi_store_delete(c->ctx->cimi, kind, id, &err) < 0) {
        cimi_fail_cg(c, &err);
        return;
    }
    gw_response_set_body(c->resp, 200, c->xml ? CIMI_XML : CIMI_JSON, NULL, 0);
}

void cimi_machine_template_delete(cimi_call *c, const char *id)
{
    delete_kind(c, KIND_MT, id);
}

void cimi_volume_config_delete(cimi_call *c, const char *id)
{
    delete_kind(c, KIND_VC, id);
}

void cimi_volume_template_delete(cimi_call *c, const char *id)
{
    delete_kind(c, KIND_VT, id);
}

/* machineTemplates/ID/graphicsConsoles: the template's "display" property
 * as a console collection; POST a GraphicsConsole to set it, DELETE it for
 * headless machines. */
int cimi_machine_template_sub(cimi_call *c, const char *id, const char *rest)
{
    const char *proto, *cur;
    json_object *props = NULL;
    cimi_stored st = {0};
    cg_error err = {0};
    cg_display d = CG_DISPLAY_HEADLESS;
    char owner[96];
    int r;

    if (!cimi_console_path(rest, &proto))
        return 1;
    if ((r = cimi_store_get(c->ctx->cimi, KIND_MT, id, &st, &err)) != 0) {
        if (r < 0)
            cimi_fail_cg(c, &err);
        else
            cimi_fail(c, 404, "MachineTemplate '%.64s' does not exist", id);
        return 0;
    }
    snprintf(owner, sizeof(owner), "machineTemplates/%s", id);
    json_object_object_get_ex(st.body, "properties", &props);
    if ((cur = canon_str(props, "display")) && cg_display_parse(cur, &d) < 0)
        d = CG_DISPLAY_HEADLESS;
    if (strcmp(c->req->method, "GET") == 0) {
        cimi_reply_consoles(c, owner, d, NULL, proto);
        goto cleanup;
    }
    if (cimi_console_request(c, owner, d, proto, &d) < 0)
        goto cleanup;
    if (!props) {
        props = json_object_new_object();
        json_object_object_add(st.body, "properties", props);
    }
    json_object_object_add(props, "display", json_object_new_string(cg_display_name(d)));
    if (cimi_store_update(c->ctx->cimi, KIND_MT, id, st.body, &err) < 0) {
        cimi_fail_cg(c, &err);
        goto cleanup;
    }
    cimi_console_changed(c, owner, d, NULL);

cleanup:
    cimi_stored_release(&st);
    return 0;
}
