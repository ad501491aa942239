/* cloudgate: EC2 response documents (see ec2_xml.h). */
#include "ec2_xml.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlwriter.h>

#include "../../gateway/dynbuf.h"
#include "../../gateway/xml_writer.h"
#include "../../gateway/util.h"

/* No EC2 response comes near this; a bound on a runaway one. */
#define EC2_XML_MAX (256u << 20)

struct ec2_xml {
    cg_dynbuf out;
    xmlTextWriterPtr w;
    int failed;
};

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

/* libxml2 wants its global state set up once before threads use it; the
 * gateway may already have done so, and doing it again is harmless. */
static void xml_init_once(void)
{
    xmlInitParser();
}

/* A writer with the XML declaration written and nothing else. */
static ec2_xml *xml_doc_new(void)
{
    ec2_xml *x;

    pthread_once(&xml_once, xml_init_once);
    if (!(x = calloc(1, sizeof(*x))))
        return NULL;
    cg_dynbuf_init(&x->out, EC2_XML_MAX);
    if (!(x->w = cg_xml_writer_new(&x->out))) {
        free(x);
        return NULL;
    }
    if (xmlTextWriterSetIndent(x->w, 1) < 0 ||
        xmlTextWriterSetIndentString(x->w, BAD_CAST "  ") < 0 ||
        xmlTextWriterStartDocument(x->w, "1.0", "UTF-8", NULL) < 0) {
        ec2_xml_free(x);
        return NULL;
    }
    return x;
}

ec2_xml *ec2_xml_new_root(const char *root, const char *xmlns)
{
    ec2_xml *x;

    if (!(x = xml_doc_new()))
        return NULL;
    ec2_xml_start(x, root);
    if (!x->failed && xmlTextWriterWriteAttribute(x->w, BAD_CAST "xmlns", BAD_CAST xmlns) < 0)
        x->failed = 1;
    if (x->failed) {
        ec2_xml_free(x);
        return NULL;
    }
    return x;
}

ec2_xml *ec2_xml_new(const char *action, const char *request_id)
{
    ec2_xml *x;
    char root[128];

    snprintf(root, sizeof(root), "%sResponse", action);
    if (!(x = ec2_xml_new_root(root, EC2_XMLNS)))
        return NULL;
    ec2_xml_str(x, "requestId", request_id);
    if (x->failed) {
        ec2_xml_free(x);
        return NULL;
    }
    return x;
}

void ec2_xml_free(ec2_xml *x)
{
    if (!x)
        return;
    if (x->w)
        xmlFreeTextWriter(x->w);
    cg_dynbuf_free(&x->out);
    free(x);
}

void ec2_xml_start(ec2_xml *x, const char *name)
{
    if (x->failed)
        return;
    if (xmlTextWriterStartElement(x->w, BAD_CAST name) < 0)
        x->failed = 1;
}

void ec2_xml_end(ec2_xml *x)
{
    if (x->failed)
        return;
    if (xmlTextWriterEndElement(x->w) < 0)
        x->failed = 1;
}

/* Length of the UTF-8 sequence at s that encodes a character XML 1.0 allows,
 * or 0 when the bytes there are invalid or encode a forbidden character. */
static size_t xml_char_len(const unsigned char *s)
{
    uint32_t c;
    size_t len, i;

    if (s[0] < 0x80) {
        if (s[0] < 0x20 && s[0] != '\t' && s[0] != '\n' && s[0] != '\r')
            return 0;
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0) {
        c = s[0] & 0x1f;
        len = 2;
    } else if ((s[0] & 0xf0) == 0xe0) {
        c = s[0] & 0x0f;
        len = 3;
    } else if ((s[0] & 0xf8) == 0xf0) {
        c = s[0] & 0x07;
        len = 4;
    } else {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    /* Reject overlong forms, surrogates, U+FFFE/U+FFFF and beyond U+10FFFF. */
    if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000))
        return 0;
    if ((c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff || c > 0x10ffff)
        return 0;
    return len;
}

/* NULL when s may be written as is, else a malloc'd copy with '?' in place of
 * every offending byte (*failed set on OOM). */
