/* cloudgate: the CIMI $filter expression (DSP0263 1.0.1 section 4.1.6.1, as
 * StratusLab's grammar.txt writes it down):
 *
 *   Filter   ::= AndExpr ('or' AndExpr)*
 *   AndExpr  ::= Comp ('and' Comp)*
 *   Comp     ::= Attribute Op Value | Value Op Attribute | PropExpr | '(' Filter ')'
 *   PropExpr ::= 'property[' String ']' Op String
 *   Op       ::= '<' | '<=' | '=' | '>=' | '>' | '!='
 *   Value    ::= Int | Date (ISO 8601) | String ('...' or "...", backslash
 *                escapes the quote) | 'true' | 'false'
 *
 * 'and'/'or' are matched without regard to case.  Evaluation: a comparison
 * on an attribute the resource does not have, or between kinds that do not
 * compare (an int with a string), is false.  Strings compare bytewise;
 * times compare with a Date or with a String that parses as one; a
 * reference compares by its href.
 */
#ifndef CIMI_FILTER_H
#define CIMI_FILTER_H

#include "../../gateway/error.h"
#include "cimi_model.h"

typedef struct cimi_filter cimi_filter;

/* Parse text.  NULL with err (CG_ERR_INVALID, naming what is wrong and
 * where) on a syntax error or CG_ERR_INTERNAL on OOM. */
cimi_filter *cimi_filter_parse(const char *text, cg_error *err);

/* 1 when o satisfies f; a NULL filter matches everything. */
int cimi_filter_match(const cimi_filter *f, const cimi_obj *o);

/* Accepts NULL. */
void cimi_filter_free(cimi_filter *f);

/* Parse an ISO 8601 date ("2012-08-28", "2012-08-28T10:00:00Z",
 * "...T10:00:00.5+02:00") into *out (UTC).  0 or -1. */
int cimi_parse_date(const char *s, time_t *out);

#endif
