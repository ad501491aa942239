/* cloudgate: CIMI resources from driver and store records.  Each builder is
 * the single description of its resource: attributes in DSP8009 sequence
 * order, names as the JSON binding spells them. */
#include "cimi_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* ---- machine states and operations ------------------------------------- */

cimi_machine_state cimi_machine_state_of(cg_instance_state s, cg_instance_sub sub)
{
    switch (s) {
    case CG_STATE_PENDING:
        return CIMI_M_CREATING;
    case CG_STATE_RUNNING:
        return sub == CG_SUB_PAUSED ? CIMI_M_PAUSED : CIMI_M_STARTED;
    case CG_STATE_STOPPING:
        return CIMI_M_STOPPING;
    case CG_STATE_STOPPED:
        return sub == CG_SUB_SUSPENDED ? CIMI_M_SUSPENDED : CIMI_M_STOPPED;
    case CG_STATE_SHUTTING_DOWN:
        return CIMI_M_DELETING;
    case CG_STATE_TERMINATED:
        return CIMI_M_DELETED;
    }
    return CIMI_M_ERROR;
}

const char *cimi_machine_state_name(cimi_machine_state s)
{
    static const char *const names[] = {
        [CIMI_M_CREATING] = "CREATING",   [CIMI_M_STARTING] = "STARTING",
        [CIMI_M_STARTED] = "STARTED",     [CIMI_M_STOPPING] = "STOPPING",
        [CIMI_M_STOPPED] = "STOPPED",     [CIMI_M_PAUSED] = "PAUSED",
        [CIMI_M_SUSPENDED] = "SUSPENDED", [CIMI_M_DELETING] = "DELETING",
        [CIMI_M_DELETED] = "DELETED",     [CIMI_M_ERROR] = "ERROR",
    };

    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "ERROR";
}

unsigned cimi_machine_ops(cimi_machine_state s)
{
    switch (s) {
    case CIMI_M_STOPPED:
        return CIMI_OP_START | CIMI_OP_CAPTURE | CIMI_OP_EDIT | CIMI_OP_DELETE;
    case CIMI_M_STARTED:
        return CIMI_OP_STOP | CIMI_OP_RESTART | CIMI_OP_PAUSE | CIMI_OP_SUSPEND | CIMI_OP_CAPTURE |
               CIMI_OP_EDIT | CIMI_OP_DELETE;
    case CIMI_M_PAUSED:
        return CIMI_OP_START | CIMI_OP_STOP | CIMI_OP_CAPTURE | CIMI_OP_EDIT | CIMI_OP_DELETE;
    case CIMI_M_SUSPENDED:
        return CIMI_OP_START | CIMI_OP_CAPTURE | CIMI_OP_EDIT | CIMI_OP_DELETE;
    case CIMI_M_CREATING:
    case CIMI_M_STARTING:
    case CIMI_M_STOPPING:
    case CIMI_M_ERROR:
        return CIMI_OP_EDIT | CIMI_OP_DELETE;
    case CIMI_M_DELETING:
    case CIMI_M_DELETED:
        return 0;
    }
    return 0;
}

/* ---- helpers --------------------------------------------------------------- */

static void add_id(cimi_obj *o, const char *base, const char *path, const char *id)
{
    char buf[1024];

    snprintf(buf, sizeof(buf), "%s%s%s%s", base, path, id ? "/" : "", id ? id : "");
    cimi_add_str(o, "id", buf);
}

static void add_href(cimi_obj *o, const char *name, const char *base, const char *path)
{
    char buf[1024];

    snprintf(buf, sizeof(buf), "%s%s", base, path);
    cimi_add_ref(o, name, buf, NULL);
}

/* Tags as CIMI properties (omitted when there are none); Name and
 * Description are the name and description attributes instead. */
static void add_tags(cimi_obj *o, const cg_tags *tags)
{
    cimi_attr *props = NULL;
    size_t i;

    for (i = 0; tags && i < tags->n; i++) {
        if (strcmp(tags->v[i].key, "Name") == 0 || strcmp(tags->v[i].key, "Description") == 0)
            continue;
        if (!props && !(props = cimi_add_props(o)))
            return;
        cimi_pair_push(o, props, tags->v[i].key, tags->v[i].value);
    }
}