static char *xml_sanitize(const char *s, int *failed)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n, len = strlen(s);
    char *copy = NULL;

    while (i < len) {
        n = xml_char_len(p + i);
        if (n == 0) {
            if (!copy && !(copy = strdup(s))) {
                *failed = 1;
                return NULL;
            }
            copy[i] = '?';
            n = 1;
        }
        i += n;
    }
    return copy;
}

long ec2_xml_text_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    long count = 0;
    size_t n;

    while (*p) {
        if (!(n = xml_char_len(p)))
            return -1;
        p += n;
        count++;
    }
    return count;
}

void ec2_xml_str(ec2_xml *x, const char *name, const char *value)
{
    char *clean = NULL;

    if (x->failed)
        return;
    ec2_xml_start(x, name);
    if (value && *value) {
        clean = xml_sanitize(value, &x->failed);
        if (!x->failed && xmlTextWriterWriteString(x->w, BAD_CAST(clean ? clean : value)) < 0)
            x->failed = 1;
    }
    ec2_xml_end(x);
    free(clean);
}

void ec2_xml_int(ec2_xml *x, const char *name, long long value)
{
    char num[32];

    snprintf(num, sizeof(num), "%lld", value);
    ec2_xml_str(x, name, num);
}

void ec2_xml_bool(ec2_xml *x, const char *name, int value)
{
    ec2_xml_str(x, name, value ? "true" : "false");
}

void ec2_xml_time(ec2_xml *x, const char *name, time_t t)
{
    char when[40];

    if (cg_time_iso8601(t, when, sizeof(when)) < 0) {
        x->failed = 1;
        return;
    }
    ec2_xml_str(x, name, when);
}

char *ec2_xml_finish(ec2_xml *x, size_t *len)
{
    char *out = NULL;

    if (!x)
        return NULL;
    if (!x->failed && xmlTextWriterEndDocument(x->w) < 0)
        x->failed = 1;
    /* Freeing the writer flushes what it still holds into out. */
    xmlFreeTextWriter(x->w);
    x->w = NULL;
    if (!x->failed)
        out = cg_dynbuf_take(&x->out, len);
    ec2_xml_free(x);
    return out;
}

/* ---- pieces ------------------------------------------------------------- */

void ec2_xml_tags(ec2_xml *x, const cg_tags *tags)
{
    size_t i;

    ec2_xml_start(x, "tagSet");
    for (i = 0; tags && i < tags->n; i++) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "key", tags->v[i].key);
        ec2_xml_str(x, "value", tags->v[i].value);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
}

void ec2_xml_state(ec2_xml *x, const char *name, cg_instance_state s)
{
    ec2_xml_start(x, name);
    ec2_xml_int(x, "code", (long long)s);
    ec2_xml_str(x, "name", cg_instance_state_name(s));
    ec2_xml_end(x);
}

void ec2_private_dns_name(const char *ip, const char *region, char *out, size_t outlen)
{
    unsigned a, b, c, d;
    char tail;

    out[0] = '\0';
    if (!ip || sscanf(ip, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4)
        return;
    if (a > 255 || b > 255 || c > 255 || d > 255)
        return;
    snprintf(out, outlen, "ip-%u-%u-%u-%u.%s.compute.internal", a, b, c, d, region);
}

/* blockDeviceMapping items: with vols (DescribeInstances), the root disk
 * (always deleted with the instance) and the volumes attached to inst; none
 * while the instance is pending or terminated, as EC2. */
static void write_block_devices(ec2_xml *x, const cg_instance *inst, const cg_volume_list *vols)
{
    char dev[32];
    size_t i;

    ec2_xml_start(x, "blockDeviceMapping");
    if (vols && inst->state != CG_STATE_PENDING && inst->state != CG_STATE_TERMINATED) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "deviceName", "/dev/vda");
        ec2_xml_start(x, "ebs");
        ec2_xml_str(x, "status", "attached");
        ec2_xml_time(x, "attachTime", inst->launch_time);
        ec2_xml_bool(x, "deleteOnTermination", 1);
        ec2_xml_end(x);
        ec2_xml_end(x);
        for (i = 0; i < vols->n; i++) {
            if (strcmp(vols->v[i].attached_to, inst->id) != 0)
                continue;
            snprintf(dev, sizeof(dev), "/dev/%s", vols->v[i].device);
            ec2_xml_start(x, "item");
            ec2_xml_str(x, "deviceName", dev);
            ec2_xml_start(x, "ebs");
            ec2_xml_str(x, "volumeId", vols->v[i].id);
            ec2_xml_str(x, "status", "attached");
            ec2_xml_time(x, "attachTime", vols->v[i].created);
            ec2_xml_bool(x, "deleteOnTermination", vols->v[i].delete_on_termination);
            ec2_xml_end(x);
            ec2_xml_end(x);
        }
    }
    ec2_xml_end(x);
}

