/* cloudgate: EC2 response writer against golden files.
 *
 * Each test builds a response from constructed cg_instance / cg_image data
 * (fixed request id and times) and compares it byte for byte with
 * tests/ec2/NAME.expected.  CG_REGENERATE=1 rewrites the files instead; review
 * the diff before committing them.  tests/ec2/check_botocore.py parses the
 * same files with botocore's own EC2 parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "frontends/ec2/ec2_internal.h"
#include "frontends/ec2/ec2_xml.h"

#define T_LAUNCH ((time_t)1795429762) /* 2026-11-23T10:29:22Z */

static cg_config cfg;

#include "tests/unit/ec2_golden.h"

static void make_instance(cg_instance *i, const char *id, const char *rid, unsigned idx,
                          cg_instance_state st, const char *ip)
{
    memset(i, 0, sizeof(*i));
    snprintf(i->id, sizeof(i->id), "%s", id);
    snprintf(i->image_id, sizeof(i->image_id), "ami-0a1b2c3d4e5f60718");
    snprintf(i->reservation_id, sizeof(i->reservation_id), "%s", rid);
    snprintf(i->instance_type, sizeof(i->instance_type), "t2.micro");
    snprintf(i->zone, sizeof(i->zone), "cloudgate-a");
    snprintf(i->private_ip, sizeof(i->private_ip), "%s", ip ? ip : "");
    snprintf(i->mac, sizeof(i->mac), "52:54:00:12:34:56");
    i->state = st;
    i->launch_time = T_LAUNCH;
    i->state_time = T_LAUNCH;
    i->ami_launch_index = idx;
    i->vcpus = 1;
    i->memory_mib = 1024;
}

static int setup(void **state)
{
    static cg_zone_config zones[] = {{"cloudgate-a", "test:///default"}};
    static cg_instance_type types[] = {
        {"t2.micro", 1, 1024}, {"m1.small", 1, 2048}, {"t2.large", 2, 8192}};

    memset(&cfg, 0, sizeof(cfg));
    cfg.region = "cloudgate";
    cfg.account_id = "123456789012";
    cfg.zones = zones;
    cfg.n_zones = 1;
    cfg.types = types;
    cfg.n_types = 3;
    return 0;
}

static void test_describe_instances_empty(void **state)
{
    size_t len = 0;
    char *b = ec2_xml_describe_instances(RID, &cfg, NULL, 0, NULL, &len);

    assert_non_null(b);
    assert_non_null(strstr(b, "<reservationSet/>"));
    assert_null(strstr(b, "nextToken"));
    check_golden("describe_instances_empty", b, len);
}

static void test_describe_instances_two_reservations(void **state)
{
    cg_instance a, b, c;
    const cg_instance *v[3];
    size_t len = 0;
    char *doc;

    /* Page order a(r-2), b(r-1), c(r-2): r-2 comes first and holds a and c,
     * in launch order c (0) then a (1). */
    make_instance(&a, "i-0aaaaaaaaaaaaaaaa", "r-0222222222222222b", 1, CG_STATE_RUNNING,
                  "10.0.0.5");
    make_instance(&b, "i-0bbbbbbbbbbbbbbbb", "r-0111111111111111a", 0, CG_STATE_PENDING, NULL);
    make_instance(&c, "i-0cccccccccccccccc", "r-0222222222222222b", 0, CG_STATE_STOPPED,
                  "10.0.0.6");
    snprintf(a.key_name, sizeof(a.key_name), "mykey");
    snprintf(a.client_token, sizeof(a.client_token), "tok-1");
    assert_int_equal(cg_tags_set(&a.tags, "Name", "web <1> & \"co\""), 0);
    assert_int_equal(cg_tags_set(&a.tags, "env", ""), 0);
    assert_int_equal(cg_tags_set(&c.tags, "Name", "db"), 0);
    snprintf(c.state_reason, sizeof(c.state_reason), "User initiated");
    v[0] = &a;
    v[1] = &b;
    v[2] = &c;
    doc = ec2_xml_describe_instances(RID, &cfg, v, 3, "dG9rZW4=", &len);
    assert_non_null(doc);
    assert_xpath(doc, len, "count(//e:reservationSet/e:item)", "2");
    assert_xpath(doc, len, "//e:reservationSet/e:item[1]/e:reservationId", "r-0222222222222222b");
    assert_xpath(doc, len, "//e:reservationSet/e:item[1]/e:instancesSet/e:item[1]/e:instanceId",
                 "i-0cccccccccccccccc");
    assert_xpath(doc, len, "//e:reservationSet/e:item[1]/e:ownerId", "123456789012");
    assert_xpath(doc, len, "//e:item[e:instanceId='i-0aaaaaaaaaaaaaaaa']/e:privateDnsName",
                 "ip-10-0-0-5.cloudgate.compute.internal");
    /* The tag value round-trips as text, never as markup. */
    assert_xpath(doc, len,
                 "//e:item[e:instanceId='i-0aaaaaaaaaaaaaaaa']//e:tagSet/e:item[1]/e:value",
                 "web <1> & \"co\"");
    assert_xpath(doc, len, "count(//e:item[e:instanceId='i-0bbbbbbbbbbbbbbbb']/e:privateIpAddress)",
                 "0");
    assert_xpath(doc, len, "count(//e:item[e:instanceId='i-0bbbbbbbbbbbbbbbb']/e:tagSet)", "1");
    assert_xpath(doc, len, "//e:nextToken", "dG9rZW4=");
    check_golden("describe_instances_two_reservations", doc, len);
    cg_tags_release(&a.tags);
    cg_tags_release(&c.tags);
}

