/* cloudgate: the driver interface.
 *
 * Frontends (EC2, CIMI) speak only this table; drivers/libvirt/ implements it.
 * Modelled on libvirt's virHypervisorDriver: one function pointer per
 * operation, filled with designated initializers.  Only open and close are
 * mandatory; CG_DRV_CALL turns a NULL entry into CG_ERR_UNSUPPORTED.
 *
 * Every call may block (libvirt, SQLite): call from a worker thread only.
 * Every call reports failures into its cg_error and returns -1 (or NULL).
 * Lists returned through out-parameters are deep copies the caller releases.
 */
#ifndef CG_DRIVER_H
#define CG_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../gateway/config.h"
#include "../gateway/error.h"

struct cg_provider; /* gateway/providers.h */

/* ---- tags ------------------------------------------------------------- */

typedef struct cg_tag {
    char *key;
    char *value;     /* never NULL in a stored tag ("" allowed) */
} cg_tag;

typedef struct cg_tags {
    cg_tag *v;
    size_t n;
} cg_tags;

/* Add key=value, replacing the value of an existing key.  0 or -1 (OOM). */
int cg_tags_set(cg_tags *tags, const char *key, const char *value);
/* Remove key; when value is non-NULL only if the stored value equals it. */
void cg_tags_remove(cg_tags *tags, const char *key, const char *value);
/* The value of key, or NULL. */
const char *cg_tags_get(const cg_tags *tags, const char *key);
/* Deep copy src into dst (dst is overwritten, not released). 0 or -1. */
int cg_tags_copy(cg_tags *dst, const cg_tags *src);
void cg_tags_release(cg_tags *tags);
/* Release the tags of n elements of an array (size bytes apart, each's
 * cg_tags at offset tags_at) and free the array (NULL is fine). */
void cg_tagged_array_free(void *v, size_t n, size_t size, size_t tags_at);

/* ---- displays (headless or graphical) ----------------------------------- */

/* How a machine is reached.  HEADLESS: no <graphics>, no video device, the
 * serial console only.  VNC / SPICE: a display (the serial console stays).
 * DEFAULT means "not chosen here": a launch inherits the image's choice, a
 * change leaves the stored choice alone. */
typedef enum {
    CG_DISPLAY_DEFAULT = 0,
    CG_DISPLAY_HEADLESS,
    CG_DISPLAY_VNC,
    CG_DISPLAY_SPICE,
} cg_display;

/* "default", "headless", "vnc", "spice". */
const char *cg_display_name(cg_display d);
/* Parse one of those names (case-insensitive, "default" excluded): 0 or -1. */
int cg_display_parse(const char *s, cg_display *out);

/* ---- instances -------------------------------------------------------- */

/* The EC2 state codes; CIMI maps from these too. */
typedef enum {
    CG_STATE_PENDING = 0,
    CG_STATE_RUNNING = 16,
    CG_STATE_SHUTTING_DOWN = 32,
    CG_STATE_TERMINATED = 48,
    CG_STATE_STOPPING = 64,
    CG_STATE_STOPPED = 80,
} cg_instance_state;

/* "pending", "running", "shutting-down", "terminated", "stopping", "stopped". */
const char *cg_instance_state_name(cg_instance_state s);

/* What EC2 cannot say but CIMI can: a running domain that is paused
 * (virDomainSuspend; EC2 state stays "running") or a stopped one whose memory
 * is saved (managed save; EC2 "stopped", the next start resumes it). */
typedef enum {
    CG_SUB_NONE = 0,
    CG_SUB_PAUSED,
    CG_SUB_SUSPENDED,
} cg_instance_sub;

/* The instance metadata service's options for one instance (EC2
 * InstanceMetadataOptions).  0 in a field means "not given": a launch takes
 * the default (optional, enabled, hop limit 1), a change leaves it alone. */
enum { CG_MD_TOKENS_OPTIONAL = 1, CG_MD_TOKENS_REQUIRED = 2 };
enum { CG_MD_ENDPOINT_ENABLED = 1, CG_MD_ENDPOINT_DISABLED = 2 };
typedef struct cg_metadata_options {
    int http_tokens;          /* CG_MD_TOKENS_*: REQUIRED = IMDSv2 tokens only */
    int http_endpoint;        /* CG_MD_ENDPOINT_*: DISABLED = the service answers nothing */
    int hop_limit;            /* HttpPutResponseHopLimit, 1..64 */
} cg_metadata_options;

/* Most security groups one instance (its interface) may have, as on EC2. */
#define CG_INSTANCE_GROUPS_MAX 5