char *ec2_xml_instance_block_devices(const char *request_id, const cg_instance *inst,
                                     const cg_volume_list *vols, size_t *len)
{
    ec2_xml *x;

    if (!(x = ec2_xml_new("DescribeInstanceAttribute", request_id)))
        return NULL;
    ec2_xml_str(x, "instanceId", inst->id);
    write_block_devices(x, inst, vols);
    return ec2_xml_finish(x, len);
}

/* EC2's stateReason, for a reason that starts with its code, as a failed
 * launch's does ("Server.InternalError: launch failed: ..."). */
static void write_state_reason(ec2_xml *x, const char *reason)
{
    size_t n = strcspn(reason, ":");
    char code[64];

    if ((strncmp(reason, "Server.", 7) != 0 && strncmp(reason, "Client.", 7) != 0) ||
        !reason[n] || n >= sizeof(code))
        return;
    memcpy(code, reason, n);
    code[n] = '\0';
    ec2_xml_start(x, "stateReason");
    ec2_xml_str(x, "code", code);
    ec2_xml_str(x, "message", reason);
    ec2_xml_end(x);
}

static void write_instance(ec2_xml *x, const cg_instance *inst, const char *region,
                           const cg_volume_list *vols)
{
    char dns[160];

    ec2_private_dns_name(inst->private_ip, region, dns, sizeof(dns));
    ec2_xml_str(x, "instanceId", inst->id);
    ec2_xml_str(x, "imageId", inst->image_id);
    ec2_xml_state(x, "instanceState", inst->state);
    /* Only once the DHCP lease exists: clients wait for these to appear. */
    if (inst->private_ip[0])
        ec2_xml_str(x, "privateDnsName", dns);
    ec2_xml_str(x, "dnsName", NULL);
    ec2_xml_str(x, "reason", inst->state_reason);
    write_state_reason(x, inst->state_reason);
    if (inst->key_name[0])
        ec2_xml_str(x, "keyName", inst->key_name);
    ec2_xml_int(x, "amiLaunchIndex", inst->ami_launch_index);
    ec2_xml_start(x, "productCodes");
    ec2_xml_end(x);
    ec2_xml_str(x, "instanceType", inst->instance_type);
    ec2_xml_time(x, "launchTime", inst->launch_time);
    ec2_xml_start(x, "placement");
    ec2_xml_str(x, "availabilityZone", inst->zone);
    ec2_xml_str(x, "groupName", NULL);
    ec2_xml_str(x, "tenancy", "default");
    ec2_xml_end(x);
    ec2_xml_start(x, "monitoring");
    ec2_xml_str(x, "state", "disabled");
    ec2_xml_end(x);
    if (inst->private_ip[0])
        ec2_xml_str(x, "privateIpAddress", inst->private_ip);
    ec2_xml_instance_groups(x, inst);
    ec2_xml_str(x, "rootDeviceType", "ebs");
    ec2_xml_str(x, "rootDeviceName", "/dev/vda");
    write_block_devices(x, inst, vols);
    ec2_xml_str(x, "virtualizationType", "hvm");
    ec2_xml_str(x, "clientToken", inst->client_token);
    ec2_xml_tags(x, &inst->tags);
    ec2_xml_instance_network(x, inst, region);
    ec2_xml_metadata_options(x, "metadataOptions", &inst->metadata);
    ec2_xml_bool(x, "ebsOptimized", 0);
    ec2_xml_start(x, "cpuOptions");
    ec2_xml_int(x, "coreCount", inst->vcpus);
    ec2_xml_int(x, "threadsPerCore", 1);
    ec2_xml_end(x);
}

void ec2_xml_instance(ec2_xml *x, const cg_instance *inst, const char *region)
{
    write_instance(x, inst, region, NULL);
}