/* A launch that failed in its worker: terminated, with EC2's stateReason
 * (code from the reason's start) beside the reason; a user-initiated
 * reason gets no stateReason. */
static void test_describe_instances_launch_failed(void **state)
{
    cg_instance a, b;
    const cg_instance *v[2];
    size_t len = 0;
    char *doc;

    make_instance(&a, "i-0aaaaaaaaaaaaaaaa", "r-0111111111111111a", 0, CG_STATE_TERMINATED,
                  NULL);
    make_instance(&b, "i-0bbbbbbbbbbbbbbbb", "r-0111111111111111a", 1, CG_STATE_TERMINATED,
                  NULL);
    snprintf(a.state_reason, sizeof(a.state_reason),
             "Server.InternalError: launch failed: create overlay i-0aaaaaaaaaaaaaaaa.qcow2: "
             "storage volume exists");
    snprintf(b.state_reason, sizeof(b.state_reason), "User initiated (2026-12-03 21:00:00 GMT)");
    v[0] = &a;
    v[1] = &b;
    doc = ec2_xml_describe_instances(RID, &cfg, v, 2, NULL, &len);
    assert_non_null(doc);
    assert_xpath(doc, len, "//e:item[e:instanceId='i-0aaaaaaaaaaaaaaaa']/e:stateReason/e:code",
                 "Server.InternalError");
    assert_xpath(doc, len,
                 "//e:item[e:instanceId='i-0aaaaaaaaaaaaaaaa']/e:stateReason/e:message",
                 a.state_reason);
    assert_xpath(doc, len, "//e:item[e:instanceId='i-0aaaaaaaaaaaaaaaa']/e:reason",
                 a.state_reason);
    assert_xpath(doc, len,
                 "count(//e:item[e:instanceId='i-0bbbbbbbbbbbbbbbb']/e:stateReason)", "0");
    check_golden("describe_instances_launch_failed", doc, len);
}

static void test_run_instances(void **state)
{
    cg_instance a, b;
    const cg_instance *v[2];
    size_t len = 0;
    char *doc;

    make_instance(&a, "i-0123456789abcdef0", "r-0f0f0f0f0f0f0f0f0", 0, CG_STATE_PENDING, NULL);
    make_instance(&b, "i-0123456789abcdef1", "r-0f0f0f0f0f0f0f0f0", 1, CG_STATE_PENDING, NULL);
    assert_int_equal(cg_tags_set(&a.tags, "Name", "x y"), 0);
    assert_int_equal(cg_tags_set(&b.tags, "Name", "x y"), 0);
    v[0] = &a;
    v[1] = &b;
    doc = ec2_xml_run_instances(RID, &cfg, v, 2, &len);
    assert_xpath(doc, len, "/e:RunInstancesResponse/e:reservationId", "r-0f0f0f0f0f0f0f0f0");
    assert_xpath(doc, len, "count(//e:instancesSet/e:item)", "2");
    assert_xpath(doc, len, "//e:instancesSet/e:item[2]/e:amiLaunchIndex", "1");
    check_golden("run_instances", doc, len);
    cg_tags_release(&a.tags);
    cg_tags_release(&b.tags);
}

static void test_state_changes(void **state)
{
    cg_state_change start[] = {{"i-0aaaaaaaaaaaaaaaa", CG_STATE_STOPPED, CG_STATE_PENDING}};
    cg_state_change stop[] = {{"i-0aaaaaaaaaaaaaaaa", CG_STATE_RUNNING, CG_STATE_STOPPING},
                              {"i-0bbbbbbbbbbbbbbbb", CG_STATE_STOPPED, CG_STATE_STOPPED}};
    cg_state_change term[] = {{"i-0aaaaaaaaaaaaaaaa", CG_STATE_RUNNING, CG_STATE_SHUTTING_DOWN}};
    size_t len = 0;
    char *doc;

    doc = ec2_xml_state_changes("StartInstances", RID, start, 1, &len);
    assert_xpath(doc, len, "//e:instancesSet/e:item/e:currentState/e:code", "0");
    assert_xpath(doc, len, "//e:instancesSet/e:item/e:previousState/e:name", "stopped");
    check_golden("start_instances", doc, len);
    doc = ec2_xml_state_changes("StopInstances", RID, stop, 2, &len);
    assert_xpath(doc, len, "//e:instancesSet/e:item[1]/e:currentState/e:code", "64");
    check_golden("stop_instances", doc, len);
    doc = ec2_xml_state_changes("TerminateInstances", RID, term, 1, &len);
    assert_xpath(doc, len, "//e:instancesSet/e:item/e:currentState/e:name", "shutting-down");
    check_golden("terminate_instances", doc, len);
    doc = ec2_xml_return_true("RebootInstances", RID, &len);
    assert_xpath(doc, len, "/e:RebootInstancesResponse/e:return", "true");
    check_golden("reboot_instances", doc, len);
}