typedef struct cg_instance {
    char id[24];             /* "i-" + 17 hex digits; also the libvirt domain name */
    char image_id[24];       /* "ami-" + 17 hex digits */
    char reservation_id[24]; /* "r-" + 17 hex digits */
    char instance_type[64];
    char zone[64];           /* availability zone = libvirt host */
    char key_name[256];      /* "" when launched without a key */
    char client_token[72];   /* "" when none */
    char private_ip[48];     /* "" until the DHCP lease exists */
    char mac[24];
    char state_reason[256];  /* StateTransitionReason, "" when none */
    cg_instance_state state;
    time_t launch_time;
    time_t state_time;       /* when the state last changed */
    unsigned ami_launch_index;
    unsigned vcpus;
    unsigned memory_mib;
    int disable_api_termination;  /* TerminateInstances refused while set */
    cg_instance_sub sub;
    /* The stored display choice (never DEFAULT once launched), and what the
     * running domain has now: they differ after a change made while running
     * (applies at the next start) and during a run-once. */
    cg_display display;
    cg_display display_live;      /* DEFAULT when not running */
    char display_addr[64];        /* running graphical: listen address, else "" */
    int display_port;             /* running graphical: TCP port, else 0 */
    /* Its zone's host is unreachable: state is the last known one (EC2
     * status checks say "impaired"); set by instance_list. */
    int impaired;
    /* Its network: VPC, subnet and the one interface ("eni-" + the id's
     * hex digits); "" when terminated or the driver has no VPCs. */
    char vpc_id[24];
    char subnet_id[32];
    char eni_id[24];
    /* Its security groups (ids and names, n_groups of them); none when
     * terminated or the driver has no security groups. */
    char group_ids[CG_INSTANCE_GROUPS_MAX][32];
    /* Their names (up to 255 characters each), malloc'd like the tags and
     * copied with them: inline arrays were half of the record, for a list
     * that only a listing fills.  NULL past n_groups. */
    char *group_names[CG_INSTANCE_GROUPS_MAX];
    unsigned n_groups;
    cg_metadata_options metadata; /* every field set (defaults when never changed) */
    /* The import job holding it locked (state "pending", every operation
     * refused until the conversion ends), else "". */
    char locked_by[32];
    /* The driver's revision of the record: nonzero, it changes with every
     * change of the fields the driver keeps, and no other record has it
     * (a listing's fragments are keyed by it instead of a hash of those
     * fields).  Not covered: what a listing fills in afterwards (state and
     * sub of a locked instance, locked_by, impaired, vpc_id, subnet_id,
     * eni_id, the groups, metadata, tags).  0: unknown. */
    uint64_t rev;
    cg_tags tags;
} cg_instance;

typedef struct cg_instance_list {
    cg_instance *v;
    size_t n;
} cg_instance_list;

/* Deep copy (tags included).  0 or -1. */
int cg_instance_copy(cg_instance *dst, const cg_instance *src);
void cg_instance_release(cg_instance *inst);
/* A 64-bit hash of every field of inst (with a driver revision, of what
 * it covers and the rest): equal for records a response would show alike,
 * so a frontend can key a rendered fragment by it. */
uint64_t cg_instance_fingerprint(const cg_instance *inst);
/* The mixing steps of that hash, for a frontend adding its own inputs:
 * n bytes at p, and a string with its length (NULL as ""). */
uint64_t cg_hash_bytes(uint64_t h, const void *p, size_t n);
uint64_t cg_hash_str(uint64_t h, const char *s);
/* Append a group (id, name) to inst's; beyond CG_INSTANCE_GROUPS_MAX it is
 * left out.  0, or -1 (OOM). */
int cg_instance_add_group(cg_instance *inst, const char *id, const char *name);
/* Forget inst's groups. */
void cg_instance_clear_groups(cg_instance *inst);
/* Append a deep copy of inst.  0 or -1. */
int cg_instance_list_append(cg_instance_list *list, const cg_instance *inst);
void cg_instance_list_release(cg_instance_list *list);
/* Room for more entries after list->n (list->v may move).  An empty list
 * takes a recycled array when one is big enough.  0 or -1 (OOM). */
int cg_instance_list_reserve(cg_instance_list *list, size_t more);
/* Free the recycled arrays (the gateway calls it when idle). */
void cg_instance_list_pool_trim(void);

/* An empty volume made for each instance of a launch and attached to it
 * (RunInstances BlockDeviceMapping). */
typedef struct cg_launch_disk {
    char device[8];                   /* "vdb".."vdz" */
    int no_device;                    /* NoDevice: the image's mapping of device is
                                       * not made (the rest is ignored) */
    unsigned long long size_bytes;
    int delete_on_termination;
    const cg_tags *tags;              /* NULL (RunInstances' TagSpecification volume) */
    const char *snapshot_id;          /* NULL: empty; else a copy of this snapshot
                                       * (size_bytes 0: the snapshot's) */
} cg_launch_disk;

/* What RunInstances asks for; the frontend has validated shapes and
 * resolved the instance type. */
typedef struct cg_launch_spec {
    const char *image_id;
    const cg_instance_type *type;
    const char *zone;                 /* NULL: the driver picks one */
    unsigned min_count, max_count;    /* 1 <= min <= max */
    const char *key_name;             /* NULL: none */
    const char *public_key;           /* key_name's OpenSSH public key, for the seed */
    const unsigned char *user_data;   /* decoded bytes, stored verbatim; NULL: none */
    size_t user_data_len;
    const char *client_token;         /* NULL: none */
    const cg_tags *tags;              /* NULL or instance tags from TagSpecification */
    cg_display display;               /* DEFAULT: the image's choice */
    const char *display_password;     /* VNC/SPICE password; NULL: none */
    unsigned long long root_size_bytes; /* root disk's virtual size; 0: the image's */
    const cg_launch_disk *disks;      /* extra volumes per instance; all or nothing */
    size_t n_disks;
    /* NULL, or the tags of every volume the launch makes: those of the
     * image's further disks (cg_image_mapping) as well as disks'. */
    const cg_tags *volume_tags;
    const char *subnet_id;            /* NULL: the zone's default subnet; else in zone */
    /* Security groups of the subnet's VPC (checked by the caller); none:
     * the VPC's default group. */
    const char *const *group_ids;
    size_t n_groups;
    cg_metadata_options metadata;     /* MetadataOptions; 0 fields: the defaults */
} cg_launch_spec;

