/* cloudgate: CIMI resources rendered as JSON and XML from the one model.
 *
 * Each case builds a resource tree from driver/store records, renders it
 * both ways and compares with $CG_TOP_SRCDIR/tests/cimi/NAME.json and
 * NAME.xml (CG_REGENERATE=1 rewrites them for review).  Every XML document
 * is also validated with `xmllint --nonet --schema $CG_CIMI_XSD` (default
 * /work/shared/schemas/cimi-1.0-DSP8009.xsd); without xmllint or the schema
 * that check is skipped with a message, never passed silently as done.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontends/cimi/cimi_internal.h"

#define BASE "http://127.0.0.1:8773/cimi/"
#define DEFAULT_XSD "/work/shared/schemas/cimi-1.0-DSP8009.xsd"

static cg_config cfg;
static int xsd_checked;

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void golden(const char *name, const char *ext, const char *actual)
{
    const char *top = getenv("CG_TOP_SRCDIR");
    char path[1024];
    char *want;
    FILE *f;

    snprintf(path, sizeof(path), "%s/tests/cimi/%s.%s", top ? top : ".", name, ext);
    if (getenv("CG_REGENERATE")) {
        assert_non_null(f = fopen(path, "w"));
        fputs(actual, f);
        fclose(f);
        return;
    }
    if (!(want = read_file(path)))
        fail_msg("cannot read %s (set CG_TOP_SRCDIR, or CG_REGENERATE=1 to create it)", path);
    if (strcmp(want, actual) != 0)
        fail_msg("%s differs from the rendering:\n%s", path, actual);
    free(want);
}

/* xmllint --schema on doc; fails the test when the document is invalid. */
static void validate_xml(const char *name, const char *doc)
{
    const char *xsd = getenv("CG_CIMI_XSD");
    char tmp[] = "/tmp/cimi-render-XXXXXX", cmd[2048];
    int fd, rc;

    if (!xsd || !*xsd)
        xsd = DEFAULT_XSD;
    if (access(xsd, R_OK) != 0 || system("xmllint --version >/dev/null 2>&1") != 0) {
        if (!xsd_checked++)
            print_message("SKIP schema validation: no xmllint or no %s\n", xsd);
        return;
    }
    assert_true((fd = mkstemp(tmp)) >= 0);
    assert_int_equal(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
    close(fd);
    snprintf(cmd, sizeof(cmd),
             "xmllint --nonet --noout --schema '%s' '%s' 2>&1 | grep -v "
             "'failed to load external entity\\|xml.xsd\\|validates$' >&2; "
             "xmllint --nonet --noout --schema '%s' '%s' >/dev/null 2>&1",
             xsd, tmp, xsd, tmp);
    rc = system(cmd);
    unlink(tmp);
    if (rc != 0)
        fail_msg("%s.xml is not valid against %s", name, xsd);
}

/* Render o both ways, compare with the golden files, validate the XML;
 * the JSON must also parse back.  Frees o. */
static void check(const char *name, cimi_obj *o)
{
    size_t jl = 0, xl = 0;
    char *json, *xml;
    json_object *back;

    assert_non_null(o);
    assert_false(cimi_obj_failed(o));
    assert_non_null(json = cimi_render_json(o, &jl));
    assert_non_null(xml = cimi_render_xml(o, &xl));
    assert_int_equal(strlen(json), jl);
    assert_int_equal(strlen(xml), xl);
    assert_non_null(back = json_tokener_parse(json));
    json_object_put(back);
    golden(name, "json", json);
    golden(name, "xml", xml);
    validate_xml(name, xml);
    free(json);
    free(xml);
    cimi_obj_free(o);
}

/* ---- fixtures ------------------------------------------------------------- */

static void fill_instance(cg_instance *i, const char *id, cg_instance_state st, const char *ip)
{
    memset(i, 0, sizeof(*i));
    snprintf(i->id, sizeof(i->id), "%s", id);
    snprintf(i->image_id, sizeof(i->image_id), "ami-0123456789abcdef0");
    snprintf(i->instance_type, sizeof(i->instance_type), "t2.micro");
    snprintf(i->private_ip, sizeof(i->private_ip), "%s", ip);
    i->state = st;
    i->launch_time = 1714564800; /* 2024-05-01T12:00:00Z */
    i->state_time = 1714564860;
    i->vcpus = 1;
    i->memory_mib = 1024;
}

static int setup(void **state)
{
    assert_int_equal(cg_config_defaults(&cfg), 0);
    free(cfg.network);
    cfg.network = strdup("cloudgate-isolated");
    free(cfg.storage_pool);
    cfg.storage_pool = strdup("cloudgate");
    return 0;
}

static int teardown(void **state)
{
    cg_config_release(&cfg);
    return 0;
}

/* ---- cases ------------------------------------------------------------------- */

static void test_cep(void **state)
{
    check("cloud_entry_point", cimi_build_cep(BASE, &cfg));
}

static void test_machine_started(void **state)
{
    cg_instance i;

    fill_instance(&i, "i-0123456789abcdef0", CG_STATE_RUNNING, "192.168.122.10");
    assert_int_equal(cg_tags_set(&i.tags, "Name", "web <1> & \"x\""), 0);
    assert_int_equal(cg_tags_set(&i.tags, "env", "prod"), 0);
    check("machine_started",
          cimi_build_machine(BASE, &cfg, &i,
                             CIMI_OP_START | CIMI_OP_STOP | CIMI_OP_RESTART | CIMI_OP_DELETE));
    cg_instance_release(&i);
}

static void test_machine_stopped(void **state)
{
    cg_instance i;

    fill_instance(&i, "i-00000000000000001", CG_STATE_STOPPED, "");
    check("machine_stopped", cimi_build_machine(BASE, &cfg, &i, ~0u));
    cg_instance_release(&i);
}

static void test_machine_no_ops_served(void **state)
{
    cg_instance i;
    cimi_obj *o;

    fill_instance(&i, "i-00000000000000001", CG_STATE_STOPPED, "");
    o = cimi_build_machine(BASE, &cfg, &i, 0);
    assert_null(cimi_obj_get(o, "operations")); /* nothing advertised that is not served */
    cimi_obj_free(o);
    cg_instance_release(&i);
}

static void test_machine_nics(void **state)
{
    cg_instance i;

    fill_instance(&i, "i-0123456789abcdef0", CG_STATE_RUNNING, "192.168.122.10");
    check("machine_network_interfaces", cimi_build_machine_nics(BASE, &cfg, &i));
    cg_instance_release(&i);
}

/* ---- networks (cimi_networks.c) ----------------------------------------------- */

/* An instance in vpc-...a1, subnet-...b1, with two security groups. */
static void fill_vpc_instance(cg_instance *i)
{
    fill_instance(i, "i-0123456789abcdef0", CG_STATE_RUNNING, "10.90.1.4");
    snprintf(i->mac, sizeof(i->mac), "52:54:00:12:34:56");
    snprintf(i->vpc_id, sizeof(i->vpc_id), "vpc-000000000000000a1");
    snprintf(i->subnet_id, sizeof(i->subnet_id), "subnet-000000000000000b1");
    snprintf(i->eni_id, sizeof(i->eni_id), "eni-0123456789abcdef0");
    assert_int_equal(cg_instance_add_group(i, "sg-000000000000000c1", "web, <front>"), 0);
    assert_int_equal(cg_instance_add_group(i, "sg-000000000000000c2", "default"), 0);
}

static void fill_vpc(cg_vpc *v, const char *id, const char *cidr, int is_default)
{
    memset(v, 0, sizeof(*v));
    snprintf(v->id, sizeof(v->id), "%s", id);
    snprintf(v->cidr, sizeof(v->cidr), "%s", cidr);
    snprintf(v->network, sizeof(v->network), "%s", is_default ? "cloudgate-isolated" : id);
    snprintf(v->state, sizeof(v->state), "available");
    v->is_default = is_default;
}

static void fill_subnet(cg_subnet *s, const char *id, const char *vpc, const char *cidr)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    snprintf(s->vpc_id, sizeof(s->vpc_id), "%s", vpc);
    snprintf(s->cidr, sizeof(s->cidr), "%s", cidr);
    snprintf(s->zone, sizeof(s->zone), "cloudgate-a");
    snprintf(s->state, sizeof(s->state), "available");
}