static void test_instance_status(void **state)
{
    cg_instance a, b;
    const cg_instance *v[2];
    size_t len = 0;
    char *doc;

    make_instance(&a, "i-0aaaaaaaaaaaaaaaa", "r-0111111111111111a", 0, CG_STATE_RUNNING,
                  "10.0.0.5");
    make_instance(&b, "i-0bbbbbbbbbbbbbbbb", "r-0111111111111111a", 1, CG_STATE_STOPPED, NULL);
    v[0] = &a;
    v[1] = &b;
    doc = ec2_xml_instance_status(RID, v, 2, NULL, &len);
    assert_xpath(doc, len, "//e:instanceStatusSet/e:item[1]/e:instanceStatus/e:status", "ok");
    assert_xpath(doc, len, "//e:instanceStatusSet/e:item[2]/e:systemStatus/e:status",
                 "not-applicable");
    check_golden("describe_instance_status", doc, len);
    /* Its host unreachable: the system check failed, the instance's unknown. */
    a.impaired = 1;
    doc = ec2_xml_instance_status(RID, v, 1, NULL, &len);
    assert_xpath(doc, len, "//e:item[1]/e:systemStatus/e:status", "impaired");
    assert_xpath(doc, len, "//e:item[1]/e:systemStatus/e:details/e:item/e:status", "failed");
    assert_xpath(doc, len, "//e:item[1]/e:instanceStatus/e:status", "insufficient-data");
    check_golden("describe_instance_status_impaired", doc, len);
}

static void test_describe_images(void **state)
{
    cg_image_mapping maps[2] = {{.device = "vdb",
                                 .snapshot_id = "snap-0fedcba9876543210",
                                 .size_bytes = 2ULL << 30,
                                 .delete_on_termination = 1},
                                {.device = "vdc", .size_bytes = 5ULL << 30}};
    cg_image a = {.mappings = maps, .n_mappings = 2}, b = {0};
    const cg_image *v[2];
    size_t len = 0;
    char *doc;

    snprintf(a.id, sizeof(a.id), "ami-0a1b2c3d4e5f60718");
    a.name = "debian-12";
    a.description = "Debian 12 generic cloud";
    snprintf(a.architecture, sizeof(a.architecture), "x86_64");
    snprintf(a.state, sizeof(a.state), "available");
    a.created = T_LAUNCH - 86400;
    a.size_bytes = 2147483648ULL + 1;
    snprintf(a.root_snapshot, sizeof(a.root_snapshot), "snap-0123456789abcdef0");
    assert_int_equal(cg_tags_set(&a.tags, "os", "debian"), 0);
    snprintf(b.id, sizeof(b.id), "ami-12345678");
    b.name = "cirros";
    snprintf(b.architecture, sizeof(b.architecture), "x86_64");
    snprintf(b.state, sizeof(b.state), "failed");
    snprintf(b.state_reason, sizeof(b.state_reason), "virt-sysprep failed (exit 1)");
    snprintf(b.os.type, sizeof(b.os.type), "windows");
    b.created = T_LAUNCH;
    v[0] = &a;
    v[1] = &b;
    doc = ec2_xml_describe_images(RID, &cfg, v, 2, &len);
    assert_xpath(doc, len,
                 "//e:imagesSet/e:item[1]/e:blockDeviceMapping/e:item[1]/e:ebs/e:volumeSize", "3");
    assert_xpath(doc, len,
                 "//e:imagesSet/e:item[1]/e:blockDeviceMapping/e:item[1]/e:ebs/e:snapshotId",
                 "snap-0123456789abcdef0");
    /* Its further disks after the root, as /dev/vdX. */
    assert_xpath(doc, len, "count(//e:imagesSet/e:item[1]/e:blockDeviceMapping/e:item)", "3");
    assert_xpath(doc, len, "//e:imagesSet/e:item[1]/e:blockDeviceMapping/e:item[2]/e:deviceName",
                 "/dev/vdb");
    assert_xpath(doc, len,
                 "//e:imagesSet/e:item[1]/e:blockDeviceMapping/e:item[2]/e:ebs/e:snapshotId",
                 "snap-0fedcba9876543210");
    assert_xpath(doc, len,
                 "count(//e:imagesSet/e:item[1]/e:blockDeviceMapping/e:item[3]/e:ebs/e:snapshotId)",
                 "0");
    assert_xpath(doc, len,
                 "//e:imagesSet/e:item[1]/e:blockDeviceMapping/e:item[3]/e:ebs/"
                 "e:deleteOnTermination",
                 "false");
    assert_xpath(doc, len, "count(//e:imagesSet/e:item[2]/e:description)", "0");
    assert_xpath(doc, len, "//e:imagesSet/e:item[2]/e:imageOwnerId", "123456789012");
    assert_xpath(doc, len, "//e:imagesSet/e:item[1]/e:platformDetails", "Linux/UNIX");
    assert_xpath(doc, len, "count(//e:imagesSet/e:item[1]/e:platform)", "0");
    assert_xpath(doc, len, "//e:imagesSet/e:item[2]/e:platform", "windows");
    assert_xpath(doc, len, "//e:imagesSet/e:item[2]/e:stateReason/e:message",
                 "virt-sysprep failed (exit 1)");
    check_golden("describe_images", doc, len);
    cg_tags_release(&a.tags);
}

