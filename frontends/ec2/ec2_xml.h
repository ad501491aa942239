/* cloudgate: EC2 response documents, written with libxml2's xmlTextWriter.
 *
 * Every value goes through the writer API, so a tag value or image name can
 * never become markup.  A writer failure (out of memory) is sticky: later
 * calls do nothing and ec2_xml_finish() returns NULL.
 *
 * Element names and nesting follow botocore's ec2 2016-11-15 model
 * (locationName of each member).  Empty list wrappers (<tagSet/>,
 * <groupSet/>, ...) are always written: botocore turns a missing wrapper into
 * a missing key, and clients index those keys directly.
 */
#ifndef EC2_XML_H
#define EC2_XML_H

#include <stddef.h>
#include <time.h>

#include "../../drivers/driver.h"
#include "../../engine/instance_view.h"
#include "../../engine/jobs.h"
#include "../../gateway/config.h"
#include "../../gateway/keypairs.h"
#include "../../gateway/request.h"

#define EC2_XMLNS "http://ec2.amazonaws.com/doc/2016-11-15/"
#define EC2_CONTENT_TYPE "text/xml;charset=UTF-8"

typedef struct ec2_xml ec2_xml;

/* ---- low level ---------------------------------------------------------- */

/* Start <ACTIONResponse xmlns=EC2_XMLNS> with its <requestId>.  NULL on OOM. */
ec2_xml *ec2_xml_new(const char *action, const char *request_id);
/* Start <root xmlns=xmlns> and nothing else (documents of other services'
 * query protocols, such as STS).  NULL on OOM. */
ec2_xml *ec2_xml_new_root(const char *root, const char *xmlns);

/* Open / close an element.  An element closed with nothing inside is written
 * as <name/>, which botocore reads as an empty list or "". */
void ec2_xml_start(ec2_xml *x, const char *name);
void ec2_xml_end(ec2_xml *x);

/* <name>value</name>; NULL value writes <name/>.  Bytes that are not valid
 * UTF-8 or not allowed in XML 1.0 are replaced by '?'. */
void ec2_xml_str(ec2_xml *x, const char *name, const char *value);
/* <name>decimal</name> */
void ec2_xml_int(ec2_xml *x, const char *name, long long value);
/* <name>true</name> or <name>false</name>, as botocore reads booleans. */
void ec2_xml_bool(ec2_xml *x, const char *name, int value);
/* ISO 8601 with milliseconds, "2026-11-22T10:29:22.000Z". */
void ec2_xml_time(ec2_xml *x, const char *name, time_t t);

/* Close every open element and the document.  Returns the malloc'd body
 * (length in *len) or NULL if any write failed.  Frees x in both cases. */
char *ec2_xml_finish(ec2_xml *x, size_t *len);

/* Discard an unfinished document. Accepts NULL. */
void ec2_xml_free(ec2_xml *x);

/* Number of characters in s when it is valid UTF-8 made only of characters
 * XML 1.0 allows, else -1.  Lets handlers refuse what cannot be echoed. */
long ec2_xml_text_chars(const char *s);

/* ---- pieces ------------------------------------------------------------- */

/* <tagSet> with one <item><key/><value/></item> per tag. */
void ec2_xml_tags(ec2_xml *x, const cg_tags *tags);
/* <name><code>16</code><name>running</name></name> */
void ec2_xml_state(ec2_xml *x, const char *name, cg_instance_state s);
/* One instance's fields (inside an <item>).  region names the private DNS
 * zone: "ip-10-0-0-5.REGION.compute.internal". */
void ec2_xml_instance(ec2_xml *x, const cg_instance *inst, const char *region);

/* An instance's vpcId and subnetId (when it has them) and its
 * <networkInterfaceSet> (ec2_vpc_xml.c). */
void ec2_xml_instance_network(ec2_xml *x, const cg_instance *inst, const char *region);
/* <groupSet> of an instance or its interface (ec2_sg_xml.c). */
void ec2_xml_instance_groups(ec2_xml *x, const cg_instance *inst);
/* DescribeInstanceAttribute groupSet: the instance's security groups. */
char *ec2_xml_instance_group_set(const char *request_id, const cg_instance *inst, size_t *len);
/* An InstanceMetadataOptionsResponse element called name (ec2_metadata_opts.c). */
void ec2_xml_metadata_options(ec2_xml *x, const char *name, const cg_metadata_options *o);
/* ModifyInstanceMetadataOptions' answer. */
char *ec2_xml_modify_metadata_options(const char *request_id, const char *instance_id,
                                      const cg_metadata_options *o, size_t *len);

/* The private DNS name for an IPv4 address into out; "" when ip is not one. */
void ec2_private_dns_name(const char *ip, const char *region, char *out, size_t outlen);

/* ---- whole responses ----------------------------------------------------
 * Each returns a malloc'd document (length in *len), or NULL on OOM. */

