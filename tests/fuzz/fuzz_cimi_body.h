/* cloudgate fuzz targets fuzz_cimi_body_json and fuzz_cimi_body_xml: one
 * body through cimi_body() (frontends/cimi/cimi_body.c) and the readers the
 * handlers use on it.
 *
 * Input: the expected resource type on the first line ("MachineCreate"),
 * the body after it.  Checks: a body is accepted exactly when no error is
 * recorded, it is a JSON object, and it prints the same after a print and
 * parse; a refusal carries a 4xx/5xx status and a message. */
#ifndef CG_FUZZ_CIMI_BODY_H
#define CG_FUZZ_CIMI_BODY_H

#include "fuzz.h"
#include "frontends/cimi/cimi_internal.h"

/* Read what a create handler would: name, description, properties, a
 * template with a config and image reference, an integer, a volume list. */
static inline void fz_cimi_read(cimi_call *c, json_object *body)
{
    json_object *tpl = NULL, *ref = NULL, *vols;
    const char *s = NULL;
    long long n;
    int present;
    cg_tags tags = {0};
    char id[128];
    size_t i;

    cimi_body_str(c, body, "name", "the body", &s);
    cimi_body_str(c, body, "description", "the body", &s);
    cimi_body_props(c, body, "the body", &tags);
    if (cimi_body_obj(c, body, "machineTemplate", "the body", &tpl) == 0 && tpl) {
        cimi_body_int(c, tpl, "cpu", "machineTemplate", &n, &present);
        if (cimi_body_obj(c, tpl, "machineConfig", "machineTemplate", &ref) == 0 && ref) {
            s = NULL;
            if (cimi_body_str(c, ref, "href", "machineConfig", &s) == 0 && s)
                cimi_href_id(c, s, "machineConfigs", "machineConfig", id, sizeof(id));
        }
        if (json_object_object_get_ex(tpl, "volumes", &vols) &&
            json_object_is_type(vols, json_type_array))
            for (i = 0; i < json_object_array_length(vols); i++) {
                s = NULL;
                cimi_body_str(c, json_object_array_get_idx(vols, i), "href", "volume", &s);
            }
    }
    s = NULL;
    if (cimi_body_str(c, body, "href", "the body", &s) == 0 && s)
        cimi_href_id(c, s, "machines", "the body", id, sizeof(id));
    cg_tags_release(&tags);
}

static inline int fz_cimi_body(const uint8_t *data, size_t size, const char *ctype)
{
    char *f[2], type[64];
    size_t len[2];
    gw_header hdr = {"Content-Type", (char *)ctype};
    gw_request req;
    gw_response resp;
    cimi_call call;
    json_object *j, *back;
    const char *text;

    if (fz_split(data, size, 2, f, len) < 0)
        return 0;
    snprintf(type, sizeof(type), "%s", f[0]);
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    memset(&call, 0, sizeof(call));
    snprintf(req.method, sizeof(req.method), "POST");
    req.path = "/cimi/machines";
    req.headers = &hdr;
    req.n_headers = 1;
    req.body = f[1];
    req.body_len = len[1];
    call.req = &req;
    call.resp = &resp;
    snprintf(call.base, sizeof(call.base), "http://h/cimi/");
    j = cimi_body(&call, type);
    if (j) {
        FZ_CHECK(call.status == 0);
        FZ_CHECK(json_object_is_type(j, json_type_object));
        text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
        FZ_CHECK(text != NULL);
        /* What we print must parse and print the same again.  (Not
         * json_object_equal: json-c reads "2048e" as the double 2048, which
         * prints as "2048" and reads back as an int; NaN is never equal.) */
        back = json_tokener_parse(text);
        FZ_CHECK(back != NULL);
        FZ_CHECK(strcmp(text, json_object_to_json_string_ext(back, JSON_C_TO_STRING_PLAIN)) == 0);
        json_object_put(back);
        fz_cimi_read(&call, j);
        json_object_put(j);
    } else {
        FZ_CHECK(call.status >= 400 && call.status < 600 && call.message[0]);
    }
    gw_response_release(&resp);
    fz_free(f, 2);
    return 0;
}

#endif
