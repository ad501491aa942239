/* cloudgate: CIMI machine actions and delete, run as jobs.
 *
 * An Action body (JSON or XML) names an action URI; it is checked against
 * the operations the machine's current state allows, then a job calls the
 * driver and waits (bounded) until the machine reaches the action's end
 * state.  cimi_dispatch.c answers 202 with the job. */
#include "cimi_internal.h"

#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* How long a job waits for the machine to reach the end state. */
#define WAIT_SECONDS 120

static const struct {
    const char *name;
    unsigned op; /* 0: an action CIMI defines that the driver cannot do */
} actions[] = {
    {"start", CIMI_OP_START}, {"stop", CIMI_OP_STOP},     {"restart", CIMI_OP_RESTART},
    {"pause", 0},             {"suspend", 0},             {"capture", 0},
};

const char *cimi_op_name(unsigned op)
{
    switch (op) {
    case CIMI_OP_START:
        return "start";
    case CIMI_OP_STOP:
        return "stop";
    case CIMI_OP_RESTART:
        return "restart";
    case CIMI_OP_DELETE:
        return "delete";
    }
    return "?";
}

/* ---- the Action body --------------------------------------------------------- */

static int set_action(const char *uri, cimi_action *out, cg_error *err)
{
    size_t i, n = strlen(CIMI_ACTION_NS);

    if (strncmp(uri, CIMI_ACTION_NS, n) != 0) {
        cg_error_set(err, CG_ERR_INVALID, "action '%.128s' is not a CIMI action URI (%s...)", uri,
                     CIMI_ACTION_NS);
        return -1;
    }
    for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (strcmp(uri + n, actions[i].name) != 0)
            continue;
        if (!actions[i].op) {
            cg_error_set(err, CG_ERR_UNSUPPORTED, "the %s action is not supported by this gateway",
                         actions[i].name);
            return -1;
        }
        out->op = actions[i].op;
        return 0;
    }
    cg_error_set(err, CG_ERR_INVALID, "unknown machine action '%.128s'", uri);
    return -1;
}

static int parse_json(const char *body, size_t len, cimi_action *out, cg_error *err)
{
    json_tokener *tok = json_tokener_new();
    json_object *j = NULL, *v;
    int ret = -1;

    if (!tok) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    j = json_tokener_parse_ex(tok, body, (int)len);
    if (!j || json_tokener_get_error(tok) != json_tokener_success ||
        tok->char_offset != (int)len) {
        cg_error_set(err, CG_ERR_MALFORMED, "the body is not a JSON document");
        goto done;
    }
    if (!json_object_is_type(j, json_type_object)) {
        cg_error_set(err, CG_ERR_MALFORMED, "the body must be a JSON object (an Action)");
        goto done;
    }
    if (json_object_object_get_ex(j, "resourceURI", &v) &&
        (!json_object_is_type(v, json_type_string) ||
         strcmp(json_object_get_string(v), CIMI_NS "/Action") != 0)) {
        cg_error_set(err, CG_ERR_INVALID, "resourceURI must be %s/Action", CIMI_NS);
        goto done;
    }
    if (!json_object_object_get_ex(j, "action", &v)) {
        cg_error_set(err, CG_ERR_MISSING, "the Action has no 'action'");
        goto done;
    }
    if (!json_object_is_type(v, json_type_string)) {
        cg_error_set(err, CG_ERR_INVALID, "'action' must be a string (a CIMI action URI)");
        goto done;
    }
    if (set_action(json_object_get_string(v), out, err) < 0)
        goto done;
    if (json_object_object_get_ex(j, "force", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            cg_error_set(err, CG_ERR_INVALID, "'force' must be true or false");
            goto done;
        }
        out->force = json_object_get_boolean(v) ? 1 : 0;
    }
    ret = 0;

done:
    json_object_put(j);
    json_tokener_free(tok);
    return ret;
}

/* The element's text, trimmed, malloc'd (xmlFree). */
static char *xml_text(xmlNode *n)
{
    xmlChar *t = xmlNodeGetContent(n);
    size_t a = 0, b;

    if (!t)
        return NULL;
    b = strlen((char *)t);
    while (a < b && strchr(" \t\r\n", t[a]))
        a++;
    while (b > a && strchr(" \t\r\n", t[b - 1]))
        b--;
    memmove(t, t + a, b - a);
    t[b - a] = '\0';
    return (char *)t;
}