static void test_import_tasks(void **state)
{
    cg_job a = {0}, b = {0}, d = {0};
    const cg_job *v[3] = {&a, &b, &d};
    cg_tags a_tags = {0}, none = {0};
    const cg_tags *tags[3] = {&a_tags, &none, NULL};
    size_t len = 0;
    char *doc;

    snprintf(a.id, sizeof(a.id), "import-ami-0123456789abcdef0");
    snprintf(a.action, sizeof(a.action), "import-image");
    snprintf(a.target, sizeof(a.target), "ami-0a1b2c3d4e5f60718");
    snprintf(a.description, sizeof(a.description), "debian from glance");
    snprintf(a.source, sizeof(a.source), "glance://local/5b0b8a1e-6c2f-4d9e-8f1a-0c3b2a1d4e5f");
    snprintf(a.format, sizeof(a.format), "qcow2");
    a.size = 884801536ULL;
    a.state = CG_JOB_SUCCESS;
    a.progress = 100;
    b = a;
    snprintf(b.id, sizeof(b.id), "import-ami-0fedcba9876543210");
    snprintf(b.source, sizeof(b.source), "http://127.0.0.1:8080/disk.img");
    snprintf(b.format, sizeof(b.format), "raw");
    b.description[0] = '\0';
    b.state = CG_JOB_RUNNING;
    b.progress = 42;
    snprintf(b.status_message, sizeof(b.status_message), "downloading: 42.0 of 100.0 MB");
    d = a;
    snprintf(d.id, sizeof(d.id), "import-ami-00000000000000001");
    d.state = CG_JOB_FAILED;
    snprintf(d.status_message, sizeof(d.status_message), "checksum mismatch");
    cg_tags_set(&a_tags, "Name", "debian <12> & co");
    cg_tags_set(&a_tags, "team", "");
    doc = ec2_xml_import_tasks(RID, v, tags, 3, "tok", &len);
    assert_xpath(doc, len, "//e:importImageTaskSet/e:item[1]/e:status", "completed");
    assert_xpath(doc, len, "//e:importImageTaskSet/e:item[1]/e:imageId", "ami-0a1b2c3d4e5f60718");
    assert_xpath(doc, len, "count(//e:importImageTaskSet/e:item[1]/e:progress)", "0");
    assert_xpath(doc, len, "//e:importImageTaskSet/e:item[2]/e:status", "active");
    assert_xpath(doc, len, "//e:importImageTaskSet/e:item[2]/e:progress", "42");
    assert_xpath(doc, len, "count(//e:importImageTaskSet/e:item[2]/e:imageId)", "0");
    assert_xpath(doc, len, "//e:importImageTaskSet/e:item[3]/e:status", "deleted");
    assert_xpath(doc, len, "//e:importImageTaskSet/e:item[3]/e:statusMessage",
                 "checksum mismatch");
    assert_xpath(doc, len, "//e:importImageTaskSet/e:item[1]/e:tagSet/e:item[1]/e:value",
                 "debian <12> & co");
    assert_xpath(doc, len, "count(//e:importImageTaskSet/e:item[1]/e:tagSet/e:item)", "2");
    assert_xpath(doc, len, "count(//e:importImageTaskSet/e:item[2]/e:tagSet)", "1");
    assert_xpath(doc, len, "count(//e:importImageTaskSet/e:item[2]/e:tagSet/e:item)", "0");
    check_golden("describe_import_image_tasks", doc, len);
    doc = ec2_xml_import_tasks(RID, NULL, NULL, 0, NULL, &len);
    assert_xpath(doc, len, "count(//e:importImageTaskSet)", "1");
    check_golden("describe_import_image_tasks_empty", doc, len);
    b.progress = 0;
    b.state = CG_JOB_QUEUED;
    b.status_message[0] = '\0';
    doc = ec2_xml_import_image(RID, &b, NULL, &len);
    check_golden("import_image", doc, len);
    doc = ec2_xml_cancel_import_task(RID, b.id, &len);
    check_golden("cancel_import_task", doc, len);
    cg_tags_release(&a_tags);
}

static void test_create_image(void **state)
{
    size_t len = 0;
    char *doc = ec2_xml_create_image(RID, "ami-0b1c2d3e4f5061728", &len);

    check_golden("create_image", doc, len);
    doc = ec2_xml_register_image(RID, "ami-0b1c2d3e4f5061729", &len);
    check_golden("register_image", doc, len);
}

/* DescribeImageAttribute (one golden per kind of answer) and the
 * <return>true</return> answers of Deregister/Modify/ResetImageAttribute. */
static void test_image_attributes(void **state)
{
    cg_image img = {0};
    size_t len = 0;
    char *doc;

    snprintf(img.id, sizeof(img.id), "ami-0a1b2c3d4e5f60718");
    img.description = "Debian 12 <generic> & cloud";
    img.size_bytes = 3ULL << 30;
    img.is_public = 1;
    img.launch_users = "111122223333 444455556666";
    doc = ec2_xml_image_attribute(RID, &img, "description", 0, &len);
    assert_xpath(doc, len, "//e:description/e:value", "Debian 12 <generic> & cloud");
    check_golden("describe_image_attribute_description", doc, len);
    doc = ec2_xml_image_attribute(RID, &img, "launchPermission", 0, &len);
    assert_xpath(doc, len, "count(//e:launchPermission/e:item)", "3");
    assert_xpath(doc, len, "//e:launchPermission/e:item[1]/e:group", "all");
    assert_xpath(doc, len, "//e:launchPermission/e:item[3]/e:userId", "444455556666");
    check_golden("describe_image_attribute_launch_permission", doc, len);
    doc = ec2_xml_image_attribute(RID, &img, "blockDeviceMapping", 0, &len);
    assert_xpath(doc, len, "//e:blockDeviceMapping/e:item/e:ebs/e:volumeSize", "3");
    check_golden("describe_image_attribute_block_device_mapping", doc, len);
    doc = ec2_xml_image_attribute(RID, &img, "lastLaunchedTime", T_LAUNCH, &len);
    assert_xpath(doc, len, "//e:lastLaunchedTime/e:value", "2026-11-23T10:29:22Z");
    check_golden("describe_image_attribute_last_launched", doc, len);
    /* What an image without the attribute answers: an empty element. */
    doc = ec2_xml_image_attribute(RID, &img, "kernel", 0, &len);
    assert_xpath(doc, len, "count(//e:kernel/*)", "0");
    assert_xpath(doc, len, "count(//e:kernel)", "1");
    check_golden("describe_image_attribute_kernel", doc, len);
    img.is_public = 0;
    img.launch_users = NULL;
    doc = ec2_xml_image_attribute(RID, &img, "launchPermission", 0, &len);
    assert_non_null(strstr(doc, "<launchPermission/>"));
    check_golden("describe_image_attribute_launch_permission_empty", doc, len);
    /* A name outside the model is the caller's bug: no document. */
    assert_null(ec2_xml_image_attribute(RID, &img, "foo><bar", 0, &len));
    doc = ec2_xml_return_true("DeregisterImage", RID, &len);
    check_golden("deregister_image", doc, len);
    doc = ec2_xml_return_true("ModifyImageAttribute", RID, &len);
    check_golden("modify_image_attribute", doc, len);
    doc = ec2_xml_return_true("ResetImageAttribute", RID, &len);
    check_golden("reset_image_attribute", doc, len);
}