void cimi_add_collection_ops(cimi_obj *o, const char *href, int add, int import)
{
    cimi_attr *ops = add || import ? cimi_add_ops(o) : NULL;

    if (ops && add)
        cimi_pair_push(o, ops, "add", href);
    if (ops && import)
        cimi_pair_push(o, ops, CIMI_ACTION_NS "import", href);
}

/* The "delete" operation on an entry (href = its id). */
static void add_delete_op(cimi_obj *o)
{
    /* Ops first: pushing an attribute may move o's array, and id with it. */
    cimi_attr *ops = cimi_add_ops(o);
    const cimi_attr *id = cimi_obj_get(o, "id");

    if (ops && id && id->s)
        cimi_pair_push(o, ops, "delete", id->s);
}

/* ---- entry point ------------------------------------------------------------ */

cimi_obj *cimi_build_cep(const char *base, const cg_config *cfg)
{
    cimi_obj *o = cimi_obj_new("CloudEntryPoint");
    char desc[256];

    if (!o)
        return NULL;
    snprintf(desc, sizeof(desc), "cloudgate region %s", cfg && cfg->region ? cfg->region : "");
    add_id(o, base, "cloudEntryPoint", NULL);
    cimi_add_str(o, "name", "cloudgate");
    cimi_add_str(o, "description", desc);
    cimi_add_str(o, "baseURI", base);
    /* XSD order; only the collections this frontend serves. */
    add_href(o, "machines", base, "machines");
    add_href(o, "machineTemplates", base, "machineTemplates");
    add_href(o, "machineConfigs", base, "machineConfigs");
    add_href(o, "machineImages", base, "machineImages");
    add_href(o, "credentials", base, "credentials");
    add_href(o, "volumes", base, "volumes");
    add_href(o, "volumeTemplates", base, "volumeTemplates");
    add_href(o, "volumeConfigs", base, "volumeConfigs");
    add_href(o, "volumeImages", base, "volumeImages");
    add_href(o, "networks", base, "networks");
    add_href(o, "networkPorts", base, "networkPorts");
    add_href(o, "jobs", base, "jobs");
    return o;
}

cimi_obj *cimi_build_collection(const char *base, const char *path, const char *type,
                                long long count)
{
    cimi_obj *o = cimi_obj_new(type);

    if (!o)
        return NULL;
    add_id(o, base, path, NULL);
    cimi_add_int(o, "count", count);
    return o;
}

/* ---- machines ---------------------------------------------------------------- */

/* The instance's one interface: its network and port by reference when the
 * driver has VPCs (a port's MAC is a property of the NetworkPort: DSP8009's
 * NetworkInterface has no room for it), else the network by name. */
static cimi_obj *build_nic(const char *base, const cg_config *cfg, const cg_instance *inst)
{
    cimi_obj *nic = cimi_obj_new(NULL), *addr, *net = NULL;
    cimi_attr *addrs;
    char href[1024];

    if (!nic)
        return NULL;
    addrs = cimi_add_list(nic, "addresses", "address");
    if (inst->private_ip[0]) {
        if ((addr = cimi_obj_new(NULL))) {
            cimi_add_str(addr, "ip", inst->private_ip);
            cimi_add_str(addr, "allocation", "dynamic");
            cimi_add_str(addr, "protocol", strchr(inst->private_ip, ':') ? "IPv6" : "IPv4");
        }
        cimi_list_push(nic, addrs, addr);
    }
    if (inst->vpc_id[0]) {
        snprintf(href, sizeof(href), "%snetworks/%s", base, inst->vpc_id);
        cimi_add_ref(nic, "network", href, NULL);
    } else if ((net = cimi_obj_new(NULL))) {
        cimi_add_str(net, "name", cfg && cfg->network ? cfg->network : "default");
        cimi_add_ref(nic, "network", NULL, net);
    } else {
        nic->failed = 1;
    }
    if (inst->eni_id[0]) {
        snprintf(href, sizeof(href), "%snetworkPorts/%s", base, inst->eni_id);
        cimi_add_ref(nic, "networkPort", href, NULL);
    }
    cimi_add_str(nic, "state", inst->state == CG_STATE_RUNNING ? "ACTIVE" : "PASSIVE");
    return nic;
}