/* ModifyInstanceAttribute: what to change; the rest is left alone. */
typedef struct cg_instance_change {
    const cg_instance_type *type;     /* NULL: unchanged (only while stopped) */
    int set_user_data;                /* 1: replace the user-data (only while stopped) */
    const unsigned char *user_data;
    size_t user_data_len;
    int disable_api_termination;      /* -1: unchanged, else 0 or 1 */
    cg_display display;               /* DEFAULT: unchanged; while running it
                                       * is stored and applies at the next start */
} cg_instance_change;

/* One entry of a Start/Stop/Terminate answer. */
typedef struct cg_state_change {
    char id[24];
    cg_instance_state previous;
    cg_instance_state current;
} cg_state_change;

/* A caller that may answer before a change ends (engine/instance_ops.h)
 * names, for its own thread, what to call once the driver has recorded the
 * change so that it survives a crash (a terminate's intent); NULL: nobody.
 * The driver calls cg_change_recorded() at that point, on the caller's
 * thread.  Per thread rather than in cg_state_change: callers hand that in
 * uninitialized, as the out-parameter it is. */
void cg_change_watch(void (*fn)(void *arg), void *arg);
void cg_change_recorded(void);

/* Disks an imported instance may have: vda (its root) and vdb..vdq as
 * volumes, as many as a conversion reports (engine/v2v.h CG_V2V_MAX_DISKS). */
#define CG_IMPORT_MAX_DISKS 16

/* A locked instance made by an import job (instance_import_begin). */
typedef struct cg_import_instance_spec {
    const char *job_id;       /* the job making it (kept with the lock) */
    const char *zone;         /* NULL: the default zone */
    const char *type_name;    /* recorded as its instance type */
    unsigned vcpus;
    unsigned memory_mib;
    cg_display display;       /* DEFAULT: the gateway's default */
    const cg_tags *tags;      /* NULL or its tags (Name) */
} cg_import_instance_spec;

/* ---- images (templates) ------------------------------------------------ */

/* What libguestfs inspection found on a template's disks (engine/guest.c). */
typedef struct cg_os_info {
    char type[16];            /* "linux", "windows", ... or "" when not inspected */
    char distro[32];          /* "debian", "fedora", "windows", ... or "unknown" */
    char version[16];         /* "12", "9.2" ("" when unknown) */
    char arch[16];            /* "x86_64", "aarch64", ... */
    char product[128];        /* the product name, e.g. "Debian GNU/Linux 12 (bookworm)" */
    int cloud_init;           /* 1 installed, 0 not, -1 not known */
} cg_os_info;

/* A further disk of an image (an EC2 AMI's block device mapping beyond the
 * root): each instance launched from it gets a volume made from this. */
typedef struct cg_image_mapping {
    char device[8];                /* "vdb".."vdz" */
    char snapshot_id[24];          /* a copy of this snapshot, or "": an empty volume */
    unsigned long long size_bytes; /* at least the snapshot's (0: the snapshot's) */
    int delete_on_termination;
} cg_image_mapping;

typedef struct cg_image {
    char id[24];              /* "ami-" + 17 hex digits */
    char *name;
    char *description;        /* may be NULL */
    char *volume;             /* storage volume name in the zone's pool */
    char *kernel;             /* direct kernel boot, NULL: boot from the disk */
    char *initrd;
    char *cmdline;
    char architecture[16];    /* "x86_64" */
    char state[16];           /* "available", "pending", "failed" */
    char seed_format[16];     /* cloud-init seed: "nocloud" or "configdrive" */
    cg_display display;       /* default for machines made from it (never DEFAULT) */
    char source_instance[24]; /* captured from this instance, "" when registered */
    time_t created;
    unsigned long long size_bytes;
    cg_os_info os;            /* type "" until inspected */
    char state_reason[256];   /* why "failed", else "" */
    char job_id[32];          /* the job making it while "pending", else "" */
    int is_public;            /* launch permission group "all" (EC2 isPublic) */
    char *launch_users;       /* launch permission account ids, sorted, space-separated;
                               * NULL when none */
    time_t last_launched;     /* the latest instance launched from it, 0: never */
    char root_snapshot[24];   /* the snapshot of its root disk (EC2 Ebs.SnapshotId), or "" */
    char zone[64];            /* "": every zone holds its disk; else the only one that does
                               * (registered from a snapshot: launches go there) */
    cg_image_mapping *mappings; /* its further disks, by device (malloc'd) */
    size_t n_mappings;
    cg_tags tags;
} cg_image;

/* ModifyImageAttribute / ResetImageAttribute: what to change, the rest is
 * left alone.  Users are account ids (12 digits, checked by the caller). */
typedef struct cg_image_change {
    const char *description;          /* NULL: unchanged; "" clears it */
    int set_public;                   /* -1: unchanged, else 0 or 1 */
    int reset_launch;                 /* 1: no users, not public (applied first) */
    const char *const *add_users;
    size_t n_add_users;
    const char *const *remove_users;
    size_t n_remove_users;
} cg_image_change;

typedef struct cg_image_list {
    cg_image *v;
    size_t n;
} cg_image_list;

/* What an admin registers as a template: a disk (uploaded into each zone's
 * pool, or a volume already there) and how to boot it. */
typedef struct cg_image_spec {
    const char *name;
    const char *description;  /* NULL */
    const char *disk_path;    /* local qcow2 or raw file to upload into the pool, or */
    const char *volume;       /* an existing volume in the pool to adopt (disk_path NULL) */
    const char *kernel;       /* NULL: boot from disk */
    const char *initrd;
    const char *cmdline;
    const char *seed_format;  /* "nocloud" (NULL) or "configdrive" */
    cg_display display;       /* DEFAULT: the gateway's default_display */
    /* Or (disk_path and volume NULL) the disk of a completed snapshot, used
     * in place (EC2 RegisterImage): the snapshot is in use until the image
     * is deregistered, and the image launches in the snapshot's zone. */
    const char *snapshot_id;
    unsigned long long size_bytes; /* with snapshot_id: the root size, at least the
                                    * snapshot's (0: the snapshot's) */
    /* With snapshot_id: further disks, their snapshots completed and in the
     * root snapshot's zone. */
    const cg_image_mapping *mappings;
    size_t n_mappings;
    const char *architecture; /* NULL: "x86_64" */
    const cg_tags *tags;      /* NULL */
} cg_image_spec;

