/* cloudgate: per-request error reporting. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

void cg_error_set(cg_error *err, cg_errkind kind, const char *fmt, ...)
{
    va_list ap;

    if (!err || err->kind != CG_ERR_NONE)
        return;
    err->kind = kind;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

void cg_error_clear(cg_error *err)
{
    if (!err)
        return;
    err->kind = CG_ERR_NONE;
    err->message[0] = '\0';
}

const char *cg_errkind_name(cg_errkind kind)
{
    static const char *const names[] = {
        [CG_ERR_NONE] = "none",           [CG_ERR_INVALID] = "invalid",
        [CG_ERR_MISSING] = "missing",     [CG_ERR_NOT_FOUND] = "not-found",
        [CG_ERR_MALFORMED] = "malformed", [CG_ERR_STATE] = "state",
        [CG_ERR_CAPACITY] = "capacity",   [CG_ERR_UNSUPPORTED] = "unsupported",
        [CG_ERR_CONFLICT] = "conflict",   [CG_ERR_UNAVAILABLE] = "unavailable",
        [CG_ERR_FORBIDDEN] = "forbidden",
        [CG_ERR_INTERNAL] = "internal",
    };
    if ((unsigned)kind < sizeof(names) / sizeof(names[0]))
        return names[kind];
    return "unknown";
}