static void test_networks(void **state)
{
    cimi_obj *o = cimi_build_collection(BASE, "networks", "NetworkCollection", 2), *n;
    cimi_attr *list = cimi_add_list(o, "networks", "Network");
    cg_vpc def, mine;
    cg_subnet subs[3];

    fill_vpc(&def, "vpc-000000000000000a0", "192.168.122.0/24", 1);
    fill_vpc(&mine, "vpc-000000000000000a1", "10.90.0.0/16", 0);
    assert_int_equal(cg_tags_set(&mine.tags, "Name", "lab"), 0);
    assert_int_equal(cg_tags_set(&mine.tags, "team", "db & <ops>"), 0);
    assert_int_equal(cg_tags_set(&mine.tags, "cidr", "a tag the gateway's value wins over"), 0);
    fill_subnet(&subs[0], "subnet-000000000000000b0", def.id, "192.168.122.0/24");
    fill_subnet(&subs[1], "subnet-000000000000000b1", mine.id, "10.90.1.0/24");
    fill_subnet(&subs[2], "subnet-000000000000000b2", mine.id, "10.90.2.0/24");
    cimi_list_push(o, list, cimi_build_network(BASE, &def, subs, 3));
    n = cimi_build_network(BASE, &mine, subs, 3);
    assert_string_equal(cimi_obj_prop(n, "subnets"),
                        "subnet-000000000000000b1,subnet-000000000000000b2");
    assert_string_equal(cimi_obj_prop(n, "cidr"), "10.90.0.0/16");
    assert_string_equal(cimi_obj_prop(n, "isDefault"), "false");
    assert_string_equal(cimi_obj_get(n, "name")->s, "lab");
    check("network", n);
    /* A VPC with no subnet has no "subnets" property. */
    n = cimi_build_network(BASE, &mine, subs, 1);
    assert_null(cimi_obj_prop(n, "subnets"));
    assert_null(cimi_obj_get(n, "operations")); /* read-only */
    cimi_list_push(o, list, n);
    check("network_collection", o);
    cg_tags_release(&mine.tags);
}