cimi_obj *cimi_build_machine_nics(const char *base, const cg_config *cfg, const cg_instance *inst)
{
    cimi_obj *o = cimi_obj_new("MachineNetworkInterfaceCollection");
    char path[128];
    cimi_attr *list;

    if (!o)
        return NULL;
    snprintf(path, sizeof(path), "machines/%s/networkInterfaces", inst->id);
    add_id(o, base, path, NULL);
    cimi_add_int(o, "count", 1);
    list = cimi_add_list(o, "networkInterfaces", "NetworkInterface");
    cimi_list_push(o, list, build_nic(base, cfg, inst));
    return o;
}

static void add_machine_ops(cimi_obj *o, const char *base, const char *href, unsigned ops)
{
    static const struct {
        unsigned bit;
        const char *rel;
    } table[] = {
        {CIMI_OP_START, CIMI_ACTION_NS "start"},
        {CIMI_OP_STOP, CIMI_ACTION_NS "stop"},
        {CIMI_OP_RESTART, CIMI_ACTION_NS "restart"},
        {CIMI_OP_PAUSE, CIMI_ACTION_NS "pause"},
        {CIMI_OP_SUSPEND, CIMI_ACTION_NS "suspend"},
        {CIMI_OP_CAPTURE, CIMI_ACTION_NS "capture"},
        {CIMI_OP_EDIT, "edit"},
        {CIMI_OP_DELETE, "delete"},
    };
    char images[700];
    cimi_attr *attr;
    size_t i;

    if (!ops)
        return;
    /* capture is served by the machineImages collection (DSP0263 5.14.7.1);
     * an Action posted to the machine is taken too. */
    snprintf(images, sizeof(images), "%smachineImages", base);
    attr = cimi_add_ops(o);
    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (ops & table[i].bit)
            cimi_pair_push(o, attr, table[i].rel, table[i].bit == CIMI_OP_CAPTURE ? images : href);
    }
}

cimi_obj *cimi_build_machine(const char *base, const cg_config *cfg, const cg_instance *inst,
                             unsigned served)
{
    cimi_obj *o = cimi_obj_new("Machine"), *nics;
    cimi_machine_state st = cimi_machine_state_of(inst->state, inst->sub);
    const char *name = cg_tags_get(&inst->tags, "Name");
    char href[1024], sub[1100];
    cg_tags props = {0};

    if (!o)
        return NULL;
    snprintf(href, sizeof(href), "%smachines/%s", base, inst->id);
    cimi_add_str(o, "id", href);
    cimi_add_str(o, "name", name && *name ? name : inst->id);
    cimi_add_str(o, "description", cg_tags_get(&inst->tags, "Description"));
    if (inst->launch_time)
        cimi_add_time(o, "created", inst->launch_time);
    if (inst->state_time)
        cimi_add_time(o, "updated", inst->state_time);
    /* Its security groups are properties beside its tags (they win); a
     * machine being imported names the job making it, as a pending image
     * does. */
    if (cg_tags_copy(&props, &inst->tags) < 0 || cimi_machine_group_props(inst, &props) < 0)
        o->failed = 1;
    if (inst->locked_by[0]) {
        snprintf(sub, sizeof(sub), "%sjobs/%s", base, inst->locked_by);
        if (cg_tags_set(&props, "job", sub) < 0)
            o->failed = 1;
    }
    add_tags(o, &props);
    cg_tags_release(&props);
    cimi_add_str(o, "state", cimi_machine_state_name(st));
    cimi_add_int(o, "cpu", inst->vcpus);
    cimi_add_int(o, "memory", (long long)inst->memory_mib * 1024);
    snprintf(sub, sizeof(sub), "%s/disks", href);
    cimi_add_ref(o, "disks", sub, NULL);
    cimi_add_str(o, "cpuArch", "x86_64");
    snprintf(sub, sizeof(sub), "%s/volumes", href);
    cimi_add_ref(o, "volumes", sub, NULL);
    if ((nics = cimi_build_machine_nics(base, cfg, inst))) {
        /* Nested, the collection is written without its resourceURI in XML
         * (NetworkInterfaceCollRef) but keeps it in JSON. */
        cimi_add_obj(o, "networkInterfaces", nics);
    } else {
        o->failed = 1;
    }
    /* Locked by an import: nothing is allowed until the conversion ends. */
    add_machine_ops(o, base, href, inst->locked_by[0] ? 0 : cimi_machine_ops(st) & served);
    return o;
}

