/* cloudgate: CIMI resources beyond the machine's core: volumes and their
 * configurations and templates, a machine's disks and volumes, machine
 * templates and graphics consoles.  Attributes in DSP8009 sequence order. */
#include "cimi_internal.h"

#include <stdio.h>
#include <string.h>

static void add_common(cimi_obj *o, const char *base, const char *path, const char *id,
                       const char *name, const char *desc, time_t created)
{
    char buf[1024];

    snprintf(buf, sizeof(buf), "%s%s/%s", base, path, id);
    cimi_add_str(o, "id", buf);
    cimi_add_str(o, "name", name && *name ? name : id);
    cimi_add_str(o, "description", desc);
    if (created)
        cimi_add_time(o, "created", created);
}

static void add_op(cimi_obj *o, const char *rel)
{
    /* Ops first: pushing an attribute may move o's array, and id with it. */
    cimi_attr *ops = cimi_add_ops(o);
    const cimi_attr *id = cimi_obj_get(o, "id");

    if (ops && id && id->s)
        cimi_pair_push(o, ops, rel, id->s);
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;

    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

/* jstr, "" when missing. */
static const char *jstr0(json_object *o, const char *key)
{
    const char *s = jstr(o, key);

    return s ? s : "";
}

static void add_json_props(cimi_obj *o, json_object *body)
{
    json_object *props;
    cimi_attr *attr;

    if (!json_object_object_get_ex(body, "properties", &props) ||
        !json_object_object_length(props) || !(attr = cimi_add_props(o)))
        return;
    json_object_object_foreach(props, k, v) cimi_pair_push(o, attr, k, json_object_get_string(v));
}

static void add_tag_props(cimi_obj *o, const cg_tags *tags)
{
    cimi_attr *attr = NULL;
    size_t i;

    for (i = 0; tags && i < tags->n; i++) {
        if (strcmp(tags->v[i].key, "Name") == 0 || strcmp(tags->v[i].key, "Description") == 0)
            continue;
        if (!attr && !(attr = cimi_add_props(o)))
            return;
        cimi_pair_push(o, attr, tags->v[i].key, tags->v[i].value);
    }
}

/* ---- volumes --------------------------------------------------------------------- */

cimi_obj *cimi_build_volume(const char *base, const cg_volume *vol)
{
    cimi_obj *o = cimi_obj_new("Volume");
    int in_use = vol->attached_to[0] != '\0';

    if (!o)
        return NULL;
    add_common(o, base, "volumes", vol->id, vol->name, vol->description, vol->created);
    add_tag_props(o, &vol->tags);
    /* DSP0263 has no in-use state; the attachment is the MachineVolume. */
    cimi_add_str(o, "state", "AVAILABLE");
    cimi_add_int(o, "capacity", (long long)(vol->size_bytes / 1024));
    cimi_add_bool(o, "bootable", 0);
    if (!in_use)
        add_op(o, "delete");
    return o;
}

cimi_obj *cimi_build_volume_image(const char *base, const cg_snapshot *snap)
{
    cimi_obj *o = cimi_obj_new("VolumeImage");
    char loc[1024];

    if (!o)
        return NULL;
    add_common(o, base, "volumeImages", snap->id, cg_tags_get(&snap->tags, "Name"),
               snap->description, snap->started);
    add_tag_props(o, &snap->tags);
    cimi_add_str(o, "state", strcmp(snap->state, "completed") == 0 ? "AVAILABLE"
                             : strcmp(snap->state, "pending") == 0 ? "CREATING" : "ERROR");
    /* Where its bytes are: a volume of the zone's storage pool. */
    snprintf(loc, sizeof(loc), "libvirt-pool://%s/%s.qcow2", snap->zone, snap->id);
    cimi_add_str(o, "imageLocation", loc);
    cimi_add_bool(o, "bootable", strncmp(snap->volume_id, "i-", 2) == 0);
    if (strcmp(snap->state, "pending") != 0 && !snap->image_id[0])
        add_op(o, "delete");
    return o;
}

cimi_obj *cimi_build_machine_volume(const char *base, const cg_volume *vol)
{
    cimi_obj *o = cimi_obj_new("MachineVolume");
    char buf[1024], loc[32];

    if (!o)
        return NULL;
    snprintf(buf, sizeof(buf), "%smachines/%s/volumes/%s", base, vol->attached_to, vol->id);
    cimi_add_str(o, "id", buf);
    cimi_add_str(o, "name", vol->name && *vol->name ? vol->name : vol->id);
    snprintf(loc, sizeof(loc), "/dev/%s", vol->device);
    cimi_add_str(o, "initialLocation", loc);
    snprintf(buf, sizeof(buf), "%svolumes/%s", base, vol->id);
    cimi_add_ref(o, "volume", buf, NULL);
    add_op(o, "delete");
    return o;
}

cimi_obj *cimi_build_disk(const char *base, const cg_instance *inst, unsigned long long bytes)
{
    cimi_obj *o = cimi_obj_new("Disk");

    (void)base;
    (void)inst;
    if (!o)
        return NULL;
    /* DSP8009 gives a Disk no id: capacity (KB) and where it is. */
    cimi_add_int(o, "capacity", (long long)(bytes / 1024));
    cimi_add_str(o, "initialLocation", "/dev/vda");
    return o;
}

cimi_obj *cimi_build_volume_config(const char *base, const cimi_stored *s)
{
    cimi_obj *o = cimi_obj_new("VolumeConfiguration");

    if (!o)
        return NULL;
    add_common(o, base, "volumeConfigs", s->id, jstr(s->body, "name"), jstr(s->body, "description"),
               s->created);
    add_json_props(o, s->body);
    cimi_add_str(o, "format", jstr(s->body, "format"));
    cimi_add_int(o, "capacity", json_object_get_int64(json_object_object_get(s->body, "capacity")));
    add_op(o, "delete");
    return o;
}

/* A canonical volumeConfig ({"id"?, "format", "capacity"}) as a reference
 * (when it names a stored one) carrying its values. */
static void add_volume_config(cimi_obj *o, const char *base, json_object *cfg)
{
    cimi_obj *body = cimi_obj_new(NULL);
    const char *id = jstr(cfg, "id");
    char href[1024];

    if (!body) {
        o->failed = 1;
        return;
    }
    cimi_add_str(body, "format", jstr(cfg, "format"));
    cimi_add_int(body, "capacity", json_object_get_int64(json_object_object_get(cfg, "capacity")));
    if (id)
        snprintf(href, sizeof(href), "%svolumeConfigs/%s", base, id);
    cimi_add_ref(o, "volumeConfig", id ? href : NULL, body);
}

cimi_obj *cimi_build_volume_template(const char *base, const cimi_stored *s)
{
    cimi_obj *o = cimi_obj_new("VolumeTemplate");
    json_object *cfg;

    if (!o)
        return NULL;
    add_common(o, base, "volumeTemplates", s->id, jstr(s->body, "name"),
               jstr(s->body, "description"), s->created);
    add_json_props(o, s->body);
    if (json_object_object_get_ex(s->body, "volumeConfig", &cfg))
        add_volume_config(o, base, cfg);
    add_op(o, "delete");
    return o;
}

/* ---- machine templates ----------------------------------------------------------- */

static void add_id_ref(cimi_obj *o, const char *name, const char *base, const char *coll,
                       const char *id)
{
    char href[1024];

    if (!id)
        return;
    snprintf(href, sizeof(href), "%s%s/%s", base, coll, id);
    cimi_add_ref(o, name, href, NULL);
}

static void add_template_volumes(cimi_obj *o, const char *base, json_object *body)
{
    json_object *list, *item;
    cimi_attr *attr;
    cimi_obj *v;
    char href[1024], loc[32];
    size_t i;

    if (json_object_object_get_ex(body, "volumes", &list) &&
        (attr = cimi_add_list(o, "volumes", "volume"))) {
        for (i = 0; i < json_object_array_length(list); i++) {
            item = json_object_array_get_idx(list, i);
            if (!(v = cimi_obj_new(NULL))) {
                o->failed = 1;
                return;
            }
            snprintf(href, sizeof(href), "%svolumes/%s", base, jstr0(item, "volume"));
            cimi_add_xattr(v, "href", href);
            if (jstr(item, "initialLocation")) {
                snprintf(loc, sizeof(loc), "/dev/%s", jstr(item, "initialLocation"));
                cimi_add_xattr(v, "initialLocation", loc);
            }
            cimi_list_push(o, attr, v);
        }
    }
    if (json_object_object_get_ex(body, "volumeTemplates", &list) &&
        (attr = cimi_add_list(o, "volumeTemplates", "volumeTemplate"))) {
        for (i = 0; i < json_object_array_length(list); i++) {
            item = json_object_array_get_idx(list, i);
            if (!(v = cimi_obj_new(NULL))) {
                o->failed = 1;
                return;
            }
            if (jstr(item, "initialLocation")) {
                snprintf(loc, sizeof(loc), "/dev/%s", jstr(item, "initialLocation"));
                cimi_add_xattr(v, "initialLocation", loc);
            }
            add_volume_config(v, base, item);
            cimi_list_push(o, attr, v);
        }
    }
}

cimi_obj *cimi_build_machine_template(const char *base, const cimi_stored *s)
{
    cimi_obj *o = cimi_obj_new("MachineTemplate");

    if (!o)
        return NULL;
    add_common(o, base, "machineTemplates", s->id, jstr(s->body, "name"),
               jstr(s->body, "description"), s->created);
    add_json_props(o, s->body);
    cimi_add_str(o, "initialState", jstr(s->body, "initialState"));
    add_id_ref(o, "machineConfig", base, "machineConfigs", jstr(s->body, "machineConfig"));
    add_id_ref(o, "machineImage", base, "machineImages", jstr(s->body, "machineImage"));
    add_id_ref(o, "credential", base, "credentials", jstr(s->body, "credential"));
    add_template_volumes(o, base, s->body);
    cimi_add_str(o, "userData", jstr(s->body, "userData"));
    add_op(o, "delete");
    return o;
}

/* ---- graphics consoles ------------------------------------------------------------ */

cimi_obj *cimi_build_graphics_console(const char *base, const char *owner, cg_display d,
                                      const char *addr, int port)
{
    cimi_obj *o = cimi_obj_new("GraphicsConsole");
    char buf[1024];

    if (!o)
        return NULL;
    snprintf(buf, sizeof(buf), "%s%s/graphicsConsoles/%s", base, owner, cg_display_name(d));
    cimi_add_str(o, "id", buf);
    cimi_add_str(o, "name", cg_display_name(d));
    cimi_add_str(o, "protocol", cg_display_name(d));
    if (addr && *addr)
        cimi_add_str(o, "address", addr);
    if (port > 0)
        cimi_add_int(o, "port", port);
    add_op(o, "delete");
    return o;
}