static void test_volumes(void **state)
{
    cg_volume a = {0}, b = {0};
    const cg_volume *v[2] = {&a, &b};
    size_t len = 0;
    char *doc;

    snprintf(a.id, sizeof(a.id), "vol-0a1b2c3d4e5f60718");
    snprintf(a.zone, sizeof(a.zone), "cloudgate-a");
    snprintf(a.state, sizeof(a.state), "in-use");
    snprintf(a.format, sizeof(a.format), "qcow2");
    snprintf(a.attached_to, sizeof(a.attached_to), "i-0aaaaaaaaaaaaaaaa");
    snprintf(a.device, sizeof(a.device), "vdb");
    a.size_bytes = 10ULL << 30;
    a.created = T_LAUNCH;
    assert_int_equal(cg_tags_set(&a.tags, "Name", "data"), 0);
    snprintf(b.id, sizeof(b.id), "vol-0b1c2d3e4f5061728");
    snprintf(b.zone, sizeof(b.zone), "cloudgate-a");
    snprintf(b.state, sizeof(b.state), "available");
    b.size_bytes = 1ULL << 30;
    b.created = T_LAUNCH;
    doc = ec2_xml_create_volume(RID, &b, &len);
    check_golden("create_volume", doc, len);
    doc = ec2_xml_describe_volumes(RID, v, 2, &len);
    assert_xpath(doc, len, "//e:volumeSet/e:item[1]/e:attachmentSet/e:item/e:device", "/dev/vdb");
    assert_xpath(doc, len, "count(//e:volumeSet/e:item[2]/e:attachmentSet/e:item)", "0");
    check_golden("describe_volumes", doc, len);
    doc = ec2_xml_volume_attachment("AttachVolume", RID, &a, "i-0aaaaaaaaaaaaaaaa", "vdb",
                                    "attached", T_LAUNCH, &len);
    check_golden("attach_volume", doc, len);
    doc = ec2_xml_volume_attachment("DetachVolume", RID, &b, "i-0aaaaaaaaaaaaaaaa", "vdc",
                                    "detached", T_LAUNCH, &len);
    check_golden("detach_volume", doc, len);
    doc = ec2_xml_return_true("DeleteVolume", RID, &len);
    check_golden("delete_volume", doc, len);
    cg_tags_release(&a.tags);
}

static void test_snapshots(void **state)
{
    cg_snapshot a = {0}, b = {0};
    const cg_snapshot *v[2] = {&a, &b};
    size_t len = 0;
    char *doc;

    snprintf(a.id, sizeof(a.id), "snap-0a1b2c3d4e5f60718");
    snprintf(a.volume_id, sizeof(a.volume_id), "vol-0a1b2c3d4e5f60718");
    snprintf(a.state, sizeof(a.state), "completed");
    snprintf(a.owner, sizeof(a.owner), "123456789012");
    a.progress = 100;
    a.size_bytes = (10ULL << 30) - 4096;
    a.started = T_LAUNCH;
    a.description = "before <upgrade>";
    assert_int_equal(cg_tags_set(&a.tags, "Name", "nightly"), 0);
    snprintf(b.id, sizeof(b.id), "snap-0b1c2d3e4f5061728");
    snprintf(b.volume_id, sizeof(b.volume_id), "i-0aaaaaaaaaaaaaaaa");
    snprintf(b.state, sizeof(b.state), "pending");
    snprintf(b.owner, sizeof(b.owner), "123456789012");
    b.progress = 42;
    b.size_bytes = 1ULL << 30;
    b.started = T_LAUNCH;
    doc = ec2_xml_create_snapshot(RID, &b, &len);
    assert_xpath(doc, len, "//e:progress", "42%");
    check_golden("create_snapshot", doc, len);
    doc = ec2_xml_describe_snapshots(RID, v, 2, "tok", &len);
    assert_xpath(doc, len, "//e:snapshotSet/e:item[1]/e:volumeSize", "10");
    assert_xpath(doc, len, "//e:snapshotSet/e:item[1]/e:description", "before <upgrade>");
    assert_xpath(doc, len, "count(//e:snapshotSet/e:item[2]/e:tagSet/e:item)", "0");
    check_golden("describe_snapshots", doc, len);
    doc = ec2_xml_describe_snapshots(RID, NULL, 0, NULL, &len);
    assert_xpath(doc, len, "count(//e:snapshotSet)", "1");
    check_golden("describe_snapshots_empty", doc, len);
    doc = ec2_xml_copy_snapshot(RID, &a, &len);
    check_golden("copy_snapshot", doc, len);
    doc = ec2_xml_return_true("DeleteSnapshot", RID, &len);
    check_golden("delete_snapshot", doc, len);
    cg_tags_release(&a.tags);
}