/* ---- configurations, images, credentials ------------------------------------ */

cimi_obj *cimi_build_machine_config(const char *base, const cg_instance_type *t)
{
    cimi_obj *o = cimi_obj_new("MachineConfiguration");
    char desc[128];

    if (!o)
        return NULL;
    snprintf(desc, sizeof(desc), "%u vCPU, %u MiB", t->vcpus, t->memory_mib);
    add_id(o, base, "machineConfigs", t->name);
    cimi_add_str(o, "name", t->name);
    cimi_add_str(o, "description", desc);
    cimi_add_int(o, "cpu", t->vcpus);
    cimi_add_int(o, "memory", (long long)t->memory_mib * 1024);
    return o;
}

static void upper_copy(char *dst, size_t len, const char *src)
{
    size_t i;

    for (i = 0; src[i] && i + 1 < len; i++)
        dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = '\0';
}

/* What the gateway knows of an image, as properties beside its tags (which
 * they win over): the OS inspection found ("os.type", "os.distro",
 * "os.version", "os.arch", "os.product", "os.cloudInit"), why it failed
 * ("stateReason") and, while pending, the job making it ("job"). */
static int image_props(const char *base, const cg_image *img, cg_tags *props)
{
    const cg_os_info *os = &img->os;
    char job[600];
    int r = cg_tags_copy(props, &img->tags);

    if (r == 0 && os->type[0]) {
        r |= cg_tags_set(props, "os.type", os->type);
        if (os->distro[0])
            r |= cg_tags_set(props, "os.distro", os->distro);
        if (os->version[0])
            r |= cg_tags_set(props, "os.version", os->version);
        if (os->arch[0])
            r |= cg_tags_set(props, "os.arch", os->arch);
        if (os->product[0])
            r |= cg_tags_set(props, "os.product", os->product);
        if (os->cloud_init >= 0)
            r |= cg_tags_set(props, "os.cloudInit", os->cloud_init ? "true" : "false");
    }
    if (r == 0 && img->state_reason[0])
        r |= cg_tags_set(props, "stateReason", img->state_reason);
    if (r == 0 && img->job_id[0] && strcmp(img->state, "pending") == 0) {
        snprintf(job, sizeof(job), "%sjobs/%s", base, img->job_id);
        r |= cg_tags_set(props, "job", job);
    }
    return r ? -1 : 0;
}

cimi_obj *cimi_build_machine_image(const char *base, const cg_config *cfg, const cg_image *img)
{
    cimi_obj *o = cimi_obj_new("MachineImage");
    char state[32], location[512];
    cg_tags props = {0};

    if (!o)
        return NULL;
    if (image_props(base, img, &props) < 0)
        o->failed = 1;
    if (strcmp(img->state, "available") == 0)
        snprintf(state, sizeof(state), "AVAILABLE");
    else if (strcmp(img->state, "pending") == 0)
        snprintf(state, sizeof(state), "CREATING");
    else if (strcmp(img->state, "failed") == 0)
        snprintf(state, sizeof(state), "ERROR");
    else
        upper_copy(state, sizeof(state), img->state);
    add_id(o, base, "machineImages", img->id);
    cimi_add_str(o, "name", img->name ? img->name : img->id);
    cimi_add_str(o, "description", img->description);
    if (img->created)
        cimi_add_time(o, "created", img->created);
    add_tags(o, &props);
    cg_tags_release(&props);
    cimi_add_str(o, "state", state);
    cimi_add_str(o, "type", "IMAGE");
    if (img->volume && img->volume[0]) {
        /* The template's storage volume: "<pool>/<volume>" in every zone. */
        snprintf(location, sizeof(location), "%s/%s",
                 cfg && cfg->storage_pool ? cfg->storage_pool : "", img->volume);
        cimi_add_str(o, "imageLocation", location);
    }
    /* A pending image is its job's to remove (cancel the job). */
    if (strcmp(img->state, "pending") != 0)
        add_delete_op(o);
    return o;
}