static void test_network_ports(void **state)
{
    cimi_obj *o = cimi_build_collection(BASE, "networkPorts", "NetworkPortCollection", 2), *p;
    cimi_attr *list = cimi_add_list(o, "networkPorts", "NetworkPort");
    cg_instance a, b;

    fill_vpc_instance(&a);
    p = cimi_build_network_port(BASE, &a);
    assert_string_equal(cimi_obj_prop(p, "mac"), "52:54:00:12:34:56");
    assert_string_equal(cimi_obj_prop(p, "securityGroups"),
                        "sg-000000000000000c1,sg-000000000000000c2");
    assert_string_equal(cimi_obj_prop(p, "securityGroup.sg-000000000000000c1"), "web, <front>");
    check("network_port", p);
    /* Stopped, no lease yet, no groups: no ip nor group properties. */
    fill_vpc_instance(&b);
    snprintf(b.id, sizeof(b.id), "i-00000000000000001");
    snprintf(b.eni_id, sizeof(b.eni_id), "eni-00000000000000001");
    b.private_ip[0] = '\0';
    cg_instance_clear_groups(&b);
    b.state = CG_STATE_STOPPED;
    p = cimi_build_network_port(BASE, &b);
    assert_null(cimi_obj_prop(p, "ip"));
    assert_null(cimi_obj_prop(p, "securityGroups"));
    assert_string_equal(cimi_obj_get(p, "state")->s, "STOPPED");
    cimi_list_push(o, list, cimi_build_network_port(BASE, &a));
    cimi_list_push(o, list, p);
    check("network_port_collection", o);
    cg_instance_release(&a);
    cg_instance_release(&b);
}

static void test_machine_in_vpc(void **state)
{
    cg_instance i;
    cimi_obj *o;
    cg_tags t = {0};

    fill_vpc_instance(&i);
    assert_int_equal(cg_tags_set(&i.tags, "Name", "web"), 0);
    assert_int_equal(cg_tags_set(&i.tags, "securityGroups", "a tag the groups win over"), 0);
    o = cimi_build_machine(BASE, &cfg, &i, CIMI_OP_STOP);
    assert_string_equal(cimi_obj_prop(o, "securityGroups"),
                        "sg-000000000000000c1,sg-000000000000000c2");
    assert_string_equal(cimi_obj_prop(o, "securityGroup.sg-000000000000000c2"), "default");
    check("machine_in_vpc", o);
    check("machine_network_interfaces_vpc", cimi_build_machine_nics(BASE, &cfg, &i));
    /* What the gateway derives is never taken back as tags. */
    assert_int_equal(cg_tags_set(&t, "securityGroups", "x"), 0);
    assert_int_equal(cg_tags_set(&t, "env", "prod"), 0);
    assert_int_equal(cg_tags_set(&t, "securityGroup.sg-1", "y"), 0);
    assert_int_equal(cg_tags_set(&t, "securityGroupsX", "z"), 0);
    cimi_drop_derived_props(&t);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.v[0].key, "env");
    assert_string_equal(t.v[1].key, "securityGroupsX");
    cg_tags_release(&t);
    cg_instance_release(&i);
}

