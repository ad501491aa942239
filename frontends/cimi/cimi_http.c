/* cloudgate: CIMI HTTP helpers: media-type negotiation and the error
 * documents.  Pure functions of their arguments (unit-tested directly). */
#include "cimi_internal.h"

#include <ctype.h>
#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../gateway/xml_writer.h"

const char *cimi_reason(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 415:
        return "Unsupported Media Type";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

/* <error code="404"><message>...</message></error>: no CIMI resource exists
 * for errors, so this is in no namespace.  NULL on OOM. */
static char *error_xml(int status, const char *message, size_t *len)
{
    cg_dynbuf buf;
    xmlTextWriterPtr w;
    char *out = NULL;
    int ok;

    cg_dynbuf_init(&buf, 1u << 20); /* a message of a few hundred bytes */
    if (!(w = cg_xml_writer_new(&buf)))
        goto cleanup;
    ok = xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) >= 0 &&
         xmlTextWriterStartElement(w, BAD_CAST "error") >= 0 &&
         xmlTextWriterWriteFormatAttribute(w, BAD_CAST "code", "%d", status) >= 0 &&
         xmlTextWriterWriteElement(w, BAD_CAST "message", BAD_CAST message) >= 0 &&
         xmlTextWriterEndDocument(w) >= 0;
    xmlFreeTextWriter(w); /* flushes into buf */
    if (ok)
        out = cg_dynbuf_take(&buf, len);

cleanup:
    cg_dynbuf_free(&buf);
    return out;
}

/* The error document in the negotiated format:
 * {"code": 404, "error": "Not Found", "message": "..."} or error_xml(). */
void cimi_error_response(gw_response *resp, int xml, int status, const char *message)
{
    cimi_obj *o = NULL;
    char *body = NULL, *clean = cimi_clean_text(message ? message : "");
    size_t len = 0;

    snprintf(resp->error_code, sizeof(resp->error_code), "%d", status);
    if (clean && xml) {
        body = error_xml(status, clean, &len);
    } else if (clean && (o = cimi_obj_new(NULL))) {
        cimi_add_int(o, "code", status);
        cimi_add_str(o, "error", cimi_reason(status));
        cimi_add_str(o, "message", clean);
        body = cimi_render_json(o, &len);
    }
    cimi_obj_free(o);
    free(clean);
    if (!body) {
        resp->status = status;
        resp->content_type = "text/plain";
        return;
    }
    gw_response_set_body(resp, status, xml ? CIMI_XML : CIMI_JSON, body, len);
}

/* An RFC 7231 qvalue (v, n bytes: "0", "0.5", "1.000") in thousandths, or
 * -1 when it is not one ("1e300", "2", "0.0001", "nan", ""). */
static int qvalue(const char *v, size_t n)
{
    int q, scale = 100;
    size_t i;

    if (n == 0 || (v[0] != '0' && v[0] != '1'))
        return -1;
    q = (v[0] - '0') * 1000;
    if (n > 1 && (v[1] != '.' || n > 5))
        return -1;
    for (i = 2; i < n; i++, scale /= 10) {
        if (!isdigit((unsigned char)v[i]))
            return -1;
        q += (v[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* Parse one media range "type/sub;q=0.5" of len bytes: its q (0..1000) and
 * which of JSON / XML it covers with what specificity (2 exact, 1 a type wildcard,
 * 0 the full wildcard, -1 none).  Returns 0 when its q is not a qvalue. */
static int media_range(const char *s, size_t len, int *q, int *json_spec, int *xml_spec)
{
    char mt[128];
    size_t n = 0;
    const char *semi, *qp;

    while (len && isspace((unsigned char)*s))
        s++, len--;
    semi = memchr(s, ';', len);
    n = semi ? (size_t)(semi - s) : len;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= sizeof(mt))
        n = sizeof(mt) - 1;
    memcpy(mt, s, n);
    mt[n] = '\0';
    *q = 1000;
    *json_spec = *xml_spec = -1;
    for (qp = semi; qp;) {
        const char *v = qp + 1, *next = memchr(v, ';', (size_t)(s + len - v));
        const char *end = next ? next : s + len;
        while (v < end && isspace((unsigned char)*v))
            v++;
        while (end > v && isspace((unsigned char)end[-1]))
            end--;
        if (end - v >= 2 && (v[0] == 'q' || v[0] == 'Q') && v[1] == '=' &&
            (*q = qvalue(v + 2, (size_t)(end - v - 2))) < 0)
            return 0;
        qp = next;
    }
    if (strcmp(mt, "*/*") == 0) {
        *json_spec = *xml_spec = 0;
    } else if (strcasecmp(mt, "application/*") == 0) {
        *json_spec = *xml_spec = 1;
    } else if (strcasecmp(mt, "application/json") == 0) {
        *json_spec = 2;
    } else if (strcasecmp(mt, "application/xml") == 0 || strcasecmp(mt, "text/xml") == 0) {
        *xml_spec = 2;
    } else if (strcasecmp(mt, "text/*") == 0) {
        *xml_spec = 1;
    }
    return 1;
}

/* 0 JSON, 1 XML, -1 neither acceptable.  The most specific range that
 * matches a format gives its q (RFC 9110 12.5.1); the higher q wins, then
 * the more specific match, then JSON.  A range whose q is not an RFC 7231
 * qvalue is ignored (as a proxy would drop it: a 400 before
 * authentication would only help probes); a header left with no range
 * counts as none (JSON). */
int cimi_negotiate(const char *accept)
{
    int jq = -1, js = -1, xq = -1, xs = -1, q, jspec, xspec, valid = 0;
    const char *p, *comma;

    if (!accept || !*accept)
        return 0;
    for (p = accept; p; p = comma ? comma + 1 : NULL) {
        comma = strchr(p, ',');
        if (!media_range(p, comma ? (size_t)(comma - p) : strlen(p), &q, &jspec, &xspec))
            continue;
        valid++;
        if (jspec > js)
            js = jspec, jq = q;
        if (xspec > xs)
            xs = xspec, xq = q;
    }
    if (!valid)
        return 0;
    if (jq <= 0 && xq <= 0)
        return -1;
    if (xq > jq || (xq == jq && xs > js))
        return 1;
    return 0;
}

/* A request body must be JSON or XML. */
int cimi_body_type_ok(const gw_request *req)
{
    const char *ct = gw_request_header(req, "Content-Type");
    size_t n;

    if (!ct)
        return 0;
    n = strcspn(ct, "; \t");
    return (n == 16 && strncasecmp(ct, "application/json", n) == 0) ||
           (n == 15 && strncasecmp(ct, "application/xml", n) == 0) ||
           (n == 8 && strncasecmp(ct, "text/xml", n) == 0);
}