static int parse_xml(const char *body, size_t len, cimi_action *out, cg_error *err)
{
    xmlDoc *doc = xmlReadMemory(body, (int)len, "action.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *root, *n;
    char *text;
    int ret = -1, have_action = 0;

    if (!doc || !(root = xmlDocGetRootElement(doc))) {
        cg_error_set(err, CG_ERR_MALFORMED, "the body is not an XML document");
        goto done;
    }
    if (strcmp((const char *)root->name, "Action") != 0 ||
        (root->ns && strcmp((const char *)root->ns->href, CIMI_NS) != 0)) {
        cg_error_set(err, CG_ERR_INVALID, "the root element must be <Action xmlns=\"%s\">",
                     CIMI_NS);
        goto done;
    }
    for (n = root->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (!(text = xml_text(n))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto done;
        }
        if (strcmp((const char *)n->name, "action") == 0) {
            have_action = 1;
            if (set_action(text, out, err) < 0) {
                xmlFree(text);
                goto done;
            }
        } else if (strcmp((const char *)n->name, "force") == 0) {
            if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
                out->force = 1;
            else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
                out->force = 0;
            else {
                cg_error_set(err, CG_ERR_INVALID, "<force> must be true or false, not '%.64s'",
                             text);
                xmlFree(text);
                goto done;
            }
        }
        xmlFree(text);
    }
    if (!have_action) {
        cg_error_set(err, CG_ERR_MISSING, "the Action has no <action>");
        goto done;
    }
    ret = 0;

done:
    xmlFreeDoc(doc);
    return ret;
}

int cimi_parse_action(const gw_request *req, cimi_action *out, cg_error *err)
{
    const char *ct = gw_request_header(req, "Content-Type");

    memset(out, 0, sizeof(*out));
    if (!req->body || req->body_len == 0) {
        cg_error_set(err, CG_ERR_MISSING, "an Action body is required");
        return -1;
    }
    if (ct && strncasecmp(ct, "application/json", 16) == 0)
        return parse_json(req->body, req->body_len, out, err);
    return parse_xml(req->body, req->body_len, out, err);
}

/* ---- the job ------------------------------------------------------------------- */

typedef struct action_job {
    const cg_driver *driver;
    cg_drv *drv;
    char id[64];
    unsigned op;
    int force;
} action_job;

/* The machine's state, or -1 when it is gone (terminated or unknown). */
static int machine_state(const action_job *a, cg_instance_state *st, cg_error *err)
{
    cg_instance_list insts = {0};
    size_t i;
    int ret = -1;

    if (CG_DRV_CALL(a->driver, a->drv, instance_list, err, &insts) < 0)
        return -2;
    for (i = 0; i < insts.n; i++) {
        if (strcmp(insts.v[i].id, a->id) == 0) {
            *st = insts.v[i].state;
            ret = 0;
            break;
        }
    }
    cg_instance_list_release(&insts);
    return ret;
}

static int run_action(cg_jobs *jobs, const char *job_id, void *arg, cg_error *err)
{
    action_job *a = arg;
    cg_state_change chg;
    cg_instance_state want, st = CG_STATE_PENDING;
    int r = 0, i;

    memset(&chg, 0, sizeof(chg));
    cg_job_progress(jobs, job_id, 10, "calling the driver");
    switch (a->op) {
    case CIMI_OP_START:
        want = CG_STATE_RUNNING;
        r = CG_DRV_CALL(a->driver, a->drv, instance_start, err, a->id, &chg);
        break;
    case CIMI_OP_STOP:
        want = CG_STATE_STOPPED;
        r = CG_DRV_CALL(a->driver, a->drv, instance_stop, err, a->id, a->force, &chg);
        break;
    case CIMI_OP_RESTART:
        want = CG_STATE_RUNNING;
        r = CG_DRV_CALL(a->driver, a->drv, instance_reboot, err, a->id);
        break;
    default:
        want = CG_STATE_TERMINATED;
        r = CG_DRV_CALL(a->driver, a->drv, instance_terminate, err, a->id, &chg);
        break;
    }
    if (r < 0)
        return -1;
    cg_job_progress(jobs, job_id, 50, "waiting for the machine");
    for (i = 0; i < WAIT_SECONDS * 10; i++) {
        r = machine_state(a, &st, err);
        if (r == -2)
            return -1;
        if (r == -1 ? want == CG_STATE_TERMINATED : st == want) {
            cg_job_progress(jobs, job_id, 100, NULL);
            return 0;
        }
        if (r == -1) {
            cg_error_set(err, CG_ERR_NOT_FOUND, "machine %s disappeared", a->id);
            return -1;
        }
        usleep(100 * 1000);
    }
    cg_error_set(err, CG_ERR_INTERNAL, "machine %s did not reach the end state in %d s", a->id,
                 WAIT_SECONDS);
    return -1;
}

int cimi_machine_submit(const gw_ctx *ctx, const char *id, const cimi_action *act,
                        unsigned served, cg_job *out, cg_error *err)
{
    action_job probe = {.driver = ctx->driver, .drv = ctx->drv}, *a;
    cg_instance_state st;
    unsigned allowed;
    char names[64] = "";
    unsigned bit;
    int r;

    if (!ctx->jobs) {
        cg_error_set(err, CG_ERR_UNSUPPORTED, "no job store is configured");
        return -1;
    }
    if (strlen(id) >= sizeof(probe.id)) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "Machine '%.64s' does not exist", id);
        return -1;
    }
    snprintf(probe.id, sizeof(probe.id), "%s", id);
    r = machine_state(&probe, &st, err);
    if (r == -2)
        return -1;
    if (r == -1 || st == CG_STATE_TERMINATED) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "Machine '%.64s' does not exist", id);
        return -1;
    }
    allowed = cimi_machine_ops(cimi_machine_state_of(st)) & served;
    if (!(allowed & act->op)) {
        for (bit = 1; bit <= CIMI_OP_DELETE; bit <<= 1) {
            if (allowed & bit)
                snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                         names[0] ? ", " : "", cimi_op_name(bit));
        }
        cg_error_set(err, CG_ERR_STATE, "Machine %s is %s: %s is not allowed (allowed: %s)", id,
                     cimi_machine_state_name(cimi_machine_state_of(st)), cimi_op_name(act->op),
                     names[0] ? names : "none");
        return -1;
    }
    if (!(a = malloc(sizeof(*a)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    *a = probe;
    a->op = act->op;
    a->force = act->force;
    if (cg_jobs_submit(ctx->jobs, cimi_op_name(act->op), id, run_action, a, free, out, err) < 0) {
        free(a);
        return -1;
    }
    return 0;
}