static void test_machine_collection(void **state)
{
    cg_instance a, b;
    cimi_obj *o = cimi_build_collection(BASE, "machines", "MachineCollection", 2);
    cimi_attr *list = cimi_add_list(o, "machines", "Machine");

    fill_instance(&a, "i-0123456789abcdef0", CG_STATE_RUNNING, "192.168.122.10");
    fill_instance(&b, "i-00000000000000001", CG_STATE_PENDING, "");
    cimi_list_push(o, list, cimi_build_machine(BASE, &cfg, &a, 0));
    cimi_list_push(o, list, cimi_build_machine(BASE, &cfg, &b, 0));
    check("machine_collection", o);
    cg_instance_release(&a);
    cg_instance_release(&b);
}

static void test_empty_collection(void **state)
{
    cimi_obj *o = cimi_build_collection(BASE, "machineImages", "MachineImageCollection", 0);

    cimi_add_list(o, "machineImages", "MachineImage");
    check("machine_image_collection_empty", o);
}

static void test_machine_config(void **state)
{
    cimi_obj *o = cimi_build_collection(BASE, "machineConfigs", "MachineConfigurationCollection",
                                        (long long)cfg.n_types);
    cimi_attr *list = cimi_add_list(o, "machineConfigurations", "MachineConfiguration");
    size_t i;

    for (i = 0; i < cfg.n_types; i++)
        cimi_list_push(o, list, cimi_build_machine_config(BASE, &cfg.types[i]));
    check("machine_configuration_collection", o);
    check("machine_configuration", cimi_build_machine_config(BASE, &cfg.types[0]));
}

static void test_machine_image(void **state)
{
    cg_image img = {0};

    snprintf(img.id, sizeof(img.id), "ami-0123456789abcdef0");
    img.name = strdup("debian-12");
    img.description = strdup("Debian 12 \"bookworm\"");
    img.volume = strdup("debian-12.qcow2");
    snprintf(img.architecture, sizeof(img.architecture), "x86_64");
    snprintf(img.state, sizeof(img.state), "available");
    img.created = 1714564800;
    assert_int_equal(cg_tags_set(&img.tags, "os", "debian"), 0);
    check("machine_image", cimi_build_machine_image(BASE, &cfg, &img));
    cg_image_release(&img);
}

/* An inspected image (os.* properties, which win over a tag of the same
 * key), a pending one (its job, no delete) and a failed one (stateReason). */
static void test_machine_image_states(void **state)
{
    cg_image img = {0};

    snprintf(img.id, sizeof(img.id), "ami-0123456789abcdef1");
    img.name = strdup("imported");
    snprintf(img.state, sizeof(img.state), "available");
    img.created = 1714564800;
    snprintf(img.os.type, sizeof(img.os.type), "linux");
    snprintf(img.os.distro, sizeof(img.os.distro), "debian");
    snprintf(img.os.version, sizeof(img.os.version), "12");
    snprintf(img.os.arch, sizeof(img.os.arch), "x86_64");
    snprintf(img.os.product, sizeof(img.os.product), "Debian GNU/Linux 12 (bookworm)");
    img.os.cloud_init = 1;
    assert_int_equal(cg_tags_set(&img.tags, "os.type", "mine"), 0);
    assert_int_equal(cg_tags_set(&img.tags, "team", "ops"), 0);
    check("machine_image_inspected", cimi_build_machine_image(BASE, &cfg, &img));

    memset(&img.os, 0, sizeof(img.os));
    snprintf(img.state, sizeof(img.state), "pending");
    snprintf(img.job_id, sizeof(img.job_id), "import-ami-0123456789abcdef1");
    check("machine_image_pending", cimi_build_machine_image(BASE, &cfg, &img));

    snprintf(img.state, sizeof(img.state), "failed");
    snprintf(img.state_reason, sizeof(img.state_reason), "the download failed: HTTP 404");
    check("machine_image_failed", cimi_build_machine_image(BASE, &cfg, &img));
    cg_image_release(&img);
}

