/* cloudgate: the CIMI $filter parser (recursive descent) and evaluator.
 *
 * The text comes from the query string: 'and'/'or' chains are read in a
 * loop into one node with all their operands (recursion, in the parser, the
 * evaluator and the free, only follows parentheses, bounded by
 * FILTER_MAX_DEPTH), and the length and number of comparisons are bounded,
 * so time and memory are linear in the text. */
#include "cimi_filter.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FILTER_MAX_DEPTH 32
#define FILTER_MAX_LEN 8192
#define FILTER_MAX_TERMS 256
#define FILTER_MAX_TERMS_S "256"

typedef enum { OP_LT, OP_LE, OP_EQ, OP_GE, OP_GT, OP_NE } filter_op;
typedef enum { F_AND, F_OR, F_ATTR, F_PROP } filter_kind;
typedef enum { VAL_INT, VAL_STR, VAL_BOOL, VAL_DATE } value_kind;

struct cimi_filter {
    filter_kind kind;
    filter_op op; /* F_ATTR, F_PROP: attribute op value */
    char *name;   /* attribute name or property key */
    value_kind vkind;
    char *s;            /* VAL_STR */
    long long i;        /* VAL_INT, VAL_BOOL, VAL_DATE */
    cimi_filter **kids; /* F_AND, F_OR: the operands (2 or more) */
    size_t n_kids;
};

typedef struct parser {
    const char *text;
    size_t pos;
    int depth;
    size_t terms; /* comparisons read */
    cg_error *err;
} parser;

void cimi_filter_free(cimi_filter *f)
{
    size_t i;

    if (!f)
        return;
    for (i = 0; i < f->n_kids; i++)
        cimi_filter_free(f->kids[i]);
    free(f->kids);
    free(f->name);
    free(f->s);
    free(f);
}

/* ---- dates --------------------------------------------------------------- */

static int digits(const char **p, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int cimi_parse_date(const char *s, time_t *out)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
    const char *p = s;
    long long t;

    if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
        digits(&p, 2, &d) < 0)
        return -1;
    if (*p == 'T') {
        p++;
        if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
            return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec) < 0)
                return -1;
            if (*p == '.') {
                p++;
                if (!isdigit((unsigned char)*p))
                    return -1;
                while (isdigit((unsigned char)*p))
                    p++;
            }
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            sign = *p++ == '-' ? -1 : 1;
            if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || oh > 23 ||
                om > 59)
                return -1;
        }
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = (long long)timegm(&tm);
    *out = (time_t)(t - sign * (oh * 3600 + om * 60));
    return 0;
}

/* ---- lexing helpers ------------------------------------------------------ */

static void skip_space(parser *p)
{
    while (isspace((unsigned char)p->text[p->pos]))
        p->pos++;
}

static cimi_filter *fail(parser *p, const char *what)
{
    cg_error_set(p->err, CG_ERR_INVALID, "$filter: %s at offset %zu", what, p->pos);
    return NULL;
}

static cimi_filter *oom(parser *p)
{
    cg_error_set(p->err, CG_ERR_INTERNAL, "out of memory parsing $filter");
    return NULL;
}

