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
#include "../../gateway/jobs.h"
#include "../../gateway/keypairs.h"
#include "../../gateway/request.h"
#include "cimi_model.h"

#define CIMI_ACTION_NS CIMI_NS "/action/"

/* CIMI machine states. */
typedef enum {
    CIMI_M_CREATING,
    CIMI_M_STARTING,
    CIMI_M_STARTED,
    CIMI_M_STOPPING,
    CIMI_M_STOPPED,
    CIMI_M_DELETING,
    CIMI_M_DELETED,
    CIMI_M_ERROR,
} cimi_machine_state;

/* Machine operations, as bits of a mask. */
enum {
    CIMI_OP_START = 1 << 0,
    CIMI_OP_STOP = 1 << 1,
    CIMI_OP_RESTART = 1 << 2,
    CIMI_OP_DELETE = 1 << 3,
};

/* EC2 state -> CIMI state: pending CREATING (the driver does not tell a
 * first boot from a restart; Deltacloud maps the same), running STARTED,
 * stopping STOPPING, stopped STOPPED, shutting-down DELETING, terminated
 * DELETED (hidden from the collection). */
cimi_machine_state cimi_machine_state_of(cg_instance_state s);
const char *cimi_machine_state_name(cimi_machine_state s);

/* The operations a machine in state s allows: STOPPED start+delete, STARTED
 * stop+restart+delete, CREATING/STARTING/STOPPING/ERROR delete, DELETING and
 * DELETED none. */
unsigned cimi_machine_ops(cimi_machine_state s);

/* ---- resources: base is the baseURI ("http://host:port/cimi/") --------- */

/* The cloud entry point: the collections served (machines, machineConfigs,
 * machineImages, credentials, jobs), in XSD order. */
cimi_obj *cimi_build_cep(const char *base, const cg_config *cfg);

/* served: the operations the frontend serves (mask); the machine
 * advertises cimi_machine_ops(state) & served. */
cimi_obj *cimi_build_machine(const char *base, const cg_config *cfg, const cg_instance *inst,
                             unsigned served);
/* The machine's network interfaces as a collection (also inlined in it). */
cimi_obj *cimi_build_machine_nics(const char *base, const cg_config *cfg, const cg_instance *inst);
cimi_obj *cimi_build_machine_config(const char *base, const cg_instance_type *t);
cimi_obj *cimi_build_machine_image(const char *base, const cg_config *cfg, const cg_image *img);
cimi_obj *cimi_build_credential(const char *base, const cg_keypair *kp);
/* A Job from the store: action as a CIMI action URI for the actions CIMI
 * defines ("stop" -> CIMI_ACTION_NS "stop"), else as stored; target and affected ids as hrefs of the
 * collection their prefix names (i- machines, ami- machineImages). */
cimi_obj *cimi_build_job(const char *base, const cg_job *job);

/* An empty collection of type (e.g. "MachineCollection") with id
 * base + path and count; add entries with cimi_add_list. */
cimi_obj *cimi_build_collection(const char *base, const char *path, const char *type,
                                long long count);

/* ---- machine actions (cimi_actions.c) ----------------------------------- */

typedef struct cimi_action {
    unsigned op; /* one CIMI_OP_* bit */
    int force;   /* stop: power off now */
} cimi_action;

/* "start", "stop", "restart", "delete". */
const char *cimi_op_name(unsigned op);

/* The request's Action body (JSON when the Content-Type says so, else XML).
 * Errors: CG_ERR_MALFORMED/INVALID/MISSING (400) naming what is wrong,
 * CG_ERR_UNSUPPORTED (501) for pause, suspend and capture. */
int cimi_parse_action(const gw_request *req, cimi_action *out, cg_error *err);

/* Check act against the operations machine id's current state allows (&
 * served): CG_ERR_NOT_FOUND, CG_ERR_STATE (409).  Then submit a job that
 * calls the driver and waits for the end state; out gets the job. */
int cimi_machine_submit(const gw_ctx *ctx, const char *id, const cimi_action *act,
                        unsigned served, cg_job *out, cg_error *err);

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