/* The AWS error document: <Response><Errors><Error><Code/><Message/>
 * </Error></Errors><RequestID/></Response>. */
char *ec2_xml_error(const char *request_id, const char *code, const char *message, size_t *len);

/* DescribeInstances: v in page order, grouped here into reservations (in
 * order of first appearance; inside one, by launch index).  ownerId is
 * cfg->account_id.  next_token NULL: no <nextToken>. */
char *ec2_xml_describe_instances(const char *request_id, const cg_config *cfg,
                                 const cg_instance *const *v, size_t n, const char *next_token,
                                 size_t *len);

/* The same with each instance's blockDeviceMapping: its root disk and the
 * volumes of vols attached to it. */
char *ec2_xml_describe_instances_vols(const char *request_id, const cg_config *cfg,
                                      const cg_instance *const *v, size_t n,
                                      const cg_volume_list *vols, const char *next_token,
                                      size_t *len);

/* The page v grouped as DescribeInstances shows it: order gets the
 * instances, starts[i] is 1 where a reservation begins.  0 or -1 (OOM). */
int ec2_xml_reservation_order(const cg_instance *const *v, size_t n, const cg_instance **order,
                              unsigned char *starts);

/* ec2_xml_describe_instances_vols from per-instance fragments
 * (ec2_fragments.c): the same bytes, as pieces that refer to the cached
 * fragments (no copy of them), writing again only the instances whose
 * record (state, tags, groups, attributes, attached volumes...) has
 * changed since they were last written: *n_out pieces, NULL on OOM.
 * Release with gw_pieces_release. */
gw_piece *ec2_fragments_describe_pieces(const char *request_id, const cg_config *cfg,
                                        const cg_instance *const *v, size_t n,
                                        const cg_volume_list *vols, const char *next_token,
                                        size_t *n_out);
/* The same for instances of listing (each v[i] an entry of listing->list,
 * its volumes shown): the fragments are looked up once per listing and
 * kept with it for the requests that share it. */
gw_piece *ec2_fragments_describe_listed(const char *request_id, const cg_config *cfg,
                                        const cg_listing *listing, const cg_instance *const *v,
                                        size_t n, const char *next_token, size_t *n_out);
/* Drop the fragments of instances not in all (the whole listing). */
void ec2_fragments_prune(const cg_instance_list *all);
/* Fragments written and reused since start, and how many are kept. */
void ec2_fragments_stats(unsigned long *rendered, unsigned long *reused, size_t *cached);
/* Fragments taken from a listing's kept ones since start. */
unsigned long ec2_fragments_memo_hits(void);

/* RunInstances: the reservation the launched instances belong to. */
char *ec2_xml_run_instances(const char *request_id, const cg_config *cfg,
                            const cg_instance *const *v, size_t n, size_t *len);

/* DescribeInstanceStatus. */
/* DescribeInstanceAttribute blockDeviceMapping: the root disk and the
 * volumes in vols attached to inst, as DescribeInstances shows them. */
char *ec2_xml_instance_block_devices(const char *request_id, const cg_instance *inst,
                                     const cg_volume_list *vols, size_t *len);
/* An instance's system (system = 1) or instance status check: "ok",
 * "impaired", "insufficient-data" or "not-applicable"; *reachability the
 * detail's status, NULL when there is none. */
const char *ec2_status_check(const cg_instance *inst, int system, const char **reachability);
char *ec2_xml_instance_status(const char *request_id, const cg_instance *const *v, size_t n,
                              const char *next_token, size_t *len);

/* Start/Stop/TerminateInstances: <instancesSet> of state changes. */
char *ec2_xml_state_changes(const char *action, const char *request_id, const cg_state_change *v,
                            size_t n, size_t *len);

/* RebootInstances, CreateTags, DeleteTags: <return>true</return>. */
char *ec2_xml_return_true(const char *action, const char *request_id, size_t *len);

/* CreateImage: <imageId> (written in ec2_images.c). */
char *ec2_xml_create_image(const char *request_id, const char *image_id, size_t *len);
char *ec2_xml_register_image(const char *request_id, const char *image_id, size_t *len);

/* Import tasks (engine jobs of action import-image; ec2_import.c), with
 * their tags (tags NULL, or an element NULL: an empty tagSet). */
char *ec2_xml_import_image(const char *request_id, const cg_job *j, const cg_tags *tags,
                           size_t *len);
char *ec2_xml_import_tasks(const char *request_id, const cg_job *const *v,
                           const cg_tags *const *tags, size_t n, const char *next_token,
                           size_t *len);
char *ec2_xml_cancel_import_task(const char *request_id, const char *id, size_t *len);