static void test_volume_ops(void **state)
{
    cg_volume_mod done = {0}, failed = {0};
    const cg_volume_mod *mods[2] = {&done, &failed};
    cg_volume a = {0}, b = {0};
    const cg_volume *v[2] = {&a, &b};
    cg_instance inst = {0};
    const cg_instance *iv[1] = {&inst};
    cg_volume_list vols = {.v = NULL, .n = 0};
    cg_volume both[2];
    size_t len = 0;
    char *doc;

    snprintf(done.volume_id, sizeof(done.volume_id), "vol-0a1b2c3d4e5f60718");
    snprintf(done.state, sizeof(done.state), "completed");
    done.original_bytes = 10ULL << 30;
    done.target_bytes = 20ULL << 30;
    done.start = T_LAUNCH;
    done.end = T_LAUNCH + 2;
    failed = done;
    snprintf(failed.volume_id, sizeof(failed.volume_id), "vol-0b1c2d3e4f5061728");
    snprintf(failed.state, sizeof(failed.state), "failed");
    snprintf(failed.message, sizeof(failed.message), "interrupted by a restart of cloudgate");
    doc = ec2_xml_modify_volume(RID, &done, &len);
    assert_xpath(doc, len, "//e:volumeModification/e:targetSize", "20");
    check_golden("modify_volume", doc, len);
    doc = ec2_xml_volumes_modifications(RID, mods, 2, "dG9rZW4=", &len);
    assert_xpath(doc, len, "count(//e:volumeModificationSet/e:item)", "2");
    check_golden("describe_volumes_modifications", doc, len);

    snprintf(a.id, sizeof(a.id), "vol-0a1b2c3d4e5f60718");
    snprintf(a.zone, sizeof(a.zone), "cloudgate-a");
    snprintf(a.attached_to, sizeof(a.attached_to), "i-0aaaaaaaaaaaaaaaa");
    snprintf(a.device, sizeof(a.device), "vdf");
    a.delete_on_termination = 1;
    a.created = T_LAUNCH;
    snprintf(b.id, sizeof(b.id), "vol-0b1c2d3e4f5061728");
    snprintf(b.zone, sizeof(b.zone), "cloudgate-a");
    doc = ec2_xml_volume_status(RID, v, 2, NULL, &len);
    assert_xpath(doc, len, "count(//e:volumeStatusSet/e:item[2]/e:attachmentStatuses/e:item)",
                 "0");
    check_golden("describe_volume_status", doc, len);

    /* DescribeInstances with volumes: the root disk, then a's volume. */
    snprintf(inst.id, sizeof(inst.id), "i-0aaaaaaaaaaaaaaaa");
    snprintf(inst.reservation_id, sizeof(inst.reservation_id), "r-0111111111111111a");
    inst.state = CG_STATE_RUNNING;
    inst.launch_time = T_LAUNCH;
    both[0] = a;
    both[1] = b;
    vols.v = both;
    vols.n = 2;
    doc = ec2_xml_describe_instances_vols(RID, &cfg, iv, 1, &vols, NULL, &len);
    assert_xpath(doc, len, "count(//e:blockDeviceMapping/e:item)", "2");
    assert_xpath(doc, len, "//e:blockDeviceMapping/e:item[1]/e:deviceName", "/dev/vda");
    assert_xpath(doc, len, "//e:blockDeviceMapping/e:item[2]/e:ebs/e:volumeId",
                 "vol-0a1b2c3d4e5f60718");
    assert_xpath(doc, len, "//e:blockDeviceMapping/e:item[2]/e:ebs/e:deleteOnTermination",
                 "true");
    free(doc);
    inst.state = CG_STATE_PENDING;
    doc = ec2_xml_describe_instances_vols(RID, &cfg, iv, 1, &vols, NULL, &len);
    assert_xpath(doc, len, "count(//e:blockDeviceMapping/e:item)", "0");
    free(doc);
}

static void test_describe_regions_zones(void **state)
{
    ec2_region r = {"cloudgate", "127.0.0.1:8773"};
    cg_zone za = {"cloudgate-a", "available"}, zb = {"cloudgate-b", "unavailable"};
    const cg_zone *zv[] = {&za, &zb};
    size_t len = 0;
    char *doc;

    doc = ec2_xml_describe_regions(RID, &r, 1, &len);
    assert_xpath(doc, len, "//e:regionInfo/e:item/e:regionEndpoint", "127.0.0.1:8773");
    check_golden("describe_regions", doc, len);
    doc = ec2_xml_describe_zones(RID, "cloudgate", zv, 2, &len);
    assert_xpath(doc, len, "//e:availabilityZoneInfo/e:item[2]/e:zoneState", "unavailable");
    check_golden("describe_availability_zones", doc, len);
}

static void test_account_attributes_and_types(void **state)
{
    static const char *const plat[] = {"EC2"};
    static const char *const none[] = {"none"};
    ec2_account_attr attrs[] = {{"supported-platforms", plat, 1}, {"default-vpc", none, 1}};
    const cg_instance_type *tv[] = {&cfg.types[1], &cfg.types[0]};
    size_t len = 0;
    char *doc;

    doc = ec2_xml_account_attributes(RID, attrs, 2, &len);
    assert_xpath(doc, len,
                 "//e:accountAttributeSet/e:item[2]/e:attributeValueSet/e:item/e:attributeValue",
                 "none");
    check_golden("describe_account_attributes", doc, len);
    doc = ec2_xml_instance_types(RID, tv, 2, "bmV4dA==", &len);
    assert_xpath(doc, len, "//e:instanceTypeSet/e:item[1]/e:memoryInfo/e:sizeInMiB", "2048");
    check_golden("describe_instance_types", doc, len);
}