/* Capture an instance's disk as a new image (CIMI capture, EC2 CreateImage). */
typedef struct cg_capture_spec {
    const char *instance_id;
    const char *name;
    const char *description;  /* NULL */
    const char *image_id;     /* image_capture: the pending image (image_create_pending) */
    int seal;                 /* core: virt-sysprep before it becomes available */
    cg_display display;       /* DEFAULT: the gateway's default */
    const cg_tags *tags;      /* NULL */
    const char *const *skip_devices; /* core: attached volumes left out ("vdb"), NULL */
    size_t n_skip;
    /* image_capture: the image's further disks, snapshots the job made of
     * the attached volumes (they stay the job's to remove on failure) */
    const cg_image_mapping *mappings;
    size_t n_mappings;
} cg_capture_spec;

/* A template being made by a job: a row in state "pending" (not launchable)
 * until image_publish.  Its disk arrives through a disk sink or a capture. */
typedef struct cg_pending_image_spec {
    const char *name;
    const char *description;  /* NULL */
    const char *job_id;       /* the job that makes it ("" / NULL: none) */
    const char *source_instance; /* captured from, NULL */
    cg_display display;       /* DEFAULT: the gateway's default */
    const cg_tags *tags;      /* NULL */
} cg_pending_image_spec;

/* Where a disk sink writes: a pending template's disk (image_id set) or a
 * new volume (EC2/CIMI volume, image_id NULL). */
typedef struct cg_sink_spec {
    const char *image_id;     /* the pending image, or NULL for a volume */
    const char *device;       /* with image_id: the image's further disk ("vdb"), stored
                               * as a completed snapshot; NULL: its root disk */
    const char *zone;         /* volume: NULL = the first available zone */
    const char *format;       /* "qcow2" or "raw": what the bytes are (checked by the core) */
    unsigned long long virtual_size;  /* the disk as the guest sees it */
    unsigned long long length;        /* bytes that will be written (the file's size) */
    const char *name;         /* volume: NULL */
    const char *description;  /* volume: NULL */
    const cg_tags *tags;      /* volume: NULL */
} cg_sink_spec;

typedef struct cg_disk_sink cg_disk_sink;

/* Local files holding a template's disk (for libguestfs and virt-sysprep). */
typedef struct cg_disk_paths {
    char **path;
    char **format;
    size_t n;
} cg_disk_paths;
void cg_disk_paths_release(cg_disk_paths *p);

void cg_image_release(cg_image *img);
int cg_image_copy(cg_image *dst, const cg_image *src);
/* img's further disk on device ("vdb"), or NULL. */
const cg_image_mapping *cg_image_mapping_find(const cg_image *img, const char *device);
void cg_image_list_release(cg_image_list *list);

/* ---- volumes (extra disks) ---------------------------------------------- */

typedef struct cg_volume {
    char id[24];              /* "vol-" + 17 hex digits; also the storage volume's name stem */
    char *name;               /* may be NULL */
    char *description;        /* may be NULL */
    char zone[64];
    char state[16];           /* "available", "in-use" */
    char format[16];          /* "qcow2" or "raw" */
    unsigned long long size_bytes;
    char attached_to[24];     /* instance id, "" when available */
    char device[16];          /* guest target ("vdb"), "" when available */
    char snapshot_id[24];     /* made from this snapshot, "" when empty at creation */
    int delete_on_termination; /* attached: deleted with its instance */
    time_t created;
    cg_tags tags;
} cg_volume;

typedef struct cg_volume_list {
    cg_volume *v;
    size_t n;
} cg_volume_list;

typedef struct cg_volume_spec {
    const char *name;         /* NULL */
    const char *description;  /* NULL */
    const char *zone;         /* NULL: the first available zone */
    unsigned long long size_bytes;  /* > 0; rounded up to a MiB */
    const char *format;       /* NULL: "qcow2" */
    const cg_tags *tags;      /* NULL */
    const char *snapshot_id;  /* NULL: empty; else a copy of this completed snapshot
                               * (size_bytes 0: the snapshot's; smaller: CG_ERR_INVALID) */
    const char *instance_id;  /* recorded as attached to it (a launch's disk); NULL: none */
    const char *device;       /* with instance_id: its target ("vdb") */
    int delete_on_termination; /* with instance_id */
} cg_volume_spec;

void cg_volume_release(cg_volume *vol);
int cg_volume_copy(cg_volume *dst, const cg_volume *src);
void cg_volume_list_release(cg_volume_list *list);

/* ---- snapshots (point-in-time copies of a volume or a root disk) ------- */

typedef struct cg_snapshot {
    char id[24];              /* "snap-" + 17 hex digits; also the storage volume's name stem */
    char volume_id[24];       /* the source: "vol-..." or, for a root disk, "i-..." */
    char zone[64];
    char state[16];           /* "pending", "completed", "error" */
    int progress;             /* 0..100 */
    unsigned long long size_bytes;  /* the source's virtual size */
    time_t started;
    char *description;        /* may be NULL */
    char owner[32];           /* the account id */
    char image_id[24];        /* an image using it ("" none: DeleteSnapshot allowed) */
    char copy_of[24];         /* CopySnapshot: the source snapshot, else "" */
    char job_id[32];          /* the job making it while pending, else "" */
    int encrypted;            /* always 0 */
    cg_tags tags;
} cg_snapshot;

