/* cloudgate fuzz target: how RunInstances, RegisterImage and CreateImage
 * map their parameters (BlockDeviceMapping.N.*, TagSpecification.N.*,
 * NetworkInterface.N.*, SecurityGroup*.N, Placement, MetadataOptions.*,
 * UserData, cloudgate:display / cloudgate:seal) into the specs handed to
 * the driver: the handlers themselves (frontends/ec2/ec2_instances.c,
 * ec2_launch_disks.c, ec2_images.c), on an in-memory driver with two
 * zones, three images (one with further disks, one pinned to a zone), four
 * snapshots, a VPC with a subnet and two security groups.
 *
 * Input: the action ("RunInstances", "RegisterImage" or "CreateImage"), a
 * newline, then a form-encoded parameter string.  CreateImage always runs
 * with DryRun (past its checks it would start the engine's capture job);
 * no key-pair store is open (KeyName answers InternalError).
 * Checks: the handler either answers a document or reports one error; a
 * DryRun never reaches the driver's instance_run / image_register; a spec
 * that does reach them keeps every rule the frontend promises the driver
 * (counts, zones, devices vdb..vdz once each, whole GiB within 16 TiB,
 * snapshots completed and in the launch's zone, sizes at least the
 * image's and the snapshot's, groups known and distinct, no reserved tag). */
#include "fuzz.h"
#include "frontends/ec2/ec2_internal.h"
#include "gateway/params.h"

#define GIB (1024ULL * 1024ULL * 1024ULL)
#define AMI "ami-0a1b2c3d4e5f60718"       /* further disks vdb (empty) and vdc (SNAP_A) */
#define AMI_ZONED "ami-0b1b2c3d4e5f60718" /* registered from a snapshot: cloudgate-a only */
#define AMI_PENDING "ami-12345678"
#define SNAP_A "snap-0aaaaaaaaaaaaaaaa" /* completed, cloudgate-a, 1.5 GiB */
#define SNAP_B "snap-0bbbbbbbbbbbbbbbb" /* completed, cloudgate-b, 1 GiB */
#define SNAP_PENDING "snap-0cccccccccccccccc"
#define SNAP_USED "snap-0dddddddddddddddd" /* the root of AMI_ZONED */
#define VPC "vpc-0aaaaaaaaaaaaaaaa"
#define SUBNET "subnet-0aaaaaaaaaaaaaaaa" /* in cloudgate-b */
#define INSTANCE "i-0aaaaaaaaaaaaaaaa"

struct cg_drv {
    int calls; /* instance_run / image_register reached */
};

static cg_zone_config zones[] = {{"cloudgate-a", "test:///default"},
                                 {"cloudgate-b", "test:///default"}};