/* ---- whole responses ---------------------------------------------------- */

char *ec2_xml_error(const char *request_id, const char *code, const char *message, size_t *len)
{
    ec2_xml *x;

    if (!(x = xml_doc_new()))
        return NULL;
    ec2_xml_start(x, "Response");
    ec2_xml_start(x, "Errors");
    ec2_xml_start(x, "Error");
    ec2_xml_str(x, "Code", code);
    ec2_xml_str(x, "Message", message);
    ec2_xml_end(x);
    ec2_xml_end(x);
    ec2_xml_str(x, "RequestID", request_id);
    return ec2_xml_finish(x, len);
}

typedef struct inst_slot {
    const cg_instance *inst;
    size_t pos;       /* position in the page */
    size_t group_pos; /* position of the reservation's first instance */
} inst_slot;

static int slot_by_group(const void *a, const void *b)
{
    const inst_slot *x = a, *y = b;

    if (x->group_pos != y->group_pos)
        return x->group_pos < y->group_pos ? -1 : 1;
    if (x->inst->ami_launch_index != y->inst->ami_launch_index)
        return x->inst->ami_launch_index < y->inst->ami_launch_index ? -1 : 1;
    return strcmp(x->inst->id, y->inst->id);
}

static void write_reservation_head(ec2_xml *x, const cg_config *cfg, const cg_instance *first)
{
    ec2_xml_str(x, "reservationId", first ? first->reservation_id : NULL);
    ec2_xml_str(x, "ownerId", cfg->account_id);
    ec2_xml_start(x, "groupSet");
    ec2_xml_end(x);
}

char *ec2_xml_describe_instances(const char *request_id, const cg_config *cfg,
                                 const cg_instance *const *v, size_t n, const char *next_token,
                                 size_t *len)
{
    return ec2_xml_describe_instances_vols(request_id, cfg, v, n, NULL, next_token, len);
}

