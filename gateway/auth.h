/* cloudgate: AWS request signature verification (SigV4 header and presigned
 * query string, SigV2 query) with OpenSSL HMAC; constant-time comparison.
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stddef.h>
#include <time.h>

#include "params.h"
#include "request.h"

typedef enum {
    GW_AUTH_OK = 0,
    GW_AUTH_MISSING,          /* no signature at all: "MissingAuthenticationToken" */
    GW_AUTH_UNKNOWN_KEY,      /* access key not in the credentials: "AuthFailure" */
    GW_AUTH_BAD_SIGNATURE,    /* "SignatureDoesNotMatch" (also: another region's scope) */
    GW_AUTH_EXPIRED,          /* more than 15 minutes off, or past Expires: "RequestExpired" */
    GW_AUTH_MALFORMED,        /* unparsable Authorization / dates: "IncompleteSignature" */
    GW_AUTH_REFUSED,          /* well-formed and signed, but not acceptable: "AuthFailure" */
} gw_auth_result;

/* Access key id -> secret.  Loaded from the credentials file. */
typedef struct gw_credential {
    char *key_id;
    char *secret;
} gw_credential;

typedef struct gw_credentials {
    gw_credential *v;
    size_t n;
} gw_credentials;

/* Load "KEY_ID SECRET" lines ('#' comments, blank lines ignored).  A file
 * that other users may read or write is refused (the secrets sign every
 * request).  On error writes a message naming file and line into errbuf and
 * returns -1. */
int gw_credentials_load(gw_credentials *creds, const char *path, char *errbuf, size_t errlen);

/* The secret for key_id, or NULL. */
const char *gw_credentials_find(const gw_credentials *creds, const char *key_id);

/* Free contents (secrets are wiped). Accepts NULL. */
void gw_credentials_release(gw_credentials *creds);

/* Verify an EC2 Query request.  params holds the decoded query-string
 * parameters and, when the request is signed with SigV2 in a form body, the
 * body's (SigV4 signs the raw body: its parameters are not needed); req gives
 * method, path, raw query, headers and body.  region is the gateway's: a
 * SigV4 scope naming another is refused.  now is the server clock.  On
 * success copies the access key id to key_id (size keylen).  msg (size
 * msglen) receives a client-safe message that never contains the secret. */
gw_auth_result gw_auth_verify_ec2(const gw_request *req, const gw_params *params,
                                  const gw_credentials *creds, const char *region, time_t now,
                                  char *key_id, size_t keylen, char *msg, size_t msglen);

/* Whether params carry a signature in the query (presigned SigV4) or SigV2
 * form, i.e. whether there is anything for gw_auth_verify_ec2 to check
 * besides an Authorization header. */
int gw_auth_params_signed(const gw_params *params);


/* Verify HTTP Basic credentials (CIMI): "Authorization: Basic base64(key:secret)". */
gw_auth_result gw_auth_verify_basic(const gw_request *req, const gw_credentials *creds,
                                    char *key_id, size_t keylen);

/* EC2 error code for a result ("AuthFailure", "SignatureDoesNotMatch", ...). */
const char *gw_auth_ec2_code(gw_auth_result r);

#endif
