/* cloudgate: per-request error reporting.
 *
 * Report once, where the failure happens, into a cg_error, then return -1 or
 * NULL; callers propagate without reporting again.  Only frontends turn a
 * cg_error into EC2 <Errors> XML or a CIMI status.
 */
#ifndef CG_ERROR_H
#define CG_ERROR_H

typedef enum {
    CG_ERR_NONE = 0,
    CG_ERR_INVALID,      /* bad parameter value (EC2 InvalidParameterValue, HTTP 400) */
    CG_ERR_MISSING,      /* required parameter absent (MissingParameter) */
    CG_ERR_NOT_FOUND,    /* resource does not exist (frontend picks the .NotFound code) */
    CG_ERR_MALFORMED,    /* resource id has the wrong shape (.Malformed) */
    CG_ERR_STATE,        /* not allowed in the resource's current state */
    CG_ERR_CAPACITY,     /* no host can hold it (InsufficientInstanceCapacity) */
    CG_ERR_UNSUPPORTED,  /* the driver cannot do this (UnsupportedOperation, CIMI 501) */
    CG_ERR_CONFLICT,     /* duplicate / idempotency mismatch */
    CG_ERR_FORBIDDEN,    /* refused by a protection (disableApiTermination) */
    CG_ERR_UNAVAILABLE,  /* backend (libvirtd) not reachable right now */
    CG_ERR_INTERNAL,     /* anything else: a bug or an unexpected backend failure */
} cg_errkind;

typedef struct cg_error {
    cg_errkind kind;
    char message[512];
} cg_error;

/* Set err (if non-NULL) unless an error is already recorded: the first report wins. */
void cg_error_set(cg_error *err, cg_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear err to CG_ERR_NONE. */
void cg_error_clear(cg_error *err);

/* Short name of a kind, for logs ("invalid", "not-found", ...). */
const char *cg_errkind_name(cg_errkind kind);

#endif