typedef struct cg_snapshot_list {
    cg_snapshot *v;
    size_t n;
} cg_snapshot_list;

/* What CreateSnapshot / CopySnapshot ask for. */
typedef struct cg_snapshot_spec {
    const char *source_id;    /* "vol-..." , "i-..." (its root disk) or "snap-..." (a copy) */
    const char *description;  /* NULL */
    const char *job_id;       /* the job that copies the bytes, NULL: none */
    const cg_tags *tags;      /* NULL */
} cg_snapshot_spec;

/* Called by snapshot_copy as bytes are copied: done of total (bytes). */
typedef void (*cg_progress_fn)(unsigned long long done, unsigned long long total, void *arg);
/* Polled by snapshot_copy: 1 stops the copy (then it fails with CG_ERR_STATE). */
typedef int (*cg_cancelled_fn)(void *arg);

void cg_snapshot_release(cg_snapshot *snap);
int cg_snapshot_copy(cg_snapshot *dst, const cg_snapshot *src);
void cg_snapshot_list_release(cg_snapshot_list *list);
/* One size change of a volume (EC2 ModifyVolume). */
typedef struct cg_volume_mod {
    char volume_id[24];
    char state[16];           /* "modifying", "completed", "failed" */
    unsigned long long original_bytes, target_bytes;
    time_t start, end;        /* end 0 while modifying */
    char message[160];        /* why it failed, else "" */
} cg_volume_mod;

typedef struct cg_volume_mod_list {
    cg_volume_mod *v;         /* plain structs: free(v) releases the list */
    size_t n;
} cg_volume_mod_list;

/* ---- zones (libvirt hosts) --------------------------------------------- */

typedef struct cg_zone {
    char name[64];
    char state[16];           /* "available" or "unavailable" (host unreachable) */
} cg_zone;

typedef struct cg_zone_list {
    cg_zone *v;
    size_t n;
} cg_zone_list;

void cg_zone_list_release(cg_zone_list *list);

/* ---- VPCs and subnets (libvirt networks; drivers/net_types.c) ---------- */

/* An IPv4 block: addr is the network address (host order), prefix 0..32. */
typedef struct cg_cidr {
    unsigned addr;
    unsigned prefix;
} cg_cidr;

/* Parse "a.b.c.d/n" (strict: four decimal octets, no host bits set).
 * 0 or -1 (nothing reported: callers choose the AWS error). */
int cg_cidr_parse(const char *s, cg_cidr *out);
/* "a.b.c.d/n" into buf. */
void cg_cidr_format(const cg_cidr *c, char *buf, size_t len);
/* 1 when inner lies wholly inside outer; 1 when a and b share an address. */
int cg_cidr_contains(const cg_cidr *outer, const cg_cidr *inner);
int cg_cidr_overlap(const cg_cidr *a, const cg_cidr *b);

typedef struct cg_vpc {
    char id[24];              /* "vpc-" + 17 hex digits */
    char cidr[48];            /* "" when its network cannot be read now */
    char network[256];        /* the libvirt network (in every zone) */
    char state[16];           /* "available" */
    int is_default;           /* the configured instance network */
    cg_tags tags;
} cg_vpc;

typedef struct cg_vpc_list {
    cg_vpc *v;
    size_t n;
} cg_vpc_list;

typedef struct cg_subnet {
    char id[32];              /* "subnet-" + 17 hex digits */
    char vpc_id[24];
    char cidr[48];            /* "" when its network cannot be read now */
    char zone[64];
    char state[16];           /* "available" */
    int default_for_az;
    unsigned long long available_ips; /* AWS's count: size - 5 - addresses in use */
    cg_tags tags;
} cg_subnet;

typedef struct cg_subnet_list {
    cg_subnet *v;
    size_t n;
} cg_subnet_list;

typedef struct cg_subnet_spec {
    const char *vpc_id;
    const char *cidr;         /* checked by cg_cidr_parse */
    const char *zone;         /* NULL: the first reachable zone */
    const cg_tags *tags;      /* NULL */
} cg_subnet_spec;

void cg_vpc_list_release(cg_vpc_list *list);
void cg_subnet_list_release(cg_subnet_list *list);

/* ---- security groups (drivers/sg_types.c; enforced by libvirt nwfilter) -- */

/* One rule of a group: ingress (egress 0) or egress.  Its source (ingress)
 * or destination (egress) is cidr or, when cidr is "", the members of
 * group.  Ports are -1 for protocol "-1"; for "icmp" they are type/code. */
typedef struct cg_sg_rule {
    char id[32];              /* "sgr-" + 17 hex digits */
    int egress;
    char protocol[8];         /* "tcp", "udp", "icmp" or "-1" (all) */
    int from_port, to_port;
    char cidr[48];            /* "" when group is set */
    char group[32];           /* "sg-..." or "" */
    char description[256];
    cg_tags tags;
} cg_sg_rule;

typedef struct cg_sg {
    char id[32];              /* "sg-" + 17 hex digits */
    char vpc_id[24];
    char name[256];
    char description[256];
    int is_default;           /* the VPC's "default" group */
    cg_sg_rule *rules;
    size_t n_rules;
    cg_tags tags;
} cg_sg;

typedef struct cg_sg_list {
    cg_sg *v;
    size_t n;
} cg_sg_list;