static size_t reservation_hash(const char *s)
{
    size_t h = 14695981039346656037ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Each slot's group_pos: the page position of the first instance of its
 * reservation (a hash of reservation ids, so no sort).  0 or -1 (OOM). */
static int group_positions(inst_slot *slots, size_t n)
{
    size_t cap = 16, mask, i, h, *first;

    while (cap < 2 * n)
        cap *= 2;
    mask = cap - 1;
    if (!(first = calloc(cap, sizeof(*first)))) /* slot index + 1; 0 empty */
        return -1;
    for (i = 0; i < n; i++) {
        const char *rid = slots[i].inst->reservation_id;

        for (h = reservation_hash(rid) & mask; first[h]; h = (h + 1) & mask) {
            if (strcmp(slots[first[h] - 1].inst->reservation_id, rid) == 0)
                break;
        }
        if (!first[h])
            first[h] = i + 1;
        slots[i].group_pos = slots[first[h] - 1].pos;
    }
    free(first);
    return 0;
}

int ec2_xml_reservation_order(const cg_instance *const *v, size_t n, const cg_instance **order,
                              unsigned char *starts)
{
    inst_slot *slots = NULL;
    size_t i;

    if (n && !(slots = calloc(n, sizeof(*slots))))
        return -1;
    /* Group by reservation, groups in the order of their first instance,
     * each by launch index.  Usually that is the page order already (one
     * instance per reservation): checked in one pass before sorting. */
    for (i = 0; i < n; i++) {
        slots[i].inst = v[i];
        slots[i].pos = i;
    }
    if (group_positions(slots, n) < 0) {
        free(slots);
        return -1;
    }
    for (i = 1; i < n && slot_by_group(&slots[i - 1], &slots[i]) <= 0; i++)
        ;
    if (i < n)
        qsort(slots, n, sizeof(*slots), slot_by_group);
    for (i = 0; i < n; i++) {
        order[i] = slots[i].inst;
        starts[i] = i == 0 || slots[i].group_pos != slots[i - 1].group_pos;
    }
    free(slots);
    return 0;
}

char *ec2_xml_describe_instances_vols(const char *request_id, const cg_config *cfg,
                                      const cg_instance *const *v, size_t n,
                                      const cg_volume_list *vols, const char *next_token,
                                      size_t *len)
{
    ec2_xml *x = NULL;
    const cg_instance **order = NULL;
    unsigned char *starts = NULL;
    size_t i;
    char *out = NULL;

    if (n && (!(order = calloc(n, sizeof(*order))) || !(starts = calloc(n, 1)) ||
              ec2_xml_reservation_order(v, n, order, starts) < 0))
        goto cleanup;
    if (!(x = ec2_xml_new("DescribeInstances", request_id)))
        goto cleanup;
    ec2_xml_start(x, "reservationSet");
    for (i = 0; i < n; i++) {
        if (starts[i]) {
            ec2_xml_start(x, "item");
            write_reservation_head(x, cfg, order[i]);
            ec2_xml_start(x, "instancesSet");
        }
        ec2_xml_start(x, "item");
        write_instance(x, order[i], cfg->region, vols);
        ec2_xml_end(x);
        if (i + 1 == n || starts[i + 1]) {
            ec2_xml_end(x);
            ec2_xml_end(x);
        }
    }
    ec2_xml_end(x);
    if (next_token)
        ec2_xml_str(x, "nextToken", next_token);
    out = ec2_xml_finish(x, len);

cleanup:
    free(starts);
    free(order);
    return out;
}

char *ec2_xml_run_instances(const char *request_id, const cg_config *cfg,
                            const cg_instance *const *v, size_t n, size_t *len)
{
    ec2_xml *x;
    size_t i;

    if (!(x = ec2_xml_new("RunInstances", request_id)))
        return NULL;
    write_reservation_head(x, cfg, n ? v[0] : NULL);
    ec2_xml_start(x, "instancesSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        ec2_xml_instance(x, v[i], cfg->region);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

const char *ec2_status_check(const cg_instance *inst, int system, const char **reachability)
{
    /* Its host unreachable, the instance cannot be checked: AWS reports a
     * failed system check as impaired, the instance check as insufficient
     * data.  A stopped instance has no checks: not-applicable. */
    if (inst->impaired) {
        *reachability = system ? "failed" : "insufficient-data";
        return system ? "impaired" : "insufficient-data";
    }
    *reachability = inst->state == CG_STATE_RUNNING ? "passed" : NULL;
    return inst->state == CG_STATE_RUNNING ? "ok" : "not-applicable";
}

static void write_status_summary(ec2_xml *x, const char *name, const cg_instance *inst,
                                 int system)
{
    const char *reach;
    const char *status = ec2_status_check(inst, system, &reach);

    ec2_xml_start(x, name);
    ec2_xml_str(x, "status", status);
    ec2_xml_start(x, "details");
    if (reach) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "name", "reachability");
        ec2_xml_str(x, "status", reach);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    ec2_xml_end(x);
}

char *ec2_xml_instance_status(const char *request_id, const cg_instance *const *v, size_t n,
                              const char *next_token, size_t *len)
{
    ec2_xml *x;
    size_t i;

    if (!(x = ec2_xml_new("DescribeInstanceStatus", request_id)))
        return NULL;
    ec2_xml_start(x, "instanceStatusSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "instanceId", v[i]->id);
        ec2_xml_str(x, "availabilityZone", v[i]->zone);
        ec2_xml_start(x, "eventsSet");
        ec2_xml_end(x);
        ec2_xml_state(x, "instanceState", v[i]->state);
        write_status_summary(x, "systemStatus", v[i], 1);
        write_status_summary(x, "instanceStatus", v[i], 0);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    if (next_token)
        ec2_xml_str(x, "nextToken", next_token);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_state_changes(const char *action, const char *request_id, const cg_state_change *v,
                            size_t n, size_t *len)
{
    ec2_xml *x;
    size_t i;

    if (!(x = ec2_xml_new(action, request_id)))
        return NULL;
    ec2_xml_start(x, "instancesSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "instanceId", v[i].id);
        ec2_xml_state(x, "currentState", v[i].current);
        ec2_xml_state(x, "previousState", v[i].previous);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_return_true(const char *action, const char *request_id, size_t *len)
{
    ec2_xml *x;

    if (!(x = ec2_xml_new(action, request_id)))
        return NULL;
    ec2_xml_bool(x, "return", 1);
    return ec2_xml_finish(x, len);
}