static void test_credential(void **state)
{
    cg_keypair kp = {0};

    snprintf(kp.key_id, sizeof(kp.key_id), "key-0123456789abcdef0");
    snprintf(kp.name, sizeof(kp.name), "alice");
    snprintf(kp.type, sizeof(kp.type), "ed25519");
    snprintf(kp.fingerprint, sizeof(kp.fingerprint), "abc=");
    kp.public_key = strdup("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample alice@host");
    kp.created = 1714564800;
    check("credential", cimi_build_credential(BASE, &kp));
    cg_keypair_release(&kp);
}

static void fill_job(cg_job *j, const char *id, const char *action, const char *target,
                     cg_job_state st, int progress)
{
    memset(j, 0, sizeof(*j));
    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->action, sizeof(j->action), "%s", action);
    snprintf(j->target, sizeof(j->target), "%s", target);
    j->state = st;
    j->progress = progress;
    j->created = 1714564800;
    j->changed = 1714564805;
    j->cancellable = st == CG_JOB_QUEUED;
}

static void test_job(void **state)
{
    cg_job done, queued, failed;
    cimi_obj *o;
    cimi_attr *list;

    fill_job(&done, "job-0000000000000000a", "stop", "i-0123456789abcdef0", CG_JOB_SUCCESS, 100);
    snprintf(done.affected, sizeof(done.affected),
             "i-0123456789abcdef0,vol-1,ami-00000000000000001");
    snprintf(done.status_message, sizeof(done.status_message), "stopped <ok> & \"done\"");
    check("job_success", cimi_build_job(BASE, &done));

    fill_job(&queued, "job-0000000000000000b", "import-image", "", CG_JOB_QUEUED, 0);
    fill_job(&failed, "job-0000000000000000c", CIMI_ACTION_NS "restart", "i-00000000000000001",
             CG_JOB_FAILED, 40);
    snprintf(failed.status_message, sizeof(failed.status_message), "the domain is gone");
    o = cimi_build_collection(BASE, "jobs", "JobCollection", 3);
    list = cimi_add_list(o, "jobs", "Job");
    cimi_list_push(o, list, cimi_build_job(BASE, &done));
    cimi_list_push(o, list, cimi_build_job(BASE, &queued));
    cimi_list_push(o, list, cimi_build_job(BASE, &failed));
    check("job_collection", o);
}

/* A running import: its description and source, format and size as
 * properties; cancellable (stop), STOPPING once a cancel is asked for. */
static void test_job_import_running(void **state)
{
    cg_job j;

    fill_job(&j, "import-ami-0123456789abcdef1", "import-image", "ami-0123456789abcdef1",
             CG_JOB_RUNNING, 42);
    j.cancellable = 1;
    snprintf(j.description, sizeof(j.description), "Debian 12 cloud image");
    snprintf(j.source, sizeof(j.source), "glance://lab/5a1b?x=1&y=<2>");
    snprintf(j.format, sizeof(j.format), "qcow2");
    j.size = 345678901ULL;
    snprintf(j.status_message, sizeof(j.status_message), "downloading: 140.2 of 329.7 MB");
    check("job_import_running", cimi_build_job(BASE, &j));
    j.cancel_requested = 1;
    check("job_import_stopping", cimi_build_job(BASE, &j));
}

/* Invalid UTF-8 and control characters never reach either document. */
static void test_clean_text(void **state)
{
    char *s = cimi_clean_text("a\x01"
                              "b\xff"
                              "c\xc3\xa9"
                              "d\xed\xa0\x80");

    assert_string_equal(s, "a?b?c\xc3\xa9"
                           "d???");
    free(s);
}

/* ---- the state table ---------------------------------------------------------- */

