/* cloudgate fuzz target: CIMI collection queries (frontends/cimi/
 * cimi_query.c and cimi_filter.c): $filter, $select, $expand, $orderby,
 * $first and $last parsed from a query string and applied to a collection
 * of three machine-like resources, then rendered.
 *
 * Input: a query string ("$filter=cpu>1&$orderby=name:desc"); a leading '~'
 * asks for XML.  Checks: an answer is 200 with a body that parses back as
 * JSON or XML, a refusal a 4xx/5xx with a message; every $filter that
 * parses alone also evaluates without trouble. */
#include <libxml/parser.h>

#include "fuzz.h"
#include "frontends/cimi/cimi_filter.h"
#include "frontends/cimi/cimi_internal.h"

static cimi_obj *sample(int i)
{
    static const char *names[] = {"web-1", "db \"2\"", ""};
    cimi_obj *o = cimi_obj_new("Machine"), *disk = cimi_obj_new(NULL);
    cimi_attr *props, *list;
    char id[64];

    snprintf(id, sizeof(id), "http://gw/cimi/machines/i-%d", i);
    cimi_add_str(o, "id", id);
    cimi_add_str(o, "name", names[i]);
    cimi_add_time(o, "created", 1714564800 + i * 86400);
    props = cimi_add_props(o);
    cimi_pair_push(o, props, "env", i ? "prod" : "dev");
    cimi_pair_push(o, props, "tier", "web");
    cimi_add_str(o, "state", i == 1 ? "STOPPED" : "STARTED");
    cimi_add_int(o, "cpu", i + 1);
    cimi_add_int(o, "memory", 1048576LL << i);
    cimi_add_bool(o, "enabled", i & 1);
    /* Hrefs outside the baseURI: $expand leaves them alone instead of
     * asking the (absent) driver for the collection. */
    cimi_add_ref(o, "machineImage", "http://h/cimi/machineImages/ami-1", NULL);
    cimi_add_int(disk, "capacity", 1024);
    list = cimi_add_list(o, "disks", "disk");
    cimi_list_push(o, list, disk);
    cimi_add_ops(o);
    return o;
}

static int list(cimi_call *c, cimi_obj ***out, size_t *n)
{
    int i;

    if (cimi_alloc_objs(c, out, 3) < 0)
        return -1;
    for (i = 0; i < 3; i++)
        (*out)[i] = sample(i);
    *n = 3;
    return 0;
}

static const cimi_collection coll = {
    .path = "machines", .type = "Machine", .entries = "machines", .list = list};

/* Check the answer of one GET and reset the call for the next. */
static void check_answer(cimi_call *c, gw_response *resp)
{
    json_object *j;
    xmlDoc *doc;

    if (c->status) {
        FZ_CHECK(c->status >= 400 && c->status < 600 && c->message[0]);
    } else {
        FZ_CHECK(resp->status == 200 && resp->body && resp->body_len);
        if (c->xml) {
            doc = xmlReadMemory(resp->body, (int)resp->body_len, "r.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
            FZ_CHECK(doc != NULL);
            xmlFreeDoc(doc);
        } else {
            FZ_CHECK((j = json_tokener_parse(resp->body)) != NULL);
            json_object_put(j);
        }
    }
    gw_response_release(resp);
    memset(resp, 0, sizeof(*resp));
    c->status = 0;
    c->message[0] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fz_strdup(data, size), *q;
    gw_request req;
    gw_response resp;
    cimi_call call;
    cimi_filter *f;
    cimi_obj *o = NULL;
    cg_error err;
    time_t t;
    size_t i;

    if (!s)
        return 0;
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    memset(&call, 0, sizeof(call));
    snprintf(req.method, sizeof(req.method), "GET");
    req.path = "/cimi/machines";
    call.req = &req;
    call.resp = &resp;
    call.xml = s[0] == '~';
    q = s + call.xml;
    req.query = q;
    snprintf(call.base, sizeof(call.base), "http://gw/cimi/");
    if (gw_params_parse(&call.query, q, strlen(q)) < 0)
        goto cleanup;
    for (i = 0; i < call.query.n; i++) {
        cimi_parse_date(call.query.v[i].value, &t);
        if (strcmp(call.query.v[i].name, "$filter") != 0)
            continue;
        memset(&err, 0, sizeof(err));
        if (!(f = cimi_filter_parse(call.query.v[i].value, &err))) {
            FZ_CHECK(err.kind != CG_ERR_NONE && err.message[0]);
            continue;
        }
        if (!o)
            o = sample(0);
        cimi_filter_match(f, o);
        cimi_filter_free(f);
    }
    cimi_get_collection(&call, &coll);
    check_answer(&call, &resp);
    cimi_get_entry(&call, &coll, "i-2");
    check_answer(&call, &resp);

cleanup:
    cimi_obj_free(o);
    gw_params_release(&call.query);
    gw_response_release(&resp);
    free(s);
    return 0;
}
