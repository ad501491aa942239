/* cloudgate: what the EC2 action handlers share (not used outside
 * frontends/ec2/ and its unit tests).
 *
 * A handler reads its parameters from call->params, checks them, checks that
 * the resources it names exist, calls ec2_dry_run() (mutating actions) and
 * only then acts.  It either stores a response document with ec2_reply() and
 * returns 0, or reports one AWS error with ec2_fail*() and returns -1.
 */
#ifndef EC2_INTERNAL_H
#define EC2_INTERNAL_H

#include <stddef.h>

#include "../../gateway/context.h"
#include "../../gateway/request.h"
#include "ec2_filter.h"
#include "ec2_xml.h"

/* One AWS error: the code decides the HTTP status (ec2_error_status). */
typedef struct ec2_error {
    char code[64]; /* "" when none */
    char message[512];
} ec2_error;

typedef struct ec2_call {
    const gw_ctx *ctx;
    const gw_request *req;
    const ec2_params *params;
    const char *action;
    int dry_run;         /* DryRun=true was sent */
    int dry_run_checked; /* the handler reached ec2_dry_run() */
    ec2_error error;
    char *body; /* the success document (owned) */
    size_t body_len;
    gw_piece *pieces; /* or the document as pieces (owned; DescribeInstances) */
    size_t n_pieces;
} ec2_call;

typedef int (*ec2_handler_fn)(ec2_call *call);

/* One row of the action table (ec2_dispatch.c), as git's commands[]. */
typedef struct ec2_action {
    const char *name;
    ec2_handler_fn fn;
    int flags; /* EC2_MUTATING (written 1 in the table), EC2_ON_LOOP */
} ec2_action;

/* The handler changes state: it must honour DryRun itself, before acting. */
#define EC2_MUTATING 1
/* The answer needs no blocking call: the HTTP loop thread makes it itself. */
#define EC2_ON_LOOP 2

/* The action called name, or NULL. */
const ec2_action *ec2_action_find(const char *name);

/* Run an already authenticated request (params decoded from the query string
 * and body) and fill resp.  ec2_handle() is parse + verify + this; unit
 * tests call it directly to skip signing. */
void ec2_execute(const gw_ctx *ctx, const gw_request *req, const gw_params *params,
                 gw_response *resp);

/* Whether a verified request was signed for the service sts (ec2_sts.c). */
int ec2_sts_scoped(const gw_request *req, const gw_params *params);
/* Answer an sts-scoped request: GetCallerIdentity only, else InvalidAction. */
void ec2_sts_execute(const gw_ctx *ctx, const gw_request *req, const gw_params *params,
                     gw_response *resp);
/* GetCallerIdentity's document: the account's root identity. */
char *ec2_xml_caller_identity(const char *request_id, const char *account, size_t *len);

/* HTTP status for an EC2 error code (400 unless listed). */
int ec2_error_status(const char *code);

/* Fill resp with the AWS error document for code/message. */
void ec2_error_response(gw_response *resp, const char *request_id, const char *code,
                        const char *message);

/* ---- reporting (first report wins; all return -1) ----------------------- */

/* ids[0..n) as "a, b, c" into buf (each cut at 100 characters, the whole
 * truncated to size). */
void ec2_join_ids(const char *const *ids, size_t n, char *buf, size_t size);

