/* cloudgate: what the CIMI frontend's files share (not used outside
 * frontends/cimi/ and its unit tests).
 *
 * cimi_resources.c turns driver and store records into cimi_obj trees (the
 * one description of each resource); cimi_dispatch.c does HTTP: auth,
 * negotiation, routing, query parameters and errors.
 */
#ifndef CIMI_INTERNAL_H
#define CIMI_INTERNAL_H

#include "../../drivers/driver.h"
#include "../../gateway/config.h"
#include "../../gateway/context.h"
#include "../../engine/instance_view.h"
#include "../../engine/jobs.h"
#include "../../engine/machines.h"
#include "../../gateway/keypairs.h"
#include "../../gateway/params.h"
#include "../../gateway/request.h"
#include "cimi_model.h"

#define CIMI_ACTION_NS CIMI_NS "/action/"

#include <json-c/json.h>

/* CIMI machine states. */
typedef enum {
    CIMI_M_CREATING,
    CIMI_M_STARTING,
    CIMI_M_STARTED,
    CIMI_M_STOPPING,
    CIMI_M_STOPPED,
    CIMI_M_PAUSED,
    CIMI_M_SUSPENDED,
    CIMI_M_DELETING,
    CIMI_M_DELETED,
    CIMI_M_ERROR,
} cimi_machine_state;

/* Machine operations, as bits of a mask. */
enum {
    CIMI_OP_START = 1 << 0,
    CIMI_OP_STOP = 1 << 1,
    CIMI_OP_RESTART = 1 << 2,
    CIMI_OP_PAUSE = 1 << 3,
    CIMI_OP_SUSPEND = 1 << 4,
    CIMI_OP_CAPTURE = 1 << 5,
    CIMI_OP_DELETE = 1 << 6,
    CIMI_OP_EDIT = 1 << 7,
};
#define CIMI_OP_LAST CIMI_OP_EDIT

/* EC2 state (+ the paused/suspended sub-state) -> CIMI state: pending
 * CREATING (the driver does not tell a first boot from a restart; Deltacloud
 * maps the same), running STARTED or PAUSED, stopping STOPPING, stopped
 * STOPPED or SUSPENDED, shutting-down DELETING, terminated DELETED (hidden
 * from the collection).  PAUSING and SUSPENDING are not observable: the
 * driver calls return once libvirt has done them. */
cimi_machine_state cimi_machine_state_of(cg_instance_state s, cg_instance_sub sub);
const char *cimi_machine_state_name(cimi_machine_state s);

/* The operations a machine in state s allows (DSP0263's state diagram, as
 * Sirocco implements it): STOPPED start, capture, edit, delete; STARTED
 * stop, restart, pause, suspend, capture, edit, delete; PAUSED start, stop,
 * capture, edit, delete; SUSPENDED start, capture, edit, delete;
 * CREATING/STARTING/STOPPING/ERROR delete (+ edit); DELETING/DELETED none. */
unsigned cimi_machine_ops(cimi_machine_state s);

/* "start", "stop", "restart", "pause", "suspend", "capture", "delete", "edit". */
const char *cimi_op_name(unsigned op);

/* ---- one request ------------------------------------------------------------ */

typedef struct cimi_call {
    const gw_ctx *ctx;
    const gw_request *req;
    gw_response *resp;
    int xml;        /* answer in XML (else JSON) */
    char base[512]; /* baseURI, ending in '/' */
    gw_params query;
    int status; /* the error to send, 0 when none (first report wins) */
    char message[512];
} cimi_call;