static void test_state_table(void **state)
{
    static const unsigned running = CIMI_OP_STOP | CIMI_OP_RESTART | CIMI_OP_PAUSE |
                                    CIMI_OP_SUSPEND | CIMI_OP_CAPTURE | CIMI_OP_EDIT |
                                    CIMI_OP_DELETE;
    static const struct {
        cg_instance_state ec2;
        cg_instance_sub sub;
        const char *cimi;
        unsigned ops;
    } rows[] = {
        {CG_STATE_PENDING, CG_SUB_NONE, "CREATING", CIMI_OP_EDIT | CIMI_OP_DELETE},
        {CG_STATE_RUNNING, CG_SUB_NONE, "STARTED", running},
        {CG_STATE_RUNNING, CG_SUB_PAUSED, "PAUSED",
         CIMI_OP_START | CIMI_OP_STOP | CIMI_OP_CAPTURE | CIMI_OP_EDIT | CIMI_OP_DELETE},
        {CG_STATE_STOPPING, CG_SUB_NONE, "STOPPING", CIMI_OP_EDIT | CIMI_OP_DELETE},
        {CG_STATE_STOPPED, CG_SUB_NONE, "STOPPED",
         CIMI_OP_START | CIMI_OP_CAPTURE | CIMI_OP_EDIT | CIMI_OP_DELETE},
        {CG_STATE_STOPPED, CG_SUB_SUSPENDED, "SUSPENDED",
         CIMI_OP_START | CIMI_OP_CAPTURE | CIMI_OP_EDIT | CIMI_OP_DELETE},
        {CG_STATE_SHUTTING_DOWN, CG_SUB_NONE, "DELETING", 0},
        {CG_STATE_TERMINATED, CG_SUB_NONE, "DELETED", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cimi_machine_state s = cimi_machine_state_of(rows[i].ec2, rows[i].sub);
        assert_string_equal(cimi_machine_state_name(s), rows[i].cimi);
        assert_int_equal(cimi_machine_ops(s), rows[i].ops);
    }
    /* A paused or suspended sub-state means nothing outside its EC2 state. */
    assert_string_equal(
        cimi_machine_state_name(cimi_machine_state_of(CG_STATE_STOPPED, CG_SUB_PAUSED)), "STOPPED");
    assert_int_equal(cimi_machine_ops(CIMI_M_STARTING), CIMI_OP_EDIT | CIMI_OP_DELETE);
    assert_int_equal(cimi_machine_ops(CIMI_M_ERROR), CIMI_OP_EDIT | CIMI_OP_DELETE);
    assert_string_equal(cimi_op_name(CIMI_OP_SUSPEND), "suspend");
    assert_string_equal(cimi_op_name(CIMI_OP_CAPTURE), "capture");
}

/* ---- volumes, templates, consoles --------------------------------------------------- */

static void fill_volume(cg_volume *v, const char *id, const char *attached_to)
{
    memset(v, 0, sizeof(*v));
    snprintf(v->id, sizeof(v->id), "%s", id);
    v->name = strdup("data");
    snprintf(v->zone, sizeof(v->zone), "cloudgate-a");
    snprintf(v->state, sizeof(v->state), "%s", *attached_to ? "in-use" : "available");
    snprintf(v->format, sizeof(v->format), "qcow2");
    v->size_bytes = 1024ULL * 1024 * 1024;
    snprintf(v->attached_to, sizeof(v->attached_to), "%s", attached_to);
    snprintf(v->device, sizeof(v->device), "%s", *attached_to ? "vdb" : "");
    v->created = 1714564800;
    cg_tags_set(&v->tags, "team", "db");
}

static void test_volume(void **state)
{
    cg_volume v;

    fill_volume(&v, "vol-0123456789abcdef0", "");
    check("volume", cimi_build_volume(BASE, &v));
    cg_volume_release(&v);
}

static void test_volume_image(void **state)
{
    cg_snapshot s = {0};

    snprintf(s.id, sizeof(s.id), "snap-0123456789abcdef0");
    snprintf(s.volume_id, sizeof(s.volume_id), "i-0123456789abcdef0");
    snprintf(s.zone, sizeof(s.zone), "cloudgate-a");
    snprintf(s.state, sizeof(s.state), "completed");
    s.started = 1795429762;
    s.description = "root disk <nightly>";
    assert_int_equal(cg_tags_set(&s.tags, "Name", "nightly"), 0);
    assert_int_equal(cg_tags_set(&s.tags, "env", "prod"), 0);
    check("volume_image", cimi_build_volume_image(BASE, &s));
    cg_tags_release(&s.tags);
}

static void test_machine_volumes(void **state)
{
    cimi_obj *o = cimi_build_collection(BASE, "machines/i-0123456789abcdef0/volumes",
                                        "MachineVolumeCollection", 1);
    cimi_attr *list = cimi_add_list(o, "machineVolumes", "MachineVolume");
    cg_volume v;

    fill_volume(&v, "vol-0123456789abcdef0", "i-0123456789abcdef0");
    cimi_list_push(o, list, cimi_build_machine_volume(BASE, &v));
    check("machine_volume_collection", o);
    cg_volume_release(&v);
}

static void test_disks(void **state)
{
    cimi_obj *o =
        cimi_build_collection(BASE, "machines/i-0123456789abcdef0/disks", "DiskCollection", 1);
    cimi_attr *list = cimi_add_list(o, "disks", "Disk");
    cg_instance inst;

    fill_instance(&inst, "i-0123456789abcdef0", CG_STATE_RUNNING, "");
    cimi_list_push(o, list, cimi_build_disk(BASE, &inst, 2ULL * 1024 * 1024 * 1024));
    check("disk_collection", o);
}

static cimi_stored stored(const char *kind, const char *id, const char *json)
{
    cimi_stored s;

    memset(&s, 0, sizeof(s));
    snprintf(s.kind, sizeof(s.kind), "%s", kind);
    snprintf(s.id, sizeof(s.id), "%s", id);
    s.created = 1714564800;
    assert_non_null(s.body = json_tokener_parse(json));
    return s;
}

static void test_volume_config_and_template(void **state)
{
    cimi_stored vc = stored("volumeConfigs", "vc-0123456789abcdef0",
                            "{\"name\": \"small\", \"format\": \"qcow2\", \"capacity\": 1048576}");
    cimi_stored vt = stored("volumeTemplates", "vt-0123456789abcdef0",
                            "{\"name\": \"small-data\", \"properties\": {\"tier\": \"gold\"},"
                            " \"volumeConfig\": {\"id\": \"vc-0123456789abcdef0\","
                            " \"format\": \"qcow2\", \"capacity\": 1048576}}");

    check("volume_config", cimi_build_volume_config(BASE, &vc));
    check("volume_template", cimi_build_volume_template(BASE, &vt));
    cimi_stored_release(&vc);
    cimi_stored_release(&vt);
}

static void test_machine_template(void **state)
{
    cimi_stored mt = stored(
        "machineTemplates", "mt-0123456789abcdef0",
        "{\"name\": \"web\", \"description\": \"web tier\", \"properties\": {\"display\": \"vnc\"},"
        " \"initialState\": \"STARTED\", \"machineConfig\": \"t2.micro\","
        " \"machineImage\": \"ami-0123456789abcdef0\", \"credential\": \"key-0123456789abcdef0\","
        " \"userData\": \"I2Nsb3VkLWNvbmZpZwo=\","
        " \"volumes\": [{\"volume\": \"vol-0123456789abcdef0\", \"initialLocation\": \"vdc\"}],"
        " \"volumeTemplates\": [{\"capacity\": 2097152, \"format\": \"raw\","
        " \"initialLocation\": \"vdb\"}]}");

    check("machine_template", cimi_build_machine_template(BASE, &mt));
    cimi_stored_release(&mt);
}

static void test_graphics_consoles(void **state)
{
    cimi_obj *o = cimi_build_collection(BASE, "machines/i-0123456789abcdef0/graphicsConsoles",
                                        "GraphicsConsoleCollection", 1);
    cimi_attr *list = cimi_add_list(o, "graphicsConsoles", "GraphicsConsole");
    cimi_obj *gc = cimi_build_graphics_console(BASE, "machines/i-0123456789abcdef0",
                                               CG_DISPLAY_SPICE, "127.0.0.1", 5901);

    cimi_add_str(gc, "state", "ACTIVE");
    cimi_list_push(o, list, gc);
    /* GraphicsConsole is not a DSP8009 resource: the collection validates
     * (its entries are lax), a console on its own cannot. */
    check("graphics_console_collection", o);
}

static void test_machine_paused(void **state)
{
    cg_instance inst;

    fill_instance(&inst, "i-0123456789abcdef0", CG_STATE_RUNNING, "10.213.0.5");
    inst.sub = CG_SUB_PAUSED;
    cg_tags_set(&inst.tags, "Name", "web-1");
    cg_tags_set(&inst.tags, "Description", "the first web server");
    cg_tags_set(&inst.tags, "env", "prod");
    check("machine_paused", cimi_build_machine(BASE, &cfg, &inst, ~0u));
    cg_instance_release(&inst);
}

/* ---- model operations ------------------------------------------------------------ */

static void test_select_and_compare(void **state)
{
    cg_instance a, b;
    cimi_obj *x, *y;
    const char *names[] = {"name", "cpu"};

    fill_instance(&a, "i-0000000000000000a", CG_STATE_RUNNING, "");
    fill_instance(&b, "i-0000000000000000b", CG_STATE_STOPPED, "");
    b.vcpus = 4;
    x = cimi_build_machine(BASE, &cfg, &a, ~0u);
    y = cimi_build_machine(BASE, &cfg, &b, ~0u);
    assert_true(cimi_obj_compare(x, y, "cpu") < 0);
    assert_true(cimi_obj_compare(y, x, "cpu") > 0);
    assert_true(cimi_obj_compare(x, y, "name") < 0);
    assert_true(cimi_obj_compare(x, y, "state") < 0); /* STARTED < STOPPED */
    assert_int_equal(cimi_obj_compare(x, y, "nosuch"), 0);
    cimi_obj_select(x, names, 2);
    assert_int_equal(x->n, 3); /* name, cpu and the operations */
    assert_non_null(cimi_obj_get(x, "name"));
    assert_non_null(cimi_obj_get(x, "cpu"));
    assert_non_null(cimi_obj_get(x, "operations"));
    assert_null(cimi_obj_get(x, "id"));
    /* A missing attribute sorts first. */
    assert_true(cimi_obj_compare(x, y, "id") < 0);
    check("machine_selected", x);
    cimi_obj_free(y);
    cg_instance_release(&a);
    cg_instance_release(&b);
}

/* ---- negotiation ------------------------------------------------------------------ */

static void test_negotiate(void **state)
{
    assert_int_equal(cimi_negotiate(NULL), 0);
    assert_int_equal(cimi_negotiate(""), 0);
    assert_int_equal(cimi_negotiate("*/*"), 0);
    assert_int_equal(cimi_negotiate("application/*"), 0);
    assert_int_equal(cimi_negotiate("application/json"), 0);
    assert_int_equal(cimi_negotiate("application/xml"), 1);
    assert_int_equal(cimi_negotiate("text/xml"), 1);
    assert_int_equal(cimi_negotiate("Application/XML; charset=utf-8"), 1);
    assert_int_equal(cimi_negotiate("application/xml, */*"), 1); /* more specific */
    assert_int_equal(cimi_negotiate("application/json;q=0.2, application/xml"), 1);
    assert_int_equal(cimi_negotiate("application/xml;q=0.5, application/json;q=0.9"), 0);
    assert_int_equal(cimi_negotiate("application/json;q=0, */*"), 1);
    assert_int_equal(cimi_negotiate("text/html"), -1);
    assert_int_equal(cimi_negotiate("text/html, application/json;q=0"), -1);
    assert_int_equal(cimi_negotiate("*/*;q=0"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cep),
        cmocka_unit_test(test_machine_started),
        cmocka_unit_test(test_machine_stopped),
        cmocka_unit_test(test_machine_no_ops_served),
        cmocka_unit_test(test_machine_nics),
        cmocka_unit_test(test_networks),
        cmocka_unit_test(test_network_ports),
        cmocka_unit_test(test_machine_in_vpc),
        cmocka_unit_test(test_machine_collection),
        cmocka_unit_test(test_empty_collection),
        cmocka_unit_test(test_machine_config),
        cmocka_unit_test(test_machine_image),
        cmocka_unit_test(test_credential),
        cmocka_unit_test(test_job),
        cmocka_unit_test(test_clean_text),
        cmocka_unit_test(test_state_table),
        cmocka_unit_test(test_volume),
        cmocka_unit_test(test_volume_image),
        cmocka_unit_test(test_machine_volumes),
        cmocka_unit_test(test_disks),
        cmocka_unit_test(test_volume_config_and_template),
        cmocka_unit_test(test_machine_template),
        cmocka_unit_test(test_graphics_consoles),
        cmocka_unit_test(test_machine_paused),
        cmocka_unit_test(test_select_and_compare),
        cmocka_unit_test(test_negotiate),
        cmocka_unit_test(test_machine_image_states),
        cmocka_unit_test(test_job_import_running),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