static int is_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static int is_ident(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* The keyword kw (case-insensitive) as a whole word at the cursor. */
static int keyword(parser *p, const char *kw)
{
    size_t n = strlen(kw);

    skip_space(p);
    if (strncasecmp(p->text + p->pos, kw, n) == 0 && !is_ident(p->text[p->pos + n])) {
        p->pos += n;
        return 1;
    }
    return 0;
}

static int parse_op(parser *p, filter_op *op)
{
    const char *s;

    skip_space(p);
    s = p->text + p->pos;
    if (s[0] == '<' && s[1] == '=')
        *op = OP_LE, p->pos += 2;
    else if (s[0] == '>' && s[1] == '=')
        *op = OP_GE, p->pos += 2;
    else if (s[0] == '!' && s[1] == '=')
        *op = OP_NE, p->pos += 2;
    else if (s[0] == '<')
        *op = OP_LT, p->pos++;
    else if (s[0] == '>')
        *op = OP_GT, p->pos++;
    else if (s[0] == '=')
        *op = OP_EQ, p->pos++;
    else
        return -1;
    return 0;
}

/* A quoted string at the cursor into a malloc'd *out.  -1 (reported). */
static int parse_string(parser *p, char **out)
{
    char q, *buf;
    size_t start, n = 0;

    skip_space(p);
    q = p->text[p->pos];
    if (q != '\'' && q != '"') {
        fail(p, "expected a quoted string");
        return -1;
    }
    start = ++p->pos;
    /* Find the end first: the buffer is the string's size, not the rest
     * of the text's (which made a chain of strings quadratic). */
    while (p->text[p->pos] && p->text[p->pos] != q)
        p->pos += p->text[p->pos] == '\\' && p->text[p->pos + 1] ? 2 : 1;
    if (p->text[p->pos] != q) {
        p->pos = start - 1;
        fail(p, "unterminated string");
        return -1;
    }
    if (!(buf = malloc(p->pos - start + 1))) {
        oom(p);
        return -1;
    }
    for (p->pos = start; p->text[p->pos] != q; p->pos++) {
        if (p->text[p->pos] == '\\')
            p->pos++;
        buf[n++] = p->text[p->pos];
    }
    p->pos++;
    buf[n] = '\0';
    *out = buf;
    return 0;
}

/* A literal value (not an attribute name) at the cursor into f.  Returns 1
 * when one was read, 0 when the cursor is not at a value, -1 on error. */
static int parse_value(parser *p, cimi_filter *f)
{
    const char *s;
    size_t n = 0;
    char tok[64];
    time_t t;

    skip_space(p);
    s = p->text + p->pos;
    if (*s == '\'' || *s == '"') {
        f->vkind = VAL_STR;
        return parse_string(p, &f->s) < 0 ? -1 : 1;
    }
    if (keyword(p, "true") || keyword(p, "false")) {
        f->vkind = VAL_BOOL;
        f->i = tolower((unsigned char)*s) == 't';
        return 1;
    }
    if (!isdigit((unsigned char)*s) && !(*s == '-' && isdigit((unsigned char)s[1])))
        return 0;
    /* A number or a date: take the whole token, then decide. */
    while (s[n] && (isalnum((unsigned char)s[n]) || strchr("-+:.", s[n])))
        n++;
    if (n >= sizeof(tok)) {
        fail(p, "value too long");
        return -1;
    }
    memcpy(tok, s, n);
    tok[n] = '\0';
    if (cimi_parse_date(tok, &t) == 0) {
        f->vkind = VAL_DATE;
        f->i = (long long)t;
    } else {
        char *end;
        f->vkind = VAL_INT;
        errno = 0;
        f->i = strtoll(tok, &end, 10);
        if (*end || errno == ERANGE) {
            fail(p, "expected an integer or an ISO 8601 date");
            return -1;
        }
    }
    p->pos += n;
    return 1;
}

/* An attribute name at the cursor into a malloc'd *out; 0 when none. */
static int parse_ident(parser *p, char **out)
{
    size_t start, n;

    skip_space(p);
    start = p->pos;
    if (!is_ident_start(p->text[start]))
        return 0;
    for (n = 0; is_ident(p->text[start + n]); n++)
        ;
    /* The connectives are never attribute names ("a=1 or or b=2"). */
    if ((n == 2 && strncasecmp(p->text + start, "or", 2) == 0) ||
        (n == 3 && strncasecmp(p->text + start, "and", 3) == 0))
        return 0;
    if (!(*out = strndup(p->text + start, n))) {
        oom(p);
        return -1;
    }
    p->pos += n;
    return 1;
}

static filter_op flip(filter_op op)
{
    switch (op) {
    case OP_LT:
        return OP_GT;
    case OP_LE:
        return OP_GE;
    case OP_GT:
        return OP_LT;
    case OP_GE:
        return OP_LE;
    default:
        return op;
    }
}

/* ---- grammar ------------------------------------------------------------- */

static cimi_filter *parse_or(parser *p);

static cimi_filter *parse_comp(parser *p)
{
    cimi_filter *f;
    size_t at;
    int r;

    skip_space(p);
    if (p->text[p->pos] == '(') {
        if (++p->depth > FILTER_MAX_DEPTH)
            return fail(p, "too deeply nested");
        p->pos++;
        if (!(f = parse_or(p)))
            return NULL;
        skip_space(p);
        if (p->text[p->pos] != ')') {
            cimi_filter_free(f);
            return fail(p, "expected ')'");
        }
        p->pos++;
        p->depth--;
        return f;
    }
    if (++p->terms > FILTER_MAX_TERMS)
        return fail(p, "more comparisons than the limit (" FILTER_MAX_TERMS_S ")");
    if (!(f = calloc(1, sizeof(*f))))
        return oom(p);
    at = p->pos;
    if (strncmp(p->text + p->pos, "property", 8) == 0) {
        p->pos += 8;
        skip_space(p);
        if (p->text[p->pos] == '[') {
            p->pos++;
            f->kind = F_PROP;
            f->vkind = VAL_STR;
            if (parse_string(p, &f->name) < 0)
                goto error;
            skip_space(p);
            if (p->text[p->pos] != ']') {
                fail(p, "expected ']' after the property name");
                goto error;
            }
            p->pos++;
            if (parse_op(p, &f->op) < 0) {
                fail(p, "expected one of = != < <= > >=");
                goto error;
            }
            if (parse_string(p, &f->s) < 0)
                goto error;
            return f;
        }
        p->pos = at; /* an attribute that happens to be called "property" */
    }
    f->kind = F_ATTR;
    if ((r = parse_value(p, f)) < 0)
        goto error;
    if (r == 1) {
        /* Value Op Attribute: store as Attribute flip(Op) Value. */
        if (parse_op(p, &f->op) < 0) {
            fail(p, "expected one of = != < <= > >=");
            goto error;
        }
        f->op = flip(f->op);
        if ((r = parse_ident(p, &f->name)) <= 0) {
            if (r == 0)
                fail(p, "expected an attribute name");
            goto error;
        }
        return f;
    }
    if ((r = parse_ident(p, &f->name)) <= 0) {
        if (r == 0)
            fail(p, "expected an attribute, a value, property['...'] or '('");
        goto error;
    }
    if (parse_op(p, &f->op) < 0) {
        fail(p, "expected one of = != < <= > >=");
        goto error;
    }
    if ((r = parse_value(p, f)) <= 0) {
        if (r == 0)
            fail(p, "expected a value (integer, date, quoted string, true or false)");
        goto error;
    }
    return f;

error:
    cimi_filter_free(f);
    return NULL;
}

/* One level: operands joined by kw, read in a loop into one node of kind
 * (or the operand itself when there is one). */
static cimi_filter *parse_chain(parser *p, const char *kw, filter_kind kind,
                                cimi_filter *(*operand)(parser *))
{
    cimi_filter *first = operand(p), *node = NULL, *f, **kids;
    size_t cap = 0;

    if (!first || !keyword(p, kw))
        return first;
    if (!(node = calloc(1, sizeof(*node)))) {
        cimi_filter_free(first);
        return oom(p);
    }
    node->kind = kind;
    for (f = first;;) {
        if (node->n_kids == cap) {
            cap = cap ? cap * 2 : 4;
            if (!(kids = realloc(node->kids, cap * sizeof(*kids)))) {
                cimi_filter_free(f);
                cimi_filter_free(node);
                return oom(p);
            }
            node->kids = kids;
        }
        node->kids[node->n_kids++] = f;
        /* The keyword after the first operand was read above. */
        if (node->n_kids > 1 && !keyword(p, kw))
            return node;
        if (!(f = operand(p))) {
            cimi_filter_free(node);
            return NULL;
        }
    }
}

static cimi_filter *parse_and(parser *p)
{
    return parse_chain(p, "and", F_AND, parse_comp);
}

static cimi_filter *parse_or(parser *p)
{
    return parse_chain(p, "or", F_OR, parse_and);
}

cimi_filter *cimi_filter_parse(const char *text, cg_error *err)
{
    parser p = {.text = text ? text : "", .err = err};
    cimi_filter *f;

    if (strlen(p.text) > FILTER_MAX_LEN) {
        cg_error_set(err, CG_ERR_INVALID, "$filter: longer than %d characters (the limit)",
                     FILTER_MAX_LEN);
        return NULL;
    }
    skip_space(&p);
    if (!p.text[p.pos]) {
        cg_error_set(err, CG_ERR_INVALID, "$filter: empty expression");
        return NULL;
    }
    if (!(f = parse_or(&p)))
        return NULL;
    skip_space(&p);
    if (p.text[p.pos]) {
        cimi_filter_free(f);
        return fail(&p, "unexpected text");
    }
    return f;
}

/* ---- evaluation ---------------------------------------------------------- */

static int holds(filter_op op, int cmp)
{
    switch (op) {
    case OP_LT:
        return cmp < 0;
    case OP_LE:
        return cmp <= 0;
    case OP_EQ:
        return cmp == 0;
    case OP_GE:
        return cmp >= 0;
    case OP_GT:
        return cmp > 0;
    case OP_NE:
        return cmp != 0;
    }
    return 0;
}

static int num_cmp(long long a, long long b)
{
    return (a > b) - (a < b);
}

static int match_attr(const cimi_filter *f, const cimi_attr *a)
{
    time_t t;

    switch (a->kind) {
    case CIMI_V_STR:
    case CIMI_V_BYTES:
    case CIMI_V_XATTR:
    case CIMI_V_REF:
        return f->vkind == VAL_STR && a->s && holds(f->op, strcmp(a->s, f->s));
    case CIMI_V_INT:
        return f->vkind == VAL_INT && holds(f->op, num_cmp(a->i, f->i));
    case CIMI_V_BOOL:
        return f->vkind == VAL_BOOL && holds(f->op, num_cmp(a->i, f->i));
    case CIMI_V_TIME:
        if (f->vkind == VAL_DATE)
            return holds(f->op, num_cmp(a->i, f->i));
        if (f->vkind == VAL_STR && cimi_parse_date(f->s, &t) == 0)
            return holds(f->op, num_cmp(a->i, (long long)t));
        return 0;
    default:
        return 0; /* structures do not compare */
    }
}

int cimi_filter_match(const cimi_filter *f, const cimi_obj *o)
{
    const cimi_attr *a;
    const char *v;
    size_t i;

    if (!f)
        return 1;
    switch (f->kind) {
    case F_AND:
    case F_OR:
        /* AND stops at the first false operand, OR at the first true one. */
        for (i = 0; i < f->n_kids; i++) {
            if (cimi_filter_match(f->kids[i], o) != (f->kind == F_AND))
                return f->kind != F_AND;
        }
        return f->kind == F_AND;
    case F_PROP:
        return (v = cimi_obj_prop(o, f->name)) != NULL && holds(f->op, strcmp(v, f->s));
    case F_ATTR:
        return (a = cimi_obj_get(o, f->name)) != NULL && match_attr(f, a);
    }
    return 0;
}
