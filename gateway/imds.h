/* cloudgate: the instance metadata service's answers (IMDS, as EC2's at
 * 169.254.169.254), protocol-free.
 *
 * gw_imds holds what the guests may read (a snapshot of their instances,
 * replaced whole by gw_imds_set_instances) and the IMDSv2 session tokens.
 * gw_imds_answer maps one request (source address, method, path, token
 * headers) to a status and a body.  Not thread-safe: the daemon calls both
 * from the loop thread only.
 */
#ifndef GW_IMDS_H
#define GW_IMDS_H

#include <stddef.h>
#include <time.h>

#include "../drivers/driver.h"

/* One instance as the service serves it.  Owns key_name, public_key,
 * user_data and the group names. */
typedef struct gw_imds_instance {
    char id[24];
    char image_id[24];
    char instance_type[64];
    char zone[64];
    char private_ip[48];      /* "" when the DHCP lease is not known */
    char mac[24];             /* lowercase, "52:54:00:..." */
    char vpc_id[24];
    char subnet_id[32];
    char eni_id[24];
    char *key_name;           /* NULL when none */
    char *public_key;         /* its OpenSSH line, NULL when none */
    unsigned char *user_data; /* NULL when none */
    size_t user_data_len;
    char group_ids[CG_INSTANCE_GROUPS_MAX][32];
    /* Their names (at most 255 characters), malloc'd: inline arrays were
     * most of the record.  NULL past n_groups. */
    char *group_names[CG_INSTANCE_GROUPS_MAX];
    unsigned n_groups;
    unsigned launch_index;
    time_t launch_time;
    cg_metadata_options md;   /* every field set */
} gw_imds_instance;

void gw_imds_instance_release(gw_imds_instance *inst);
/* Fill d (overwritten) from the driver's record s, with copies of its
 * strings.  0, or -1 when out of memory (d released). */
int gw_imds_instance_from(gw_imds_instance *d, const cg_instance *s);
/* Append a group (id, name cut at EC2's 255 characters); beyond
 * CG_INSTANCE_GROUPS_MAX it is left out.  0, or -1 (OOM). */
int gw_imds_instance_add_group(gw_imds_instance *inst, const char *id, const char *name);

typedef struct gw_imds gw_imds;

/* account_id and region are copied.  max_tokens bounds the live IMDSv2
 * tokens of all instances.  NULL when out of memory. */
gw_imds *gw_imds_new(const char *account_id, const char *region, size_t max_tokens);
void gw_imds_free(gw_imds *m);

/* Replace the served instances with v[0..n) (taken over, v freed).  Tokens
 * of instances no longer served are dropped. */
void gw_imds_set_instances(gw_imds *m, gw_imds_instance *v, size_t n);

/* One request.  Header values are NULL when the header is absent; mac is
 * the caller's link-layer address as the host's neighbour table knows it
 * (NULL: unknown), used only for instances whose address is not known. */
typedef struct gw_imds_request {
    const char *method;       /* "GET", "PUT", ... */
    const char *path;         /* as received, query string included */
    const char *src_ip;       /* the TCP peer's address */
    const char *src_mac;
    const char *token;        /* X-aws-ec2-metadata-token */
    const char *ttl;          /* X-aws-ec2-metadata-token-ttl-seconds */
    int forwarded;            /* an X-Forwarded-For header was present */
    time_t now;
} gw_imds_request;

typedef struct gw_imds_reply {
    int status;               /* 200, 400, 401, 403, 404, 405, 503 */
    const char *content_type; /* static */
    char *body;               /* malloc'd (NUL-terminated), never NULL when status set */
    size_t len;
    long ttl;                 /* >= 0: send X-aws-ec2-metadata-token-ttl-seconds */
    int hop_limit;            /* > 0: the caller's HttpPutResponseHopLimit (token answers) */
} gw_imds_reply;

/* Answer rq into out (release with gw_imds_reply_release).  0, or -1 when
 * out of memory (out->status 500, no body). */
int gw_imds_answer(gw_imds *m, const gw_imds_request *rq, gw_imds_reply *out);
void gw_imds_reply_release(gw_imds_reply *r);

/* Live tokens now (for tests and the log). */
size_t gw_imds_token_count(const gw_imds *m);

#endif