static cg_instance_type types[] = {{"t2.micro", 1, 1024}, {"m1.small", 1, 2048}};
static const cg_image_mapping ami_disks[] = {{"vdb", "", GIB, 1}, {"vdc", SNAP_A, 0, 0}};
static const cg_image images[] = {
    {.id = AMI,
     .name = "debian-12",
     .volume = "debian-12",
     .architecture = "x86_64",
     .state = "available",
     .size_bytes = 2 * GIB,
     .mappings = (cg_image_mapping *)ami_disks,
     .n_mappings = 2},
    {.id = AMI_ZONED,
     .name = "from-snap",
     .volume = "snap",
     .architecture = "x86_64",
     .state = "available",
     .size_bytes = 3 * GIB,
     .root_snapshot = SNAP_USED,
     .zone = "cloudgate-a"},
    {.id = AMI_PENDING,
     .name = "cirros",
     .volume = "cirros",
     .architecture = "x86_64",
     .state = "pending"},
};
static const cg_snapshot snapshots[] = {
    {.id = SNAP_A, .zone = "cloudgate-a", .state = "completed", .size_bytes = 3 * GIB / 2},
    {.id = SNAP_B, .zone = "cloudgate-b", .state = "completed", .size_bytes = GIB},
    {.id = SNAP_PENDING, .zone = "cloudgate-a", .state = "pending", .size_bytes = GIB},
    {.id = SNAP_USED,
     .zone = "cloudgate-a",
     .state = "completed",
     .size_bytes = GIB,
     .image_id = AMI_ZONED},
};
static const cg_sg groups[] = {
    {.id = "sg-0aaaaaaaaaaaaaaaa", .vpc_id = VPC, .name = "default", .is_default = 1},
    {.id = "sg-0bbbbbbbbbbbbbbbb", .vpc_id = VPC, .name = "web"},
};
static const cg_vpc vpcs[] = {
    {.id = VPC, .cidr = "10.20.0.0/16", .state = "available", .is_default = 1},
};
static const cg_subnet subnets[] = {
    {.id = SUBNET,
     .vpc_id = VPC,
     .cidr = "10.20.1.0/24",
     .zone = "cloudgate-b",
     .state = "available"},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int oom(cg_error *err)
{
    cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
    return -1;
}

/* out (a cg_*_list) := a malloc'd copy of the records of array a, which
 * own no memory (no description, no tags): a struct copy is a deep copy. */
#define COPY_LIST(out, a, err)                                                                     \
    (((out)->v = calloc(N_OF(a), sizeof(a[0])))                                                    \
         ? (memcpy((out)->v, a, sizeof(a)), (out)->n = N_OF(a), 0)                                 \
         : oom(err))

static int fake_image_list(cg_drv *d, cg_image_list *out, cg_error *err)
{
    if (!(out->v = calloc(N_OF(images), sizeof(*out->v))))
        return oom(err);
    for (out->n = 0; out->n < N_OF(images); out->n++)
        if (cg_image_copy(&out->v[out->n], &images[out->n]) < 0)
            return oom(err);
    return 0;
}

static int fake_snapshot_list(cg_drv *d, cg_snapshot_list *out, cg_error *err)
{
    return COPY_LIST(out, snapshots, err);
}

static int fake_instance_list(cg_drv *d, cg_instance_list *out, cg_error *err)
{
    cg_instance inst = {
        .id = INSTANCE, .image_id = AMI, .state = CG_STATE_RUNNING, .zone = "cloudgate-a"};

    return cg_instance_list_append(out, &inst) < 0 ? oom(err) : 0;
}

static int fake_vpc_list(cg_drv *d, cg_vpc_list *out, cg_error *err)
{
    return COPY_LIST(out, vpcs, err);
}

static int fake_subnet_list(cg_drv *d, cg_subnet_list *out, cg_error *err)
{
    return COPY_LIST(out, subnets, err);
}

static int fake_sg_list(cg_drv *d, cg_sg_list *out, cg_error *err)
{
    return COPY_LIST(out, groups, err);
}

static const cg_image *image_named(const char *id)
{
    for (size_t i = 0; id && i < N_OF(images); i++)
        if (strcmp(images[i].id, id) == 0)
            return &images[i];
    return NULL;
}

static const cg_snapshot *snapshot_named(const char *id)
{
    for (size_t i = 0; id && i < N_OF(snapshots); i++)
        if (strcmp(snapshots[i].id, id) == 0)
            return &snapshots[i];
    return NULL;
}

static int zone_known(const char *zone)
{
    return strcmp(zone, zones[0].name) == 0 || strcmp(zone, zones[1].name) == 0;
}

/* "vdb".."vdz", not among the n devices before it in v (each size bytes). */
static void check_device(const char *dev, const void *v, size_t n, size_t size)
{
    FZ_CHECK(strlen(dev) == 3 && strncmp(dev, "vd", 2) == 0 && dev[2] >= 'b' && dev[2] <= 'z');
    for (size_t j = 0; j < n; j++)
        FZ_CHECK(strcmp((const char *)v + j * size, dev) != 0);
}

/* Whole GiB, at most EC2's 16 TiB volume. */
static void check_size(unsigned long long bytes)
{
    FZ_CHECK(bytes % GIB == 0 && bytes <= 16384 * GIB);
}

/* No "aws:" key; on instances and images no cloudgate: key either (settings,
 * never stored; on volumes they are plain tags). */
static void check_tags(const cg_tags *tags, int settings)
{
    FZ_CHECK(!tags || tags->n > 0);
    for (size_t i = 0; tags && i < tags->n; i++)
        FZ_CHECK(strncmp(tags->v[i].key, "aws:", 4) != 0 &&
                 (!settings ||
                  strncmp(tags->v[i].key, EC2_CG_TAG_PREFIX, strlen(EC2_CG_TAG_PREFIX)) != 0));
}

static void check_launch_disk(const cg_launch_spec *spec, const cg_image *img, size_t i)
{
    const cg_launch_disk *d = &spec->disks[i];
    const cg_image_mapping *im = cg_image_mapping_find(img, d->device);
    const cg_snapshot *snap = snapshot_named(d->snapshot_id);

    check_device(d->device, spec->disks, i, sizeof(*d));
    FZ_CHECK(d->tags == spec->volume_tags);
    if (d->no_device)
        return;
    check_size(d->size_bytes);
    FZ_CHECK(d->delete_on_termination == 0 || d->delete_on_termination == 1);
    if (d->snapshot_id) {
        FZ_CHECK(snap && strcmp(snap->state, "completed") == 0);
        FZ_CHECK(spec->zone && strcmp(spec->zone, snap->zone) == 0);
        FZ_CHECK(!d->size_bytes || d->size_bytes >= snap->size_bytes);
    } else {
        FZ_CHECK(d->size_bytes || im);
        FZ_CHECK(!im || !d->size_bytes || d->size_bytes >= im->size_bytes);
    }
}

static int fake_instance_run(cg_drv *d, const cg_launch_spec *spec, cg_instance_list *out,
                             cg_error *err)
{
    const cg_image *img = image_named(spec->image_id);

    d->calls++;
    FZ_CHECK(img && strcmp(img->state, "available") == 0 && spec->type);
    FZ_CHECK(spec->min_count >= 1 && spec->min_count <= spec->max_count && spec->max_count <= 1000);
    FZ_CHECK(!spec->zone || zone_known(spec->zone));
    FZ_CHECK(!img->zone[0] || (spec->zone && strcmp(spec->zone, img->zone) == 0));
    FZ_CHECK(!spec->subnet_id || (strcmp(spec->subnet_id, subnets[0].id) == 0 && spec->zone &&
                                  strcmp(spec->zone, subnets[0].zone) == 0));
    check_size(spec->root_size_bytes);
    FZ_CHECK(!spec->root_size_bytes || spec->root_size_bytes >= img->size_bytes);
    FZ_CHECK(spec->n_disks <= 26 && !spec->disks == !spec->n_disks);
    for (size_t i = 0; i < spec->n_disks; i++)
        check_launch_disk(spec, img, i);
    check_tags(spec->tags, 1);
    check_tags(spec->volume_tags, 0);
    FZ_CHECK(spec->n_groups <= CG_INSTANCE_GROUPS_MAX);
    for (size_t i = 0; i < spec->n_groups; i++) {
        FZ_CHECK(strcmp(spec->group_ids[i], groups[0].id) == 0 ||
                 strcmp(spec->group_ids[i], groups[1].id) == 0);
        for (size_t j = 0; j < i; j++)
            FZ_CHECK(strcmp(spec->group_ids[i], spec->group_ids[j]) != 0);
    }
    FZ_CHECK(spec->user_data_len <= EC2_USER_DATA_MAX && !spec->user_data_len == !spec->user_data);
    FZ_CHECK(spec->metadata.hop_limit >= 0 && spec->metadata.hop_limit <= 64);
    cg_error_set(err, CG_ERR_CAPACITY, "the fuzz driver launches nothing");
    return -1;
}

static int fake_image_register(cg_drv *d, const cg_image_spec *spec, cg_image *out, cg_error *err)
{
    const cg_snapshot *root = snapshot_named(spec->snapshot_id);

    d->calls++;
    FZ_CHECK(spec->name && strlen(spec->name) >= 3 && strlen(spec->name) <= 128);
    FZ_CHECK(spec->architecture && strcmp(spec->architecture, "x86_64") == 0);
    FZ_CHECK(root && strcmp(root->state, "completed") == 0 && !root->image_id[0]);
    check_size(spec->size_bytes);
    FZ_CHECK(spec->n_mappings <= 25 && (!spec->n_mappings || spec->mappings));
    for (size_t i = 0; i < spec->n_mappings; i++) {
        const cg_image_mapping *m = &spec->mappings[i];

        check_device(m->device, spec->mappings, i, sizeof(*m));
        check_size(m->size_bytes);
        FZ_CHECK(m->snapshot_id[0] ? ec2_id_valid(m->snapshot_id, "snap-") : m->size_bytes > 0);
    }
    check_tags(spec->tags, 1);
    cg_error_set(err, CG_ERR_INVALID, "the fuzz driver registers nothing");
    return -1;
}

static const cg_driver fuzz_driver = {
    .name = "fuzz",
    .image_list = fake_image_list,
    .image_register = fake_image_register,
    .instance_list = fake_instance_list,
    .instance_run = fake_instance_run,
    .snapshot_list = fake_snapshot_list,
    .vpc_list = fake_vpc_list,
    .subnet_list = fake_subnet_list,
    .sg_list = fake_sg_list,
};

static ec2_handler_fn handler_named(const char *action)
{
    if (strcmp(action, "RunInstances") == 0)
        return ec2_run_instances;
    if (strcmp(action, "RegisterImage") == 0)
        return ec2_register_image;
    if (strcmp(action, "CreateImage") == 0)
        return ec2_create_image;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cg_config cfg = {.region = "cloudgate",
                     .account_id = "123456789012",
                     .zones = zones,
                     .n_zones = N_OF(zones),
                     .types = types,
                     .n_types = N_OF(types)};
    struct cg_drv drv = {0};
    gw_ctx ctx = {.cfg = &cfg, .driver = &fuzz_driver, .drv = &drv};
    gw_request req = {.request_id = "req-fuzz", .method = "POST", .path = "/"};
    gw_params params = {0};
    ec2_params ix = {0};
    ec2_call c = {.ctx = &ctx, .req = &req, .params = &ix};
    ec2_handler_fn fn;
    char *f[2];
    size_t len[2];
    int ret;

    if (fz_split(data, size, 2, f, len) < 0)
        return 0;
    if (!(fn = handler_named(f[0])) || gw_params_parse(&params, f[1], len[1]) < 0 ||
        ec2_params_index(&ix, &params) < 0)
        goto cleanup;
    c.action = f[0];
    if (ec2_param_bool(&c, "DryRun", 0, &c.dry_run) < 0)
        goto cleanup;
    /* Past its checks CreateImage starts the engine's capture job. */
    if (fn == ec2_create_image)
        c.dry_run = 1;
    ret = fn(&c);
#ifndef CG_LIBFUZZER
    if (getenv("CG_FUZZ_VERBOSE")) /* seed triage: how far each input goes */
        fprintf(stderr, "%s: driver %d, %s %s\n", f[0], drv.calls, c.error.code, c.error.message);
#endif
    FZ_CHECK(ret == 0 || ret == -1);
    FZ_CHECK(ret == 0 ? !c.error.code[0] && (c.body || c.pieces) : c.error.code[0] != '\0');
    FZ_CHECK(memchr(c.error.message, '\0', sizeof(c.error.message)) != NULL);
    FZ_CHECK(!c.dry_run || (ret < 0 && drv.calls == 0));

cleanup:
    free(c.body);
    gw_pieces_release(c.pieces, c.n_pieces);
    ec2_params_release(&ix);
    gw_params_release(&params);
    fz_free(f, 2);
    return 0;
}