cimi_obj *cimi_build_credential(const char *base, const cg_keypair *kp)
{
    cimi_obj *o = cimi_obj_new("Credential");
    char desc[256];

    if (!o)
        return NULL;
    snprintf(desc, sizeof(desc), "%s key pair, fingerprint %s", kp->type, kp->fingerprint);
    add_id(o, base, "credentials", kp->key_id);
    cimi_add_str(o, "name", kp->name);
    cimi_add_str(o, "description", desc);
    if (kp->created)
        cimi_add_time(o, "created", kp->created);
    add_tags(o, &kp->tags);
    /* key is byte[] in the model: hexBinary in XML, the OpenSSH line in JSON. */
    add_delete_op(o);
    cimi_add_bytes(o, "key", kp->public_key);
    return o;
}

/* ---- jobs ---------------------------------------------------------------------- */

/* The href of the resource with id (n bytes), or 0 when its kind is unknown. */
static int resource_href(const char *base, const char *id, size_t n, char *buf, size_t len)
{
    const char *coll;

    if (n > 2 && strncmp(id, "i-", 2) == 0)
        coll = "machines";
    else if (n > 4 && strncmp(id, "ami-", 4) == 0)
        coll = "machineImages";
    else if (n > 4 && strncmp(id, "vol-", 4) == 0)
        coll = "volumes";
    else
        return 0;
    snprintf(buf, len, "%s%s/%.*s", base, coll, (int)n, id);
    return 1;
}

/* The actions DSP0263 names (the others, such as "create" or
 * "import-image", are cloudgate's words and stay as they are). */
static int is_cimi_action(const char *a)
{
    static const char *const names[] = {"start", "stop", "restart", "pause", "suspend", "capture"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(a, names[i]) == 0)
            return 1;
    }
    return 0;
}

/* What an import job reads (its URL, format and size in bytes) as
 * properties; none for other jobs. */
static void add_job_props(cimi_obj *o, const cg_job *job)
{
    cimi_attr *props;
    char size[32];

    if (!job->source[0] && !job->format[0] && !job->size)
        return;
    if (!(props = cimi_add_props(o)))
        return;
    if (job->source[0])
        cimi_pair_push(o, props, "source", job->source);
    if (job->format[0])
        cimi_pair_push(o, props, "format", job->format);
    if (job->size) {
        snprintf(size, sizeof(size), "%llu", job->size);
        cimi_pair_push(o, props, "size", size);
    }
}

cimi_obj *cimi_build_job(const char *base, const cg_job *job)
{
    cimi_obj *o = cimi_obj_new("Job");
    const char *p, *comma;
    char buf[1024];
    cimi_attr *refs;
    size_t n;

    if (!o)
        return NULL;
    add_id(o, base, "jobs", job->id);
    if (job->description[0])
        cimi_add_str(o, "description", job->description);
    if (job->created)
        cimi_add_time(o, "created", job->created);
    add_job_props(o, job);
    /* A running job asked to cancel is still undoing its work. */
    cimi_add_str(o, "state", job->state == CG_JOB_RUNNING && job->cancel_requested
                                 ? "STOPPING"
                                 : cg_job_state_name(job->state));
    if (resource_href(base, job->target, strlen(job->target), buf, sizeof(buf)))
        cimi_add_ref(o, "targetResource", buf, NULL);
    refs = NULL;
    for (p = job->affected; *p; p = comma ? comma + 1 : p + n) {
        comma = strchr(p, ',');
        n = comma ? (size_t)(comma - p) : strlen(p);
        if (!resource_href(base, p, n, buf, sizeof(buf)))
            continue;
        if (!refs && !(refs = cimi_add_refs(o, "affectedResources", "affectedResource")))
            break;
        cimi_pair_push(o, refs, NULL, buf);
    }
    if (is_cimi_action(job->action)) {
        snprintf(buf, sizeof(buf), CIMI_ACTION_NS "%s", job->action);
        cimi_add_str(o, "action", buf);
    } else if (job->action[0]) {
        cimi_add_str(o, "action", job->action);
    }
    cimi_add_int(o, "progress", job->progress);
    if (job->status_message[0])
        cimi_add_str(o, "statusMessage", job->status_message);
    if (job->changed)
        cimi_add_time(o, "timeOfStatusChange", job->changed);
    cimi_add_bool(o, "isCancellable", job->cancellable);
    if (job->cancellable && !job->cancel_requested) {
        cimi_attr *ops = cimi_add_ops(o);
        const cimi_attr *id = cimi_obj_get(o, "id");
        if (ops && id)
            cimi_pair_push(o, ops, CIMI_ACTION_NS "stop", id->s);
    }
    return o;
}