int ec2_fail(ec2_call *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Map a cg_error to an AWS code.  resource_id, when the error concerns one
 * resource ("i-..." or "ami-..."), picks InvalidInstanceID.* / InvalidAMIID.*
 * and the AWS wording for NotFound and Malformed. */
int ec2_fail_cg(ec2_call *c, const cg_error *err, const char *resource_id);
/* InvalidInstanceID.NotFound naming every id in ids (AWS's "The instance IDs
 * 'i-a, i-b' do not exist"); prefix "ami-" style ids give InvalidAMIID. */
int ec2_fail_not_found(ec2_call *c, const char *const *ids, size_t n);

/* DryRunOperation (HTTP 412) when DryRun was set, else 0.  Mutating handlers
 * call it after validating and before acting. */
int ec2_dry_run(ec2_call *c);

/* Keep body (malloc'd by an ec2_xml_* writer, length *len) as the answer;
 * NULL means the writer ran out of memory and becomes InternalError.  len is
 * a pointer so that ec2_reply(c, ec2_xml_x(..., &len), &len) is well
 * defined whatever order the arguments are evaluated in.  0 or -1. */
int ec2_reply(ec2_call *c, char *body, const size_t *len);
/* The same for a document made of pieces (n of them, from
 * ec2_fragments_describe_pieces; NULL: out of memory).  0 or -1. */
int ec2_reply_pieces(ec2_call *c, gw_piece *pieces, size_t n);

/* ---- parameters --------------------------------------------------------- */

/* Boolean parameter: absent -> def; "true"/"false" (any case); else
 * InvalidParameterValue.  0 or -1. */
int ec2_param_bool(ec2_call *c, const char *name, int def, int *out);
/* Required string list prefix.1..N (MissingParameter "prefix" when empty). */
int ec2_param_list(ec2_call *c, const char *prefix, int required, const char ***out, size_t *n);
/* Read Filter.N with the allowed names (see ec2_filters_parse). */
int ec2_param_filters(ec2_call *c, const char *const *allowed, ec2_filters *out);
/* Read MaxResults/NextToken (see ec2_page_parse). */
int ec2_param_page(ec2_call *c, const char *kind, unsigned min, unsigned max, ec2_page *out);

/* ---- ids ---------------------------------------------------------------- */

/* 1 when s is prefix followed by exactly 8 or 17 lowercase hex digits. */
int ec2_id_valid(const char *s, const char *prefix);

/* Check ids (InvalidInstanceID.Malformed on a bad shape), then that each is
 * in list (InvalidInstanceID.NotFound naming all missing ones).  0 or -1. */
int ec2_check_instance_ids(ec2_call *c, const char *const *ids, size_t n,
                           const cg_instance_list *list);

/* InstanceId: required, well formed, existing (ec2_attributes.c).  Leaves
 * the instances in list, the one asked for in *inst, its id in *id.  0 or -1. */
int ec2_load_instance(ec2_call *c, cg_instance_list *list, const cg_instance **inst,
                      const char **id);
/* The instance called id in list, or NULL. */
const cg_instance *ec2_find_instance(const cg_instance_list *list, const char *id);
/* The image called id in list, or NULL. */
const cg_image *ec2_find_image(const cg_image_list *list, const char *id);

/* ---- tags (ec2_tags.c) -------------------------------------------------- */

/* Check one tag as CreateTags / TagSpecification accept it (key 1..128
 * characters, no "aws:" prefix, value <= 256 characters, UTF-8).  value may
 * be NULL (DeleteTags).  0 or -1 (InvalidParameterValue reported). */
int ec2_tag_check(ec2_call *c, const char *key, const char *value);

/* Read prefix.N.Key / prefix.N.Value into tags (checked, duplicates
 * rejected).  keep_null_values: an absent Value stays NULL (DeleteTags)
 * instead of "".  0 or -1. */
int ec2_param_tags(ec2_call *c, const char *prefix, int keep_null_values, cg_tags *tags);

/* Most tags one resource may carry. */
#define EC2_TAGS_PER_RESOURCE 50

/* Read TagSpecification.N (ResourceType must be resource_type, e.g.
 * "instance" or "key-pair") into tags, checked.  0 or -1. */
int ec2_param_tag_specs(ec2_call *c, const char *resource_type, cg_tags *tags);
/* The same for an action that makes several kinds: types NULL-terminated,
 * each spec's tags into the tags[k] of its types[k].  0 or -1. */
int ec2_param_tag_specs_of(ec2_call *c, const char *const *types, cg_tags *const *tags);
/* Refuse (InvalidParameterValue) any cloudgate: key but allowed: the others
 * are settings this action does not take, and stored as tags they could
 * never be deleted.  0 or -1. */
int ec2_tags_refuse_reserved(ec2_call *c, const cg_tags *tags, const char *allowed);

/* ---- key pairs (ec2_keypairs.c) ----------------------------------------- */

/* name's key pair into kp (release it); InvalidKeyPair.NotFound when none. */
int ec2_key_pair_find(ec2_call *c, const char *name, cg_keypair *kp);

/* ---- user data (ec2_instances.c) ---------------------------------------- */

/* Decoded user data AWS accepts. */
#define EC2_USER_DATA_MAX 16384

/* Decode base64 user data s as AWS accepts it (line breaks tolerated, at
 * most EC2_USER_DATA_MAX bytes decoded; else InvalidParameterValue).  NULL
 * or "" gives *data NULL, *len 0.  *data is malloc'd.  0 or -1. */
int ec2_user_data_decode(ec2_call *c, const char *s, unsigned char **data, size_t *len);

/* ---- handlers -----------------------------------------------------------
 * One per row of the action table, named after the EC2 action.  Each reads
 * call->params and ends in ec2_reply() (0) or an ec2_fail*() report (-1). */

int ec2_describe_regions(ec2_call *c);
int ec2_describe_availability_zones(ec2_call *c);
int ec2_describe_account_attributes(ec2_call *c);
int ec2_describe_instance_types(ec2_call *c);
int ec2_describe_images(ec2_call *c);
int ec2_run_instances(ec2_call *c);
int ec2_describe_instances(ec2_call *c);
int ec2_describe_instance_status(ec2_call *c);
int ec2_start_instances(ec2_call *c);
int ec2_stop_instances(ec2_call *c);
int ec2_reboot_instances(ec2_call *c);
int ec2_terminate_instances(ec2_call *c);
int ec2_create_tags(ec2_call *c);
int ec2_delete_tags(ec2_call *c);
int ec2_describe_tags(ec2_call *c);
/* ec2_images.c */
int ec2_create_image(ec2_call *c);
/* ec2_image_attrs.c */
int ec2_deregister_image(ec2_call *c);
int ec2_register_image(ec2_call *c);
int ec2_describe_image_attribute(ec2_call *c);
int ec2_modify_image_attribute(ec2_call *c);
int ec2_reset_image_attribute(ec2_call *c);
/* Longest AMI description (CreateImage, ModifyImageAttribute), in characters. */
#define EC2_AMI_DESCRIPTION_MAX 255
/* ImportImage, DescribeImportImageTasks, CancelImportTask (ec2_import.c). */
int ec2_import_image(ec2_call *c);
int ec2_describe_import_image_tasks(ec2_call *c);
int ec2_cancel_import_task(ec2_call *c);

/* ec2_metadata_opts.c: ModifyInstanceMetadataOptions; prefix+HttpTokens,
 * HttpEndpoint, HttpPutResponseHopLimit... into out (0 fields: absent),
 * checked (RunInstances: prefix "MetadataOptions.").  0 or -1. */
int ec2_modify_instance_metadata_options(ec2_call *c);
int ec2_param_metadata_options(ec2_call *c, const char *prefix, cg_metadata_options *out);

/* ec2_volumes.c */
int ec2_create_volume(ec2_call *c);
int ec2_describe_volumes(ec2_call *c);
int ec2_attach_volume(ec2_call *c);
int ec2_detach_volume(ec2_call *c);
int ec2_delete_volume(ec2_call *c);
/* InvalidZone.NotFound unless zone is one of the driver's (ec2_volumes.c). */
int ec2_zone_known(ec2_call *c, const char *zone);
/* VPCs, subnets, addresses (ec2_vpc.c) and their documents (ec2_vpc_xml.c). */
int ec2_create_vpc(ec2_call *c);
int ec2_delete_vpc(ec2_call *c);
int ec2_describe_vpcs(ec2_call *c);
int ec2_create_subnet(ec2_call *c);
int ec2_delete_subnet(ec2_call *c);
int ec2_describe_subnets(ec2_call *c);
int ec2_describe_addresses(ec2_call *c);
/* The default VPC's id into buf ("" when the driver has no VPCs).  0 or -1. */
int ec2_default_vpc_id(ec2_call *c, char *buf, size_t len);
/* 0 when VPC id exists; else MissingParameter / InvalidVpcID.* and -1. */
int ec2_check_vpc(ec2_call *c, const char *id);
/* 0 when subnet id exists; else MissingParameter / InvalidSubnetID.* and -1. */
int ec2_check_subnet(ec2_call *c, const char *id);
int ec2_modify_subnet_attribute(ec2_call *c);
int ec2_describe_vpc_attribute(ec2_call *c);
int ec2_modify_vpc_attribute(ec2_call *c);
int ec2_describe_vpc_classic_link(ec2_call *c);
/* DescribeVpcAttribute's answer: attribute name (its element) is value. */
char *ec2_xml_vpc_attribute(const char *request_id, const char *vpc_id, const char *name,
                            int value, size_t *len);
char *ec2_xml_create_vpc(const char *request_id, const cg_vpc *v, const char *owner,
                         size_t *len);
char *ec2_xml_describe_vpcs(const char *request_id, const cg_vpc *const *v, size_t n,
                            const char *owner, const char *next_token, size_t *len);
char *ec2_xml_create_subnet(const char *request_id, const cg_subnet *s, const char *owner,
                            const char *region, size_t *len);
char *ec2_xml_describe_subnets(const char *request_id, const cg_subnet *const *v, size_t n,
                               const char *owner, const char *region,
                               const char *next_token, size_t *len);
int ec2_describe_network_interfaces(ec2_call *c);
/* RunInstances' SubnetId / NetworkInterface.1.SubnetId, checked, into
 * subnet ("" when none); *zone (Placement, may be NULL) must agree with the
 * subnet's and becomes it (kept in zone_buf).  0 or -1. */
int ec2_launch_subnet(ec2_call *c, const char **zone, char *zone_buf, size_t zone_len,
                      char *subnet, size_t subnet_len);
/* DescribeNetworkInterfaces: one interface per instance of v. */
char *ec2_xml_describe_network_interfaces(const char *request_id, const cg_instance *const *v,
                                          size_t n, const char *owner, const char *region,
                                          const char *next_token, size_t *len);
/* DescribeAddresses: an empty <addressesSet/> (no Elastic IPs here). */
char *ec2_xml_describe_addresses(const char *request_id, size_t *len);
/* Security groups (ec2_sg.c, ec2_sg_rules.c) and their documents (ec2_sg_xml.c). */
int ec2_create_security_group(ec2_call *c);
int ec2_delete_security_group(ec2_call *c);
int ec2_describe_security_groups(ec2_call *c);
int ec2_authorize_security_group_ingress(ec2_call *c);
int ec2_authorize_security_group_egress(ec2_call *c);
int ec2_revoke_security_group_ingress(ec2_call *c);
int ec2_revoke_security_group_egress(ec2_call *c);
int ec2_describe_security_group_rules(ec2_call *c);
/* InvalidGroupId.Malformed (malformed) or InvalidGroup.NotFound for id. */
int ec2_sg_fail_id(ec2_call *c, const char *id, int malformed);
/* A group name or description (param) as AWS accepts it.  0 or -1. */
int ec2_sg_text_check(ec2_call *c, const char *param, const char *s);
/* Every group into list; the one called id (checked), or else the one
 * called name in the default VPC, into *out (NULL when neither is given).
 * 0 or -1 (answered). */
int ec2_sg_load(ec2_call *c, cg_sg_list *list, const char *id, const char *name,
                const cg_sg **out);
/* The groups a launch asked for, checked (all of its VPC, at most
 * CG_INSTANCE_GROUPS_MAX); ptrs[i] points at ids[i]. */
typedef struct ec2_group_choice {
    char ids[CG_INSTANCE_GROUPS_MAX][32];
    const char *ptrs[CG_INSTANCE_GROUPS_MAX];
    size_t n;
} ec2_group_choice;
/* RunInstances' SecurityGroupId.N / SecurityGroup.N /
 * NetworkInterface.1.SecurityGroupId.N for a launch into subnet (NULL: the
 * default subnet) into out (n 0: none asked for).  0 or -1 (answered). */
int ec2_launch_groups(ec2_call *c, const char *subnet, ec2_group_choice *out);
/* ModifyInstanceAttribute with GroupId.N (ec2_sg_instances.c). */
int ec2_modify_instance_groups(ec2_call *c);
/* One rule of a listing with its group. */
typedef struct ec2_sg_rule_row {
    const cg_sg *sg;
    const cg_sg_rule *rule;
} ec2_sg_rule_row;
char *ec2_xml_create_security_group(const char *request_id, const cg_sg *g, size_t *len);
char *ec2_xml_describe_security_groups(const char *request_id, const cg_sg *const *v, size_t n,
                                       const char *owner, const char *next_token, size_t *len);
/* Authorize*: return and the rules made. */
char *ec2_xml_authorize_security_group(const char *action, const char *request_id,
                                       const ec2_sg_rule_row *v, size_t n, const char *owner,
                                       size_t *len);
char *ec2_xml_describe_security_group_rules(const char *request_id, const ec2_sg_rule_row *v,
                                            size_t n, const char *owner,
                                            const char *next_token, size_t *len);
/* ec2_snapshots.c */
int ec2_create_snapshot(ec2_call *c);
int ec2_describe_snapshots(ec2_call *c);
int ec2_delete_snapshot(ec2_call *c);
int ec2_copy_snapshot(ec2_call *c);
/* Their documents: CreateSnapshot (the snapshot's fields), DescribeSnapshots
 * (<snapshotSet> in the order given), CopySnapshot (snapshotId, tagSet). */
char *ec2_xml_create_snapshot(const char *request_id, const cg_snapshot *s, size_t *len);
char *ec2_xml_describe_snapshots(const char *request_id, const cg_snapshot *const *v, size_t n,
                                 const char *next_token, size_t *len);
char *ec2_xml_copy_snapshot(const char *request_id, const cg_snapshot *s, size_t *len);
/* InvalidVolume.NotFound for id; returns -1. */
int ec2_fail_volume_not_found(ec2_call *c, const char *id);
/* All volumes into list; the one called id (checked: shape, existence)
 * into *vol when id is not NULL.  0 or -1. */
int ec2_load_volumes(ec2_call *c, cg_volume_list *list, const char *id, const cg_volume **vol);
/* A required VolumeId, or NULL (MissingParameter reported). */
const char *ec2_param_volume_id(ec2_call *c);
/* "/dev/sdf", "/dev/xvdf", "sdf", "vdf", ... -> "vdf" (b..z), else
 * InvalidParameterValue.  0 or -1. */
int ec2_volume_device(ec2_call *c, const char *dev, char *out, size_t len);
/* A volume size in GiB: decimal digits only, 1..16384, else
 * InvalidParameterValue.  0 or -1. */
int ec2_volume_gib(ec2_call *c, const char *size, unsigned long long *gib);
/* ec2_volume_ops.c */
int ec2_modify_volume(ec2_call *c);
/* ec2_launch_disks.c: RunInstances' BlockDeviceMapping.N for image img
 * into spec (root size, disks); *disks is the array spec points to (free
 * it).  0 or -1. */
/* The zone a launch must use because of what (a snapshot or an image,
 * for the message): agrees with Placement and spec->zone, then sets it.
 * 0 or -1 (answered). */
int ec2_launch_zone_pin(ec2_call *c, cg_launch_spec *spec, const char *zone, const char *what);
/* /dev/vda, /dev/sda1 or /dev/xvda: the one root disk. */
int ec2_is_root_device(const char *name);
/* BlockDeviceMapping.i: Ebs.VolumeSize in GiB (0 absent); the members a
 * plain disk cannot honour (answered).  0 or -1. */
int ec2_mapping_size(ec2_call *c, size_t i, unsigned long long *gib);
int ec2_mapping_refusals(ec2_call *c, size_t i, const char *name);
int ec2_param_launch_disks(ec2_call *c, const cg_image *img, cg_launch_spec *spec,
                           cg_launch_disk **disks);
/* ModifyInstanceAttribute with BlockDeviceMapping.N: DeleteOnTermination. */
int ec2_modify_block_devices(ec2_call *c);
int ec2_describe_volumes_modifications(ec2_call *c);
int ec2_describe_volume_status(ec2_call *c);
/* ec2_keypairs.c */
int ec2_create_key_pair(ec2_call *c);
int ec2_import_key_pair(ec2_call *c);
int ec2_describe_key_pairs(ec2_call *c);
int ec2_delete_key_pair(ec2_call *c);
/* ec2_attributes.c */
int ec2_describe_instance_attribute(ec2_call *c);
int ec2_modify_instance_attribute(ec2_call *c);
int ec2_get_console_output(ec2_call *c);
int ec2_get_password_data(ec2_call *c);

/* ---- displays (ec2_console.c) ------------------------------------------- */

/* Tag keys under this prefix are cloudgate's: only EC2_TAG_DISPLAY is set by
 * users; the others are read-only pseudo tags. */
#define EC2_CG_TAG_PREFIX "cloudgate:"
#define EC2_TAG_DISPLAY "cloudgate:display"
#define EC2_TAG_DISPLAY_LIVE "cloudgate:display-live"
#define EC2_TAG_DISPLAY_ADDRESS "cloudgate:display-address"
/* Images: what inspection found (read-only), and CreateImage's request to
 * seal (consumed, like cloudgate:display at launch). */
#define EC2_TAG_OS "cloudgate:os"
#define EC2_TAG_SEAL "cloudgate:seal"

/* "headless", "vnc" or "spice" into *out; else InvalidParameterValue naming
 * what.  0 or -1. */
int ec2_display_parse(ec2_call *c, const char *what, const char *value, cg_display *out);
/* Take EC2_TAG_DISPLAY out of tags into *display (DEFAULT when absent);
 * other reserved keys are InvalidParameterValue.  0 or -1. */
int ec2_display_tag_take(ec2_call *c, cg_tags *tags, cg_display *display);
/* Take EC2_TAG_SEAL ("true" or "false", any case) out of tags into *seal
 * (0 when absent); another value is InvalidParameterValue.  0 or -1. */
int ec2_seal_tag_take(ec2_call *c, cg_tags *tags, int *seal);
/* Add the pseudo tags to listed instances (0, or -1 with err set) and to
 * listed images (0, or -1 answered). */
int ec2_instances_pseudo_tags(cg_instance_list *instances, cg_error *err);
int ec2_images_pseudo_tags(ec2_call *c, cg_image_list *images);
/* Store display on instance ("i-") or image ("ami-") id; DEFAULT: nothing. */
int ec2_display_set(ec2_call *c, const char *id, cg_display display);
/* StartInstances' AdditionalInfo=cloudgate:run-once=DISPLAY into *once
 * (DEFAULT when absent).  0 or -1. */
int ec2_run_once_param(ec2_call *c, cg_display *once);
int ec2_get_console_screenshot(ec2_call *c);

#endif