/* Record the error answer (the first one wins).  Returns -1. */
int cimi_fail(cimi_call *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The HTTP status for a driver/store error kind, recorded.  Returns -1. */
int cimi_fail_cg(cimi_call *c, const cg_error *err);
/* Render o (not taken) as the answer with status (200, 201). */
void cimi_reply(cimi_call *c, int status, const cimi_obj *o);
/* 201 Created with o and Location: o's id. */
void cimi_reply_created(cimi_call *c, const cimi_obj *o);
/* 202 Accepted with the job; Location is location (the resource being made
 * or changed) or, when NULL, the job; CIMI-Job-URI is the job. */
void cimi_reply_job(cimi_call *c, const cg_job *job, const char *location);

/* ---- collections (cimi_query.c) ---------------------------------------------- */

/* The entries of one collection, built from the driver or a store. */
typedef int (*cimi_list_fn)(cimi_call *c, cimi_obj ***out, size_t *n);
typedef void (*cimi_handler_fn)(cimi_call *c);
typedef void (*cimi_entry_fn)(cimi_call *c, const char *id);
/* A path below an entry ("volumes", "volumes/vol-1"): 0 handled, 1 no such path. */
typedef int (*cimi_sub_fn)(cimi_call *c, const char *id, const char *rest);

typedef struct cimi_collection {
    const char *path;    /* URL segment = CloudEntryPoint attribute */
    const char *type;    /* entry type */
    const char *entries; /* JSON array of the entries */
    cimi_list_fn list;
    cimi_handler_fn create; /* POST on the collection; NULL: not served */
    cimi_entry_fn edit;     /* PUT on an entry */
    cimi_entry_fn action;   /* POST (an Action) on an entry */
    cimi_entry_fn remove;   /* DELETE on an entry */
    cimi_sub_fn sub;        /* paths below an entry */
    int imports;            /* create also takes an Action import (cimi_import.c) */
} cimi_collection;

/* The collection served at path segment seg (n bytes), or NULL. */
const cimi_collection *cimi_find_collection(const char *seg, size_t n);

/* GET of a collection ($filter, $select, $expand, $orderby, $first, $last)
 * and of one entry ($select, $expand).  Bounded: 16 $filter parameters
 * (each 8192 characters, 256 comparisons), 64 $select / $expand names, 8
 * $orderby keys, $first / $last 1 to 10^9, 64 references expanded. */
void cimi_get_collection(cimi_call *c, const cimi_collection *coll);
void cimi_get_entry(cimi_call *c, const cimi_collection *coll, const char *id);
/* Check a raw query string (len bytes, URL-encoded) as those GETs read it
 * (the fuzzing entry point): 0, or -1 with err (CG_ERR_INVALID: the 400
 * message, else OOM). */
int cimi_query_parse(const char *query, size_t len, cg_error *err);
/* Answer a collection built by the caller (a sub-collection) with the query
 * applied: items of type go into a collection of ctype with id.  Entries
 * moved into the answer are set to NULL in items; the caller frees items. */
void cimi_reply_entries(cimi_call *c, const char *id, const char *ctype, const char *entries,
                        const char *type, cimi_obj **items, size_t n);
/* A collection of ctype (id base + path) holding items[0..n) as the list
 * entries of type, the query not applied (an $expand); the items are moved
 * into it (set to NULL; the caller frees items).  NULL on OOM. */
cimi_obj *cimi_collection_of(const char *base, const char *path, const char *ctype,
                             const char *entries, const char *type, cimi_obj **items, size_t n);
/* The collection object a GET answers: ctype with id, count, the entries
 * items[0..n) (taken, set to NULL, even on failure) as a list of type,
 * then its operations.  NULL on OOM. */
cimi_obj *cimi_collection_object(const char *id, const char *ctype, long long count,
                                 const char *entries, const char *type, cimi_obj **items, size_t n,
                                 int can_add, int can_import);
void cimi_free_objs(cimi_obj **v, size_t n);
/* Room for n entries; -1 (reported) on OOM. */
int cimi_alloc_objs(cimi_call *c, cimi_obj ***out, size_t n);

/* ---- request bodies (cimi_body.c) --------------------------------------------- */

/* The request body as a JSON object: JSON as sent, XML converted (element
 * text -> string, href/initialLocation attributes -> members, <property
 * name=k>v -> "properties": {k: v}, a MachineTemplate's repeated volume /
 * volumeTemplate / networkInterface -> arrays named in the plural).  The
 * XML root must be type (namespace CIMI's or none); a JSON resourceURI, when
 * present, must be CIMI_NS/type.  NULL (reported 400/415) on failure. */
json_object *cimi_body(cimi_call *c, const char *type);
/* cimi_body for a POST to a collection that takes either a type or an
 * Action (an operation such as import): *is_action says which (the XML
 * root, the JSON resourceURI or, without one, an "action" member). */
json_object *cimi_body_or_action(cimi_call *c, const char *type, int *is_action);
/* The same without a request (the fuzzing entry point): data (len bytes,
 * not NUL-terminated) of Content-Type ctype (application/json, else XML)
 * as a type.  Bounded: depth 16, 10000 values; XML with a DOCTYPE, JSON
 * with repeated names or \u0000 are refused.  A new object the caller
 * puts, or NULL with err (CG_ERR_INVALID: the 400 message, else OOM). */
json_object *cimi_body_parse(const char *ctype, const char *data, size_t len, const char *type,
                             cg_error *err);
/* Members of a body object.  Missing: *out untouched and 0; the wrong
 * type: -1 reported 400 naming key and what (where it is, e.g.
 * "machineTemplate"). */
int cimi_body_str(cimi_call *c, json_object *o, const char *key, const char *what,
                  const char **out);
int cimi_body_int(cimi_call *c, json_object *o, const char *key, const char *what, long long *out,
                  int *present);
int cimi_body_obj(cimi_call *c, json_object *o, const char *key, const char *what,
                  json_object **out);
/* "properties" as tags (added to tags): at most 48 (EC2's 50 tags with
 * name and description), strings, names 1-127 and values 0-255 long. */
int cimi_body_props(cimi_call *c, json_object *o, const char *what, cg_tags *tags);
/* The id in a reference to collection coll: {"href": ".../cimi/coll/ID"} or
 * a bare href; 0 with id set, -1 reported. */
int cimi_href_id(cimi_call *c, const char *href, const char *coll, const char *what, char *id,
                 size_t len);

/* ---- stored resources (cimi_store.c) -------------------------------------------- */

/* machineTemplates, volumeConfigs and volumeTemplates live only in the
 * gateway: rows of (kind, id, name, created, JSON body) in SQLite. */
typedef struct cimi_stored {
    char kind[32];
    char id[48];
    time_t created;
    json_object *body; /* owned */
} cimi_stored;

int cimi_store_put(cimi_store *st, const char *kind, const char *prefix, json_object *body,
                   cimi_stored *out, cg_error *err);
/* 0 found, 1 not found, -1 error. */
int cimi_store_get(cimi_store *st, const char *kind, const char *id, cimi_stored *out,
                   cg_error *err);
int cimi_store_list(cimi_store *st, const char *kind, cimi_stored **out, size_t *n, cg_error *err);
int cimi_store_delete(cimi_store *st, const char *kind, const char *id, cg_error *err);
/* Replace the body of a stored resource (CG_ERR_NOT_FOUND when gone). */
int cimi_store_update(cimi_store *st, const char *kind, const char *id, json_object *body,
                      cg_error *err);
void cimi_stored_release(cimi_stored *s);
void cimi_stored_list_free(cimi_stored *v, size_t n);

/* ---- resources: base is the baseURI ("http://host:port/cimi/") --------- */

/* The cloud entry point: the collections served, in XSD order. */
cimi_obj *cimi_build_cep(const char *base, const cg_config *cfg);

/* served: the operations the frontend serves (mask); the machine
 * advertises cimi_machine_ops(state) & served. */
cimi_obj *cimi_build_machine(const char *base, const cg_config *cfg, const cg_instance *inst,
                             unsigned served);
/* The machine's network interfaces as a collection (also inlined in it). */
cimi_obj *cimi_build_machine_nics(const char *base, const cg_config *cfg, const cg_instance *inst);
/* The machine's disks: the root disk (capacity in KB from the image). */
cimi_obj *cimi_build_disk(const char *base, const cg_instance *inst, unsigned long long bytes);
cimi_obj *cimi_build_machine_volume(const char *base, const cg_volume *vol);
cimi_obj *cimi_build_machine_config(const char *base, const cg_instance_type *t);
cimi_obj *cimi_build_machine_image(const char *base, const cg_config *cfg, const cg_image *img);
cimi_obj *cimi_build_credential(const char *base, const cg_keypair *kp);
cimi_obj *cimi_build_volume(const char *base, const cg_volume *vol);
/* A VolumeImage: an EBS snapshot (imageLocation: its volume in the pool). */
cimi_obj *cimi_build_volume_image(const char *base, const cg_snapshot *snap);
/* Stored resources from their canonical body (see cimi_templates.c). */
cimi_obj *cimi_build_machine_template(const char *base, const cimi_stored *s);
cimi_obj *cimi_build_volume_config(const char *base, const cimi_stored *s);
cimi_obj *cimi_build_volume_template(const char *base, const cimi_stored *s);
/* A GraphicsConsole (not in DSP8009: modelled on oVirt's graphicsconsoles)
 * of a machine ("machines/i-1") or image ("machineImages/ami-1"). */
cimi_obj *cimi_build_graphics_console(const char *base, const char *owner, cg_display d,
                                      const char *addr, int port);
/* A Job from the store: action as a CIMI action URI for the actions CIMI
 * defines ("stop" -> CIMI_ACTION_NS "stop"), else as stored; target and
 * affected ids as hrefs of the collection their prefix names (i- machines,
 * ami- machineImages, vol- volumes). */
cimi_obj *cimi_build_job(const char *base, const cg_job *job);

/* An empty collection of type (e.g. "MachineCollection") with id
 * base + path and count; add entries with cimi_add_list. */
cimi_obj *cimi_build_collection(const char *base, const char *path, const char *type,
                                long long count);
/* The "add" and CIMI's import operations on a collection object (href =
 * its id), as asked. */
void cimi_add_collection_ops(cimi_obj *o, const char *href, int add, int import);

/* ---- handlers, by resource --------------------------------------------------------- */

/* cimi_import.c: an Action import POSTed to machines (as_template 0) or
 * machineImages (1): 202 with the job, or the error. */
void cimi_import(cimi_call *c, json_object *action, int as_template);

/* cimi_machines.c */

/* What the frontend serves on machines; a machine advertises those its
 * current state allows. */
#define CIMI_MACHINE_OPS_SERVED                                                                    \
    (CIMI_OP_START | CIMI_OP_STOP | CIMI_OP_RESTART | CIMI_OP_PAUSE | CIMI_OP_SUSPEND |            \
     CIMI_OP_CAPTURE | CIMI_OP_EDIT | CIMI_OP_DELETE)
/* A terminated instance is a deleted machine: gone from CIMI. */
static inline int cimi_machine_shown(const cg_instance *inst)
{
    return inst->state != CG_STATE_TERMINATED;
}
/* The shared listing of the instances (engine/instance_view.h), or NULL
 * (reported); give it back with cimi_machines_listing_put (accepts NULL). */
const cg_listing *cimi_machines_listing(cimi_call *c);
void cimi_machines_listing_put(const cg_listing *l);
int cimi_list_machines(cimi_call *c, cimi_obj ***out, size_t *n);
void cimi_machine_create(cimi_call *c);
void cimi_machine_edit(cimi_call *c, const char *id);
void cimi_machine_action(cimi_call *c, const char *id);
void cimi_machine_delete(cimi_call *c, const char *id);
int cimi_machine_sub(cimi_call *c, const char *id, const char *rest);
/* For $expand: "ID/disks" or "ID/volumes" as a collection object, else NULL. */
cimi_obj *cimi_machine_subcollection(cimi_call *c, const char *id_and_sub);
/* The instance id (not terminated) into *out; 404 reported otherwise. */
int cimi_machine_get(cimi_call *c, const char *id, cg_instance *out);
/* 0, or 409 reported (-1) when an import job holds inst locked. */
int cimi_machine_unlocked(cimi_call *c, const cg_instance *inst);

/* cimi_fragments.c: the GET of coll (machines) with no query option, from
 * each machine's cached fragment: the renderers' bytes for the collection,
 * as pieces that refer to the fragments, writing again only the machines
 * that changed.  0 answered (or an error reported), 1 not done here (a
 * query option, no machines, the unexpected): take the ordinary path. */
int cimi_machines_from_fragments(cimi_call *c, const cimi_collection *coll);
/* Fragments written and reused since start, and instances with some kept. */
void cimi_fragments_stats(unsigned long *rendered, unsigned long *reused, size_t *cached);

/* ---- graphicsConsoles of machines, images and templates (cimi_consoles.c) */

/* 1 when rest is "graphicsConsoles" or "graphicsConsoles/PROTO" (*proto
 * then points at PROTO, else NULL). */
int cimi_console_path(const char *rest, const char **proto);

/* What a running machine's console shows; NULL for images and templates. */
typedef struct cimi_console_live {
    const char *state; /* ACTIVE, PENDING_RESTART or INACTIVE */
    const char *addr;  /* NULL unless running with it */
    int port;
} cimi_console_live;

/* GET of owner's ("machineImages/ami-1") consoles, holding at most display
 * d (none when headless), or of the one named proto (404 otherwise). */
void cimi_reply_consoles(cimi_call *c, const char *owner, cg_display d,
                         const cimi_console_live *live, const char *proto);
/* The display a POST (a GraphicsConsole body) or DELETE (of console proto
 * of an owner whose display is cur) asks for: 0 with *out, -1 reported
 * (400, 404, 405 with Allow). */
int cimi_console_request(cimi_call *c, const char *owner, cg_display cur, const char *proto,
                         cg_display *out);
/* Answer a change made: 200 for headless, else 201 with the console
 * (state, when non-NULL). */
void cimi_console_changed(cimi_call *c, const char *owner, cg_display d, const char *state);

/* cimi_images.c: MachineImages.  POST: imageLocation a machine -> a
 * capture job, a glance://, http(s):// or file:/// URL -> an import job
 * (properties seal and format steer them); DELETE once not pending. */
int cimi_list_images(cimi_call *c, cimi_obj ***out, size_t *n);
void cimi_image_create(cimi_call *c);
void cimi_image_delete(cimi_call *c, const char *id);
int cimi_image_sub(cimi_call *c, const char *id, const char *rest);
/* Submit an import (engine/images.h) of spec->url, which must be a
 * glance://, http(s):// or file:/// URL: 0 with job, or -1 reported (a
 * refused URL is a 400 naming what, e.g. "imageLocation"). */
int cimi_import_submit(cimi_call *c, const cg_import_spec *spec, const char *what, cg_job *job);

/* cimi_catalog.c: configurations, credentials, jobs */
int cimi_list_configs(cimi_call *c, cimi_obj ***out, size_t *n);
int cimi_list_credentials(cimi_call *c, cimi_obj ***out, size_t *n);
void cimi_credential_create(cimi_call *c);
void cimi_credential_delete(cimi_call *c, const char *id);
int cimi_list_jobs(cimi_call *c, cimi_obj ***out, size_t *n);
void cimi_job_action(cimi_call *c, const char *id);

/* cimi_templates.c: machine templates, volume configurations and templates */
int cimi_list_machine_templates(cimi_call *c, cimi_obj ***out, size_t *n);
void cimi_machine_template_create(cimi_call *c);
void cimi_machine_template_delete(cimi_call *c, const char *id);
/* machineTemplates/ID/graphicsConsoles: the template's display property. */
int cimi_machine_template_sub(cimi_call *c, const char *id, const char *rest);
int cimi_list_volume_configs(cimi_call *c, cimi_obj ***out, size_t *n);
void cimi_volume_config_create(cimi_call *c);
void cimi_volume_config_delete(cimi_call *c, const char *id);
int cimi_list_volume_templates(cimi_call *c, cimi_obj ***out, size_t *n);
void cimi_volume_template_create(cimi_call *c);
void cimi_volume_template_delete(cimi_call *c, const char *id);

/* What a MachineTemplate (by value, by reference, or both: the values
 * override the referenced one) resolves to for a launch. */
typedef struct cimi_launch {
    char image_id[32];
    char type_name[64];
    char key_name[256];       /* "" none */
    unsigned char *user_data; /* malloc'd, decoded; NULL none */
    size_t user_data_len;
    int initial_stopped; /* initialState STOPPED */
    cg_display display;  /* "display" property; DEFAULT: the image's */
    /* volumes to attach, and volumeTemplates to create ("initialLocation"
     * the device) */
    cg_machine_volume volumes[CG_MACHINE_MAX_VOLUMES];
    size_t n_volumes;
} cimi_launch;

/* Parse a MachineTemplate body (a MachineCreate's machineTemplate or a
 * MachineTemplateCreate) into a canonical stored form: hrefs reduced to ids,
 * every reference checked to exist.  *out is a new object. -1 reported. */
int cimi_template_canonical(cimi_call *c, json_object *tpl, const char *what, json_object **out);
/* Resolve a canonical template into l (l->user_data malloc'd). */
int cimi_template_resolve(cimi_call *c, json_object *canon, cimi_launch *l);

/* cimi_volumes.c */
int cimi_list_volumes(cimi_call *c, cimi_obj ***out, size_t *n);
void cimi_volume_create(cimi_call *c);
void cimi_volume_delete(cimi_call *c, const char *id);
/* volumeImages: the driver's snapshots (made by EC2 CreateSnapshot). */
int cimi_list_volume_images(cimi_call *c, cimi_obj ***out, size_t *n);
void cimi_volume_image_delete(cimi_call *c, const char *id);
/* machines/ID/volumes[/VOL]: list, attach (POST), detach (DELETE). */
int cimi_machine_volumes(cimi_call *c, const char *id, const char *rest);
/* The MachineVolumeCollection of machine id ($expand), or NULL. */
cimi_obj *cimi_machine_volumes_collection(cimi_call *c, const char *id);
/* Bytes of a VolumeConfiguration (by value or stored href) in cfg;
 * "capacity" is in KB (DSP0263).  -1 reported. */
int cimi_volume_config_bytes(cimi_call *c, json_object *cfg, const char *what,
                             unsigned long long *bytes, char *format, size_t flen);

/* cimi_networks.c: read-only Networks (one per VPC, its subnets as
 * properties) and NetworkPorts (one per instance interface, "eni-" ids). */
cimi_obj *cimi_build_network(const char *base, const cg_vpc *vpc, const cg_subnet *subnets,
                             size_t n);
cimi_obj *cimi_build_network_port(const char *base, const cg_instance *inst);
int cimi_list_networks(cimi_call *c, cimi_obj ***out, size_t *n);
int cimi_list_network_ports(cimi_call *c, cimi_obj ***out, size_t *n);
/* networks/ID/networkPorts (GET only). */
int cimi_network_sub(cimi_call *c, const char *id, const char *rest);
/* For $expand: "ID/networkPorts" as a collection object, else NULL. */
cimi_obj *cimi_network_subcollection(cimi_call *c, const char *id_and_sub);
/* A machine's security groups as properties: "securityGroups" (the ids,
 * comma-separated) and "securityGroup.ID" = its name, set in props.  0/-1. */
int cimi_machine_group_props(const cg_instance *inst, cg_tags *props);
/* 1 for the property keys that cimi_machine_group_props makes (read-only:
 * never stored as tags); cimi_drop_derived_props removes them from tags. */
int cimi_machine_prop_derived(const char *key);
void cimi_drop_derived_props(cg_tags *tags);

/* ---- machine actions and jobs (cimi_actions.c) ------------------------------- */

typedef struct cimi_action {
    unsigned op;          /* one CIMI_OP_* bit */
    int force;            /* stop: power off now */
    char image_name[128]; /* capture: the new image's name ("" generated) */
    char image_description[256];
    int seal;                  /* capture: virt-sysprep the image before it is available */
    const cg_tags *image_tags; /* capture: on the image (borrowed), NULL */
} cimi_action;

/* The "seal" property: "true" or "false" into *seal.  -1 reported (400). */
int cimi_parse_seal(cimi_call *c, const char *text, int *seal);

/* Read an Action body (already parsed by cimi_body): the action URI must
 * be a CIMI action; pause/suspend/capture included. -1 reported. */
int cimi_parse_action(cimi_call *c, json_object *body, cimi_action *out);

/* Check act against the operations machine id's current state allows (&
 * served): CG_ERR_NOT_FOUND, CG_ERR_STATE (409).  Then submit a job that
 * calls the driver and waits for the end state (a capture: the engine's
 * capture job); out gets the job. */
int cimi_machine_submit(const gw_ctx *ctx, const char *id, const cimi_action *act, unsigned served,
                        cg_job *out, cg_error *err);

/* ---- HTTP helpers (cimi_http.c) ------------------------------------------ */

/* The Accept header's choice: 0 JSON (also for no header or a wildcard), 1
 * XML, -1 neither acceptable (406).  The most specific matching range gives
 * a format its q; higher q wins, then the more specific match, then JSON. */
int cimi_negotiate(const char *accept);

/* 1 when the request's Content-Type is application/json, application/xml
 * or text/xml (parameters ignored). */
int cimi_body_type_ok(const gw_request *req);

/* "Not Found" for 404, ... */
const char *cimi_reason(int status);

/* Fill resp with the error document in JSON ({"code", "error", "message"})
 * or XML (<error code=".."><message>..</message></error>, no namespace:
 * CIMI defines no error resource). */
void cimi_error_response(gw_response *resp, int xml, int status, const char *message);

#endif
