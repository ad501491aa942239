/* cloudgate unit tests: EC2 documents against golden files
 * (tests/ec2/NAME.expected; CG_REGENERATE=1 rewrites them) and XPath checks
 * (prefix "e" = EC2_XMLNS).  Static helpers for one test program each. */
#ifndef EC2_GOLDEN_H
#define EC2_GOLDEN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "frontends/ec2/ec2_xml.h"

#define RID "7f1e3a52-0c4b-4d7e-9a61-2b8c5d9e0f13"

static char *golden_path(const char *name)
{
    const char *top = getenv("CG_TOP_SRCDIR");
    size_t len;
    char *p;

    if (!top || !*top)
        top = ".";
    len = strlen(top) + strlen(name) + 32;
    p = malloc(len);
    assert_non_null(p);
    snprintf(p, len, "%s/tests/ec2/%s.expected", top, name);
    return p;
}

/* Compare body with the golden file NAME (or rewrite it under
 * CG_REGENERATE=1).  Takes ownership of body. */
static void check_golden(const char *name, char *body, size_t len)
{
    char *path = golden_path(name);
    const char *regen = getenv("CG_REGENERATE");
    FILE *f;
    char *want = NULL;
    long flen;
    size_t i;

    assert_non_null(body);
    assert_int_equal(strlen(body), len);
    if (regen && strcmp(regen, "1") == 0) {
        f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(body, 1, len, f), len);
        fclose(f);
        goto done;
    }
    f = fopen(path, "rb");
    if (!f)
        fail_msg("missing golden %s (run with CG_REGENERATE=1)", path);
    fseek(f, 0, SEEK_END);
    flen = ftell(f);
    fseek(f, 0, SEEK_SET);
    want = malloc((size_t)flen + 1);
    assert_non_null(want);
    assert_int_equal(fread(want, 1, (size_t)flen, f), (size_t)flen);
    want[flen] = '\0';
    fclose(f);
    for (i = 0; i < len && i < (size_t)flen && body[i] == want[i]; i++)
        ;
    if (i != len || len != (size_t)flen)
        fail_msg("%s differs from the golden at byte %zu:\n--- got ---\n%s", path, i, body);
done:
    free(want);
    free(path);
    free(body);
}

/* Evaluate an XPath (namespace prefix "e" = EC2_XMLNS) as a string. */
static char *xpath_string(const char *doc, size_t len, const char *expr)
{
    xmlDocPtr d = xmlReadMemory(doc, (int)len, "r.xml", NULL, XML_PARSE_NONET);
    xmlXPathContextPtr ctx;
    xmlXPathObjectPtr obj;
    xmlChar *s;
    char *out;

    assert_non_null(d);
    ctx = xmlXPathNewContext(d);
    xmlXPathRegisterNs(ctx, BAD_CAST "e", BAD_CAST EC2_XMLNS);
    obj = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    assert_non_null(obj);
    s = xmlXPathCastToString(obj);
    out = strdup((char *)s);
    xmlFree(s);
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(d);
    return out;
}

static void assert_xpath(const char *doc, size_t len, const char *expr, const char *want)
{
    char *got = xpath_string(doc, len, expr);

    if (strcmp(got, want) != 0)
        fail_msg("%s: got '%s', want '%s'", expr, got, want);
    free(got);
}

#endif