static void test_describe_tags(void **state)
{
    ec2_tag_row r1 = {"i-0aaaaaaaaaaaaaaaa", "instance", "Name", "<script>x</script>"};
    ec2_tag_row r2 = {"ami-0a1b2c3d4e5f60718", "image", "os", ""};
    /* Invalid UTF-8 and a control character are replaced, so the document
     * stays well-formed. */
    ec2_tag_row r3 = {"i-0aaaaaaaaaaaaaaaa", "instance", "bad",
                      "a\x01"
                      "b\xff"};
    /* The other kinds, as botocore's ResourceType enum names them. */
    ec2_tag_row r4 = {"vol-0bbbbbbbbbbbbbbbb", "volume", "Name", "data"};
    ec2_tag_row r5 = {"key-0cccccccccccccccc", "key-pair", "team", "ops"};
    ec2_tag_row r6 = {"import-ami-0dddddddddddddddd", "import-image-task", "src", "glance"};
    const ec2_tag_row *v[] = {&r1, &r2, &r3, &r4, &r5, &r6};
    size_t len = 0;
    char *doc;

    doc = ec2_xml_describe_tags(RID, v, 6, "tok", &len);
    assert_null(strstr(doc, "<script>"));
    assert_xpath(doc, len, "//e:tagSet/e:item[1]/e:value", "<script>x</script>");
    assert_xpath(doc, len, "//e:tagSet/e:item[3]/e:value", "a?b?");
    check_golden("describe_tags", doc, len);
    doc = ec2_xml_describe_tags(RID, NULL, 0, NULL, &len);
    assert_non_null(strstr(doc, "<tagSet/>"));
    check_golden("describe_tags_empty", doc, len);
}

static void test_errors(void **state)
{
    size_t len = 0;
    char *doc;

    doc = ec2_xml_error(RID, "InvalidInstanceID.NotFound",
                        "The instance ID 'i-0aaaaaaaaaaaaaaaa' does not exist", &len);
    assert_xpath(doc, len, "/Response/Errors/Error/Code", "InvalidInstanceID.NotFound");
    assert_xpath(doc, len, "/Response/RequestID", RID);
    check_golden("error_instance_not_found", doc, len);
    doc = ec2_xml_error(RID, "DryRunOperation",
                        "Request would have succeeded, but DryRun flag is set.", &len);
    check_golden("error_dry_run", doc, len);
    doc =
        ec2_xml_error(RID, "InvalidParameterValue", "Invalid value '<&>' for InstanceType.", &len);
    assert_xpath(doc, len, "/Response/Errors/Error/Message",
                 "Invalid value '<&>' for InstanceType.");
    check_golden("error_invalid_parameter", doc, len);
}

/* ---- key pairs, attributes, consoles -------------------------------------- */

static void make_key_pair(cg_keypair *kp, const char *id, const char *name, const char *type,
                          const char *fp, const char *pub)
{
    memset(kp, 0, sizeof(*kp));
    snprintf(kp->key_id, sizeof(kp->key_id), "%s", id);
    snprintf(kp->name, sizeof(kp->name), "%s", name);
    snprintf(kp->type, sizeof(kp->type), "%s", type);
    snprintf(kp->fingerprint, sizeof(kp->fingerprint), "%s", fp);
    kp->public_key = (char *)pub;
    kp->created = T_LAUNCH;
}

static void test_key_pairs(void **state)
{
    /* Shapes only: neither key is real. */
    static const char pem[] = "-----BEGIN RSA PRIVATE KEY-----\n"
                              "MIIEowIBAAKCAQEAnotarealkeyjustthedocumentshape\n"
                              "-----END RSA PRIVATE KEY-----\n";
    cg_keypair rsa, ed;
    const cg_keypair *v[2] = {&rsa, &ed};
    size_t len = 0;
    char *doc;

    make_key_pair(&rsa, "key-0123456789abcdef0", "web key", "rsa",
                  "1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:7d:b8:ca:9f:f5:f1:6f",
                  "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== web key");
    make_key_pair(&ed, "key-0fedcba9876543210", "laptop", "ed25519",
                  "NI89MF6vuAGuV/edmhtqyapvVL7ubm7O8Hjyig0IIcw=",
                  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP1VfPMAcn9kVb9RKNFjdeBNX1ZtBvZYOlhHmWa+2P+B "
                  "laptop");
    cg_tags_set(&rsa.tags, "Name", "web & <co>");

    doc = ec2_xml_key_pair("CreateKeyPair", RID, &rsa, pem, &len);
    /* The PEM's line breaks survive. */
    assert_xpath(doc, len, "/e:CreateKeyPairResponse/e:keyMaterial", pem);
    check_golden("create_key_pair", doc, len);
    doc = ec2_xml_key_pair("ImportKeyPair", RID, &ed, NULL, &len);
    assert_null(strstr(doc, "keyMaterial"));
    check_golden("import_key_pair", doc, len);
    doc = ec2_xml_describe_key_pairs(RID, v, 2, 1, &len);
    check_golden("describe_key_pairs", doc, len);
    doc = ec2_xml_describe_key_pairs(RID, v, 2, 0, &len);
    assert_null(strstr(doc, "publicKey"));
    free(doc);
    doc = ec2_xml_error(RID, "InvalidKeyPair.NotFound", "The key pair 'nope' does not exist",
                        &len);
    check_golden("error_key_pair_not_found", doc, len);
    cg_tags_release(&rsa.tags);
}