/* Volumes (written in ec2_volumes.c).  CreateVolume: the volume's fields. */
char *ec2_xml_create_volume(const char *request_id, const cg_volume *v, size_t *len);
/* DescribeVolumes: <volumeSet>, in the order given. */
char *ec2_xml_describe_volumes(const char *request_id, const cg_volume *const *v, size_t n,
                               size_t *len);
/* AttachVolume / DetachVolume: one attachment (device "vdX", shown as
 * "/dev/vdX") in state status. */
char *ec2_xml_volume_attachment(const char *action, const char *request_id, const cg_volume *v,
                                const char *instance_id, const char *device,
                                const char *status, time_t when, size_t *len);

/* <blockDeviceMapping> of an image: its root disk (none while its size is
 * unknown). */
void ec2_xml_image_block_devices(ec2_xml *x, const cg_image *img);
/* DescribeImageAttribute (ec2_image_attrs.c): <imageId> and the one
 * attribute asked for.  last_launched 0: never launched. */
char *ec2_xml_image_attribute(const char *request_id, const cg_image *img, const char *attribute,
                              time_t last_launched, size_t *len);
/* ModifyVolume: <volumeModification>; DescribeVolumesModifications:
 * <volumeModificationSet> (ec2_volume_ops.c). */
char *ec2_xml_modify_volume(const char *request_id, const cg_volume_mod *m, size_t *len);
char *ec2_xml_volumes_modifications(const char *request_id, const cg_volume_mod *const *v,
                                    size_t n, const char *next_token, size_t *len);
/* DescribeVolumeStatus: every volume "ok", io-enabled passed, no events. */
char *ec2_xml_volume_status(const char *request_id, const cg_volume *const *v, size_t n,
                            const char *next_token, size_t *len);

/* DescribeImages; imageOwnerId is cfg->account_id. */
char *ec2_xml_describe_images(const char *request_id, const cg_config *cfg,
                              const cg_image *const *v, size_t n, size_t *len);

typedef struct ec2_region {
    const char *name;
    const char *endpoint;
} ec2_region;

/* DescribeRegions: <regionInfo> with name, endpoint, opt-in status. */
char *ec2_xml_describe_regions(const char *request_id, const ec2_region *v, size_t n, size_t *len);

/* DescribeAvailabilityZones; every zone is in region. */
char *ec2_xml_describe_zones(const char *request_id, const char *region, const cg_zone *const *v,
                             size_t n, size_t *len);

typedef struct ec2_account_attr {
    const char *name;
    const char *const *values;
    size_t n_values;
} ec2_account_attr;

/* DescribeAccountAttributes: <accountAttributeSet>. */
char *ec2_xml_account_attributes(const char *request_id, const ec2_account_attr *v, size_t n,
                                 size_t *len);

/* DescribeInstanceTypes: vCPUs and memory from the configured types. */
char *ec2_xml_instance_types(const char *request_id, const cg_instance_type *const *v, size_t n,
                             const char *next_token, size_t *len);

/* One row of DescribeTags. */
typedef struct ec2_tag_row {
    const char *resource_id;
    const char *resource_type; /* a kind's type (ec2_tag_kinds.c): "volume" */
    const char *key;
    const char *value;
} ec2_tag_row;

/* DescribeTags: one <item> per row, in the order given. */
char *ec2_xml_describe_tags(const char *request_id, const ec2_tag_row *const *v, size_t n,
                            const char *next_token, size_t *len);

/* ---- key pairs, attributes, consoles (ec2_xml_keys.c) ------------------ */

/* CreateKeyPair (material: the private key) or ImportKeyPair (material
 * NULL): keyName, keyFingerprint, keyMaterial, keyPairId, tagSet. */
char *ec2_xml_key_pair(const char *action, const char *request_id, const cg_keypair *kp,
                       const char *material, size_t *len);

/* DescribeKeyPairs: <keySet>, in the order given; publicKey only when
 * include_public_key. */
char *ec2_xml_describe_key_pairs(const char *request_id, const cg_keypair *const *v, size_t n,
                                 int include_public_key, size_t *len);

/* DescribeInstanceAttribute: <instanceId> and <ATTRIBUTE><value>value
 * </value></ATTRIBUTE>; value NULL writes an empty <ATTRIBUTE/>. */
char *ec2_xml_instance_attribute(const char *request_id, const char *instance_id,
                                 const char *attribute, const char *value, size_t *len);

/* GetConsoleOutput: output is already base64 (botocore decodes it). */
char *ec2_xml_console_output(const char *request_id, const char *instance_id, time_t when,
                             const char *output, size_t *len);

/* GetConsoleScreenshot: image_data is the base64 image (a PNG here). */
char *ec2_xml_console_screenshot(const char *request_id, const char *instance_id,
                                 const char *image_data, size_t *len);

/* GetPasswordData: an empty <passwordData/> (no Windows guests). */
char *ec2_xml_password_data(const char *request_id, const char *instance_id, time_t when,
                            size_t *len);

#endif