void cg_sg_release(cg_sg *sg);
void cg_sg_list_release(cg_sg_list *list);

/* ---- the table ---------------------------------------------------------- */

typedef struct cg_drv cg_drv;   /* a driver's private state */

typedef struct cg_driver {
    const char *name;

    /* Connect to every configured zone; start event handling. Mandatory. */
    cg_drv *(*open)(const cg_config *cfg, cg_error *err);
    /* Stop event handling and disconnect. Mandatory. Accepts NULL. */
    void (*close)(cg_drv *drv);

    /* The one exception to "may block": DescribeAvailabilityZones calls it
     * on the HTTP loop thread, so it reads in-memory state only. */
    int (*zone_list)(cg_drv *drv, cg_zone_list *out, cg_error *err);

    int (*image_list)(cg_drv *drv, cg_image_list *out, cg_error *err);
    int (*image_register)(cg_drv *drv, const cg_image_spec *spec, cg_image *out, cg_error *err);
    /* Refused (CG_ERR_STATE) while pending or while instances that are not
     * terminated use it (their disks are overlays on its volume). */
    int (*image_deregister)(cg_drv *drv, const char *image_id, cg_error *err);
    /* image_deregister, and the snapshot recorded for the image (whose
     * bytes are its disk) goes too, as a template's disks do in oVirt:
     * CIMI, which has no snapshots to delete it by.  A snapshot the user
     * made and registered stays. */
    int (*image_delete)(cg_drv *drv, const char *image_id, cg_error *err);
    /* Change the description and launch permissions (cg_image_change);
     * out (may be NULL) gets the image as stored afterwards. */
    int (*image_modify)(cg_drv *drv, const char *image_id, const cg_image_change *chg,
                        cg_image *out, cg_error *err);

    /* All instances, terminated ones still retained included.  Served from
     * the event-maintained cache: no libvirt round trip per instance. */
    int (*instance_list)(cg_drv *drv, cg_instance_list *out, cg_error *err);
    /* A number that moves (up) whenever instance_list's answer, or
     * volume_list's (the volumes attached show in a DescribeInstances), may
     * differ from the last one: a listing made after reading version v
     * serves any request that read v or less (engine/instance_view.h).
     * Cheap: no copy, no libvirt call.  Optional: without it, every request
     * lists. */
    uint64_t (*instances_version)(cg_drv *drv);
    /* Launch between min_count and max_count instances: validate, reserve
     * and record them and return them pending; each is then made and
     * started apart (libvirt: the zone's launch workers).  One that fails
     * ends terminated with a "Server.InternalError: ..." reason and leaves
     * no domain or volume behind.  With a client_token already used,
     * returns the earlier reservation (in the states its instances have). */
    int (*instance_run)(cg_drv *drv, const cg_launch_spec *spec, cg_instance_list *out,
                        cg_error *err);
    int (*instance_start)(cg_drv *drv, const char *id, cg_state_change *chg, cg_error *err);
    /* Graceful shutdown, powered off after stop_timeout; force: power off now. */
    int (*instance_stop)(cg_drv *drv, const char *id, int force, cg_state_change *chg,
                         cg_error *err);
    int (*instance_reboot)(cg_drv *drv, const char *id, cg_error *err);
    int (*instance_terminate)(cg_drv *drv, const char *id, cg_state_change *chg, cg_error *err);
    /* The user-data stored at launch (malloc'd into *data, may be empty). */
    int (*instance_user_data)(cg_drv *drv, const char *id, unsigned char **data, size_t *len,
                              cg_error *err);
    /* Change attributes.  Type and user-data only while stopped (else
     * CG_ERR_STATE); a new user-data rebuilds the cloud-init seed. */
    int (*instance_modify)(cg_drv *drv, const char *id, const cg_instance_change *chg,
                           cg_error *err);
    /* The serial console log's last max_bytes (malloc'd into *data), also
     * for stopped instances; *when: the log's last change. */
    int (*instance_console)(cg_drv *drv, const char *id, size_t max_bytes, unsigned char **data,
                            size_t *len, time_t *when, cg_error *err);

    /* Start once with display (VNC/SPICE on a headless instance, HEADLESS
     * on a graphical one) without changing the stored choice: the next
     * ordinary start uses it again.  Only from stopped (else CG_ERR_STATE). */
    int (*instance_run_once)(cg_drv *drv, const char *id, cg_display display,
                             cg_state_change *chg, cg_error *err);
    /* Pause a running instance (sub = PAUSED); instance_start resumes it. */
    int (*instance_pause)(cg_drv *drv, const char *id, cg_error *err);
    /* Save a running (or paused) instance's memory and stop it (managed save;
     * sub = SUSPENDED, state stopped); instance_start restores it. */
    int (*instance_suspend)(cg_drv *drv, const char *id, cg_error *err);
    /* A screenshot of a running graphical instance (virDomainScreenshot):
     * image bytes in *data (malloc'd), its MIME type in mime.  Headless:
     * CG_ERR_UNSUPPORTED; not running: CG_ERR_STATE. */
    int (*instance_screenshot)(cg_drv *drv, const char *id, unsigned char **data, size_t *len,
                               char *mime, size_t mime_len, cg_error *err);

    /* Copy the instance's disk into the pending image spec->image_id, in
     * the instance's zone (image_publish copies it to the others).  A
     * running instance is paused for the copy and resumed.  On failure the
     * copy is removed; the pending row stays for the caller to delete. */
    int (*image_capture)(cg_drv *drv, const cg_capture_spec *spec, cg_image *out,
                         cg_error *err);
    /* Record a new image in state "pending" (name checked unique: CG_ERR_CONFLICT). */
    int (*image_create_pending)(cg_drv *drv, const cg_pending_image_spec *spec, cg_image *out,
                                cg_error *err);
    /* Stream a disk into a new volume: open creates it (recorded, so a
     * crash leaves nothing: start-up removes it), write appends, finish
     * completes it (a template's disk; a template's further disk, recorded
     * as a completed snapshot and the image's mapping; or a volume row;
     * out_volume_id gets the volume's or snapshot's id, may be NULL) and
     * frees the sink; abort deletes what
     * was written and frees the sink. */
    int (*disk_sink_open)(cg_drv *drv, const cg_sink_spec *spec, cg_disk_sink **out,
                          cg_error *err);
    int (*disk_sink_write)(cg_drv *drv, cg_disk_sink *sink, const void *buf, size_t len,
                           cg_error *err);
    int (*disk_sink_finish)(cg_drv *drv, cg_disk_sink *sink, char *out_volume_id, size_t len,
                            cg_error *err);
    void (*disk_sink_abort)(cg_drv *drv, cg_disk_sink *sink);
    /* Local paths of a pending or available image's disk(s) in a zone whose
     * storage this process can open.  CG_ERR_UNSUPPORTED when none (test://). */
    int (*image_disk_paths)(cg_drv *drv, const char *image_id, cg_disk_paths *out,
                            cg_error *err);
    /* The target directory of the first local zone's storage pool, where a
     * job may stage large files on the pool's own filesystem (virt-v2v).
     * CG_ERR_UNSUPPORTED when no zone has a local directory pool. */
    int (*pool_local_dir)(cg_drv *drv, char *out, size_t len, cg_error *err);
    /* Store what inspection found (NULL: nothing). */
    int (*image_set_os)(cg_drv *drv, const char *image_id, const cg_os_info *os, cg_error *err);
    /* Finish a pending image: copy its disk to every other zone and make it
     * "available".  On failure the copies are removed; it stays pending. */
    int (*image_publish)(cg_drv *drv, const char *image_id, cg_error *err);
    /* Remove a pending image and its disks in every zone (a failed,
     * cancelled or interrupted job's rollback; image_deregister refuses
     * pending images with CG_ERR_STATE). */
    int (*image_discard)(cg_drv *drv, const char *image_id, cg_error *err);
    /* Change an image's display default (DEFAULT: no change). */
    int (*image_set_display)(cg_drv *drv, const char *image_id, cg_display display,
                             cg_error *err);

    int (*volume_list)(cg_drv *drv, cg_volume_list *out, cg_error *err);
    /* An empty volume in the zone's pool; rolled back on failure. */
    int (*volume_create)(cg_drv *drv, const cg_volume_spec *spec, cg_volume *out, cg_error *err);
    /* Only while available (in-use: CG_ERR_STATE). */
    int (*volume_delete)(cg_drv *drv, const char *volume_id, cg_error *err);
    /* Attach to an instance in the same zone: hot-plugged when running
     * (virDomainAttachDeviceFlags LIVE|CONFIG), else into the definition.
     * device NULL: the next free vdX.  out gets the volume as it is now. */
    int (*volume_attach)(cg_drv *drv, const char *volume_id, const char *instance_id,
                         const char *device, cg_volume *out, cg_error *err);
    int (*volume_detach)(cg_drv *drv, const char *volume_id, cg_volume *out, cg_error *err);
    /* Grow to size_bytes (more than now, else CG_ERR_INVALID; one change at
     * a time, else CG_ERR_STATE), online when attached to a running
     * instance.  out gets the recorded modification. */
    int (*volume_modify)(cg_drv *drv, const char *volume_id, unsigned long long size_bytes,
                         cg_volume_mod *out, cg_error *err);
    /* Every recorded modification, oldest first. */
    int (*volume_mod_list)(cg_drv *drv, cg_volume_mod_list *out, cg_error *err);
    /* Set the DeleteOnTermination flag of the volume attached to instance_id
     * as device ("vdb"); CG_ERR_NOT_FOUND when none is. */
    int (*volume_set_delete_on_termination)(cg_drv *drv, const char *instance_id,
                                            const char *device, int flag, cg_error *err);

    /* All snapshots, oldest first. */
    int (*snapshot_list)(cg_drv *drv, cg_snapshot_list *out, cg_error *err);
    /* Record a snapshot "pending" (progress 0) of spec->source_id, which
     * must exist (CG_ERR_NOT_FOUND; a source snapshot must be completed,
     * else CG_ERR_STATE).  No bytes yet: snapshot_copy makes them. */
    int (*snapshot_create_pending)(cg_drv *drv, const cg_snapshot_spec *spec, cg_snapshot *out,
                                   cg_error *err);
    /* The copy of a pending snapshot (runs in its job): a point-in-time,
     * crash-consistent copy of the source into the standalone volume
     * "<snap-id>.qcow2" of the zone's pool, without pausing a running guest
     * (libvirt push-mode backup); then "completed".  On failure or cancel
     * the partial volume is removed; the row stays for snapshot_delete. */
    int (*snapshot_copy)(cg_drv *drv, const char *snapshot_id, cg_progress_fn progress,
                         cg_cancelled_fn cancelled, void *arg, cg_error *err);
    /* Remove a snapshot and its volume.  An image using it is CG_ERR_CONFLICT;
     * a pending one CG_ERR_STATE unless force (a job's rollback). */
    int (*snapshot_delete)(cg_drv *drv, const char *snapshot_id, int force, cg_error *err);

    /* VPCs: the default one (the configured network) and those made by
     * vpc_create, a new isolated libvirt network in every zone, started;
     * all or nothing.  vpc_delete: the default one is CG_ERR_FORBIDDEN, one
     * with subnets CG_ERR_CONFLICT. */
    int (*vpc_list)(cg_drv *drv, cg_vpc_list *out, cg_error *err);
    int (*vpc_create)(cg_drv *drv, const char *cidr, const cg_tags *tags, cg_vpc *out,
                      cg_error *err);
    int (*vpc_delete)(cg_drv *drv, const char *vpc_id, cg_error *err);
    /* Subnets: a default one per zone in the default VPC, and those made by
     * subnet_create, a DHCP range added live to the VPC's network.  Outside
     * the VPC's block: CG_ERR_INVALID; overlapping another: CG_ERR_CONFLICT;
     * unknown VPC: CG_ERR_NOT_FOUND.  subnet_delete: default ones are
     * CG_ERR_FORBIDDEN, ones instances use CG_ERR_CONFLICT. */
    int (*subnet_list)(cg_drv *drv, cg_subnet_list *out, cg_error *err);
    int (*subnet_create)(cg_drv *drv, const cg_subnet_spec *spec, cg_subnet *out,
                         cg_error *err);
    int (*subnet_delete)(cg_drv *drv, const char *subnet_id, cg_error *err);

    /* Security groups: every VPC has its "default" group (members reach
     * each other, all egress), made when first listed.  sg_create: a name
     * taken in the VPC is CG_ERR_CONFLICT, an unknown VPC CG_ERR_NOT_FOUND;
     * the group gets AWS's default egress rule.  sg_delete: the default
     * group is CG_ERR_FORBIDDEN; one an instance or another group's rule
     * uses is CG_ERR_CONFLICT.  sg_rules_change adds (revoke 0) or removes
     * rules[0..n) of one direction, all or nothing: on add a rule already
     * there is CG_ERR_CONFLICT, on revoke a rule not there CG_ERR_NOT_FOUND.
     * Each change redefines the group's nwfilter in every zone. */
    int (*sg_list)(cg_drv *drv, cg_sg_list *out, cg_error *err);
    int (*sg_create)(cg_drv *drv, const cg_sg *spec, cg_sg *out, cg_error *err);
    int (*sg_delete)(cg_drv *drv, const char *group_id, cg_error *err);
    int (*sg_rules_change)(cg_drv *drv, const char *group_id, int revoke,
                           const cg_sg_rule *rules, size_t n, cg_error *err);
    /* Replace a live instance's groups (1..CG_INSTANCE_GROUPS_MAX of its
     * VPC, checked by the caller), applied to its running NIC.  Unknown
     * instance or group: CG_ERR_NOT_FOUND. */
    int (*instance_set_groups)(cg_drv *drv, const char *instance_id,
                               const char *const *group_ids, size_t n, cg_error *err);

    /* An instance made by a job (a virt-v2v import): begin defines it
     * locked (shown "pending", every instance operation refused with
     * CG_ERR_STATE until finish), adopt moves the n converted disk files (in
     * the pool's directory; 1..CG_IMPORT_MAX_DISKS) in: the first as its
     * root volume, each further one as a volume attached as vdb, vdc, ...
     * with DeleteOnTermination; finish unlocks it and starts it (start 1),
     * drop removes domain, volumes, log and lock, whatever exists of them
     * (the undo and recovery path). */
    int (*instance_import_begin)(cg_drv *drv, const cg_import_instance_spec *spec,
                                 cg_instance *out, cg_error *err);
    int (*instance_import_adopt)(cg_drv *drv, const char *id, const char *const *disks, size_t n,
                                 cg_error *err);
    int (*instance_import_finish)(cg_drv *drv, const char *id, int start, cg_error *err);
    void (*instance_import_drop)(cg_drv *drv, const char *id);
    /* An external provider's VM before an import converts it: it exists
     * (CG_ERR_NOT_FOUND), is shut off (CG_ERR_STATE) and has a disk, at
     * most CG_IMPORT_MAX_DISKS (CG_ERR_INVALID: a template keeps the further
     * ones as snapshots, an instance as volumes); its vCPUs and memory (MiB)
     * into the pointers. */
    int (*v2v_vm_check)(cg_drv *drv, const struct cg_provider *p, const char *vm, unsigned *vcpus,
                        unsigned *memory_mib, cg_error *err);

    /* ModifyInstanceMetadataOptions: apply chg (0 fields unchanged) to a
     * non-terminated instance; out gets every option as now stored. */
    int (*instance_metadata_options)(cg_drv *drv, const char *instance_id,
                                     const cg_metadata_options *chg, cg_metadata_options *out,
                                     cg_error *err);
    /* Tags on an instance ("i-..."), image ("ami-...") or snapshot ("snap-..."). */
    int (*tags_set)(cg_drv *drv, const char *resource_id, const cg_tags *tags, cg_error *err);
    /* Remove keys; a NULL value removes the key whatever its value. */
    int (*tags_delete)(cg_drv *drv, const char *resource_id, const cg_tags *tags,
                       cg_error *err);
} cg_driver;

/* Report that op is not implemented by this driver; returns -1. */
int cg_driver_unsupported(cg_error *err, const char *op);

/* Call an optional driver operation: CG_DRV_CALL(d, drv, instance_stop, err, id, 0, &chg) */
#define CG_DRV_CALL(table, drv, op, err, ...)                                   \
    ((table)->op ? (table)->op((drv), __VA_ARGS__, (err))                        \
                 : cg_driver_unsupported((err), #op))

/* The libvirt driver (drivers/libvirt/lv_driver.c). */
extern const cg_driver lv_driver;

#endif