#define PNG_1X1 "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"

static void test_instance_extras(void **state)
{
    size_t len = 0;
    char *doc;

    doc = ec2_xml_instance_attribute(RID, "i-0aaaaaaaaaaaaaaaa", "userData",
                                     "IyEvYmluL3NoCmVjaG8gaGk=", &len);
    check_golden("describe_instance_attribute", doc, len);
    doc = ec2_xml_instance_attribute(RID, "i-0aaaaaaaaaaaaaaaa", "disableApiTermination", "true",
                                     &len);
    check_golden("describe_instance_attribute_protected", doc, len);
    doc = ec2_xml_instance_attribute(RID, "i-0aaaaaaaaaaaaaaaa", "userData", NULL, &len);
    check_golden("describe_instance_attribute_empty", doc, len);
    {
        cg_instance inst;
        cg_volume vol = {.id = "vol-0b1c2d3e4f5061728", .attached_to = "i-0aaaaaaaaaaaaaaaa",
                         .device = "vdf", .created = T_LAUNCH + 5};
        cg_volume_list vols = {&vol, 1};

        make_instance(&inst, "i-0aaaaaaaaaaaaaaaa", "r-0111111111111111a", 0, CG_STATE_RUNNING,
                      "10.0.0.5");
        doc = ec2_xml_instance_block_devices(RID, &inst, &vols, &len);
        assert_xpath(doc, len, "//e:blockDeviceMapping/e:item[2]/e:ebs/e:volumeId",
                     "vol-0b1c2d3e4f5061728");
        check_golden("describe_instance_attribute_block_devices", doc, len);
        cg_instance_release(&inst);
    }
    /* "[    0.000000] Linux version 6.1\r\nlogin: " */
    doc = ec2_xml_console_output(RID, "i-0aaaaaaaaaaaaaaaa", T_LAUNCH + 60,
                                 "WyAgICAwLjAwMDAwMF0gTGludXggdmVyc2lvbiA2LjENCmxvZ2luOiA=", &len);
    check_golden("get_console_output", doc, len);
    /* A 1x1 PNG: we answer PNG where AWS answers JPG. */
    doc = ec2_xml_console_screenshot(RID, "i-0aaaaaaaaaaaaaaaa", PNG_1X1, &len);
    check_golden("get_console_screenshot", doc, len);
    doc = ec2_xml_password_data(RID, "i-0aaaaaaaaaaaaaaaa", T_LAUNCH, &len);
    assert_non_null(strstr(doc, "<passwordData/>"));
    check_golden("get_password_data", doc, len);
    doc = ec2_xml_error(RID, "OperationNotPermitted",
                        "The instance 'i-0aaaaaaaaaaaaaaaa' may not be terminated. Modify its "
                        "'disableApiTermination' instance attribute and try again.",
                        &len);
    check_golden("error_operation_not_permitted", doc, len);
}

static void test_text_chars(void **state)
{
    assert_int_equal(ec2_xml_text_chars(""), 0);
    assert_int_equal(ec2_xml_text_chars("abc"), 3);
    assert_int_equal(ec2_xml_text_chars("\xc3\xa9t\xc3\xa9"), 3); /* été */
    assert_int_equal(ec2_xml_text_chars("\xf0\x9f\x98\x80"), 1);  /* emoji */
    assert_int_equal(ec2_xml_text_chars("a\x01"), -1);
    assert_int_equal(ec2_xml_text_chars("\xc0\xaf"), -1);     /* overlong */
    assert_int_equal(ec2_xml_text_chars("\xed\xa0\x80"), -1); /* surrogate */
    assert_int_equal(ec2_xml_text_chars("\xe2\x82"), -1);     /* truncated */
}

static void test_private_dns(void **state)
{
    char out[128];

    ec2_private_dns_name("192.168.122.17", "r1", out, sizeof(out));
    assert_string_equal(out, "ip-192-168-122-17.r1.compute.internal");
    ec2_private_dns_name("", "r1", out, sizeof(out));
    assert_string_equal(out, "");
    ec2_private_dns_name("fe80::1", "r1", out, sizeof(out));
    assert_string_equal(out, "");
    ec2_private_dns_name("1.2.3.400", "r1", out, sizeof(out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe_instances_empty),
        cmocka_unit_test(test_describe_instances_two_reservations),
        cmocka_unit_test(test_run_instances),
        cmocka_unit_test(test_describe_instances_launch_failed),
        cmocka_unit_test(test_state_changes),
        cmocka_unit_test(test_instance_status),
        cmocka_unit_test(test_describe_images),
        cmocka_unit_test(test_import_tasks),
        cmocka_unit_test(test_create_image),
        cmocka_unit_test(test_image_attributes),
        cmocka_unit_test(test_volumes),
        cmocka_unit_test(test_volume_ops),
        cmocka_unit_test(test_describe_regions_zones),
        cmocka_unit_test(test_account_attributes_and_types),
        cmocka_unit_test(test_describe_tags),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_key_pairs),
        cmocka_unit_test(test_instance_extras),
        cmocka_unit_test(test_text_chars),
        cmocka_unit_test(test_private_dns),
        cmocka_unit_test(test_snapshots),
    };
    int rc = cmocka_run_group_tests(tests, setup, NULL);

    xmlCleanupParser();
    return rc;
}
