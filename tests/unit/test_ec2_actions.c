/* cloudgate: EC2 actions end to end (parameters in, XML or AWS error out)
 * against the in-memory driver of ec2_fake_driver.h.  Most requests go
 * through ec2_execute() (after the signature check, ec2_test_harness.h); a
 * few go through ec2_handle() with a real SigV4 signature.  The actions of
 * key pairs, instance attributes and consoles are in
 * test_ec2_keypair_actions.c. */
#include "ec2_test_harness.h"
#include "ec2_test_sigv4.h"

/* ---- dispatch ----------------------------------------------------------- */

static void test_dispatch_errors(void **state)
{
    expect_error(400, "MissingParameter", "Version=2016-11-15");
    expect_error(400, "InvalidAction", "Action=FlyToTheMoon");
    expect_error(400, "InvalidParameterValue", "Action=DescribeRegions&DryRun=maybe");
    assert_non_null(ec2_action_find("RunInstances"));
    assert_true(ec2_action_find("RunInstances")->flags & EC2_MUTATING);
    assert_false(ec2_action_find("DescribeInstances")->flags & EC2_MUTATING);
    assert_int_equal(ec2_error_status("DryRunOperation"), 412);
    assert_int_equal(ec2_error_status("AuthFailure"), 401);
    assert_int_equal(ec2_error_status("SignatureDoesNotMatch"), 403);
    assert_int_equal(ec2_error_status("RequestExpired"), 400);
    assert_int_equal(ec2_error_status("RequestLimitExceeded"), 503);
    assert_int_equal(ec2_error_status("InvalidInstanceID.NotFound"), 400);
}

static void test_describe_cloud(void **state)
{
    gw_response *r;

    r = expect_ok("Action=DescribeRegions");
    expect_xp(r, "//e:regionInfo/e:item/e:regionEndpoint", HOST);
    done(r);
    expect_error(400, "InvalidParameterValue", "Action=DescribeRegions&RegionName.1=us-east-1");
    r = expect_ok("Action=DescribeRegions&Filter.1.Name=region-name&Filter.1.Value.1=x*");
    expect_xp(r, "count(//e:regionInfo/e:item)", "0");
    done(r);

    r = expect_ok("Action=DescribeAvailabilityZones&ZoneName.1=cloudgate-b");
    expect_xp(r, "count(//e:availabilityZoneInfo/e:item)", "1");
    expect_xp(r, "//e:availabilityZoneInfo/e:item/e:zoneName", "cloudgate-b");
    done(r);
    expect_error(400, "InvalidParameterValue",
                 "Action=DescribeAvailabilityZones&ZoneName.1=cloudgate-z");

    r = expect_ok("Action=DescribeAccountAttributes&AttributeName.1=default-vpc");
    expect_xp(r, "count(//e:accountAttributeSet/e:item)", "1");
    done(r);
    expect_error(400, "InvalidParameterValue",
                 "Action=DescribeAccountAttributes&AttributeName.1=nope");

    r = expect_ok("Action=DescribeInstanceTypes&Filter.1.Name=vcpu-info.default-vcpus"
                  "&Filter.1.Value.1=2");
    expect_xp(r, "count(//e:instanceTypeSet/e:item)", "2");
    expect_xp(r, "//e:instanceTypeSet/e:item[1]/e:instanceType", "t2.large");
    done(r);
    r = expect_ok("Action=DescribeInstanceTypes&MaxResults=5");
    expect_xp(r, "count(//e:instanceTypeSet/e:item)", "5");
    expect_xp(r, "count(//e:nextToken)", "1");
    done(r);
    expect_error(400, "InvalidParameterValue", "Action=DescribeInstanceTypes&MaxResults=101");
    assert_non_null(strstr(expect_error(400, "InvalidInstanceType",
                                        "Action=DescribeInstanceTypes&InstanceType.1=t2.micro"
                                        "&InstanceType.2=x9.huge"),
                           "[x9.huge]"));
}

static void test_describe_images(void **state)
{
    gw_response *r;

    r = expect_ok("Action=DescribeImages");
    expect_xp(r, "count(//e:imagesSet/e:item)", "2");
    done(r);
    r = expect_ok("Action=DescribeImages&Owner.1=amazon");
    expect_xp(r, "count(//e:imagesSet/e:item)", "0");
    done(r);
    r = expect_ok("Action=DescribeImages&Owner.1=self&Filter.1.Name=name&Filter.1.Value.1=deb*");
    expect_xp(r, "//e:imagesSet/e:item/e:imageId", AMI);
    done(r);
    expect_error(400, "InvalidAMIID.Malformed", "Action=DescribeImages&ImageId.1=ami-xyz");
    assert_string_equal(expect_error(400, "InvalidAMIID.NotFound",
                                     "Action=DescribeImages&ImageId.1=ami-00000001"
                                     "&ImageId.2=" AMI "&ImageId.3=ami-00000002"),
                        "The image ids '[ami-00000001, ami-00000002]' do not exist");
}

/* ---- RunInstances ------------------------------------------------------- */

static void test_run_validation(void **state)
{
    static const struct {
        const char *form;
        const char *code;
    } cases[] = {
        {"MinCount=1&MaxCount=1", "MissingParameter"},
        {"ImageId=" AMI "&MaxCount=1", "MissingParameter"},
        {"ImageId=ami-zz&MinCount=1&MaxCount=1", "InvalidAMIID.Malformed"},
        {"ImageId=ami-00000001&MinCount=1&MaxCount=1", "InvalidAMIID.NotFound"},
        {"ImageId=" AMI_PENDING "&MinCount=1&MaxCount=1", "InvalidAMIID.Unavailable"},
        {"ImageId=" AMI "&MinCount=2&MaxCount=1", "InvalidParameterValue"},
        {"ImageId=" AMI "&MinCount=0&MaxCount=1", "InvalidParameterValue"},
        {"ImageId=" AMI "&MinCount=1&MaxCount=x", "InvalidParameterValue"},
        {"ImageId=" AMI "&MinCount=1&MaxCount=1&InstanceType=x9.huge", "InvalidParameterValue"},
        {"ImageId=" AMI "&MinCount=1&MaxCount=1&Placement.AvailabilityZone=mars",
         "InvalidParameterValue"},
        {"ImageId=" AMI "&MinCount=1&MaxCount=1&UserData=%21%21", "InvalidParameterValue"},
        /* volume is accepted (AWS's root volume); a kind RunInstances does not make is not */
        {"ImageId=" AMI "&MinCount=1&MaxCount=1&TagSpecification.1.ResourceType=key-pair"
         "&TagSpecification.1.Tag.1.Key=a",
         "InvalidParameterValue"},
        {"ImageId=" AMI "&MinCount=1&MaxCount=1&TagSpecification.1.ResourceType=volume"
         "&TagSpecification.1.Tag.1.Key=aws%3Ax",
         "InvalidParameterValue"},
        {"ImageId=" AMI "&MinCount=1&MaxCount=1&TagSpecification.1.Tag.1.Key=a",
         "MissingParameter"},
        {"ImageId=" AMI "&MinCount=1&MaxCount=1&TagSpecification.1.ResourceType=instance"
         "&TagSpecification.1.Tag.1.Key=aws%3Aname",
         "InvalidParameterValue"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(400, cases[i].code, "Action=RunInstances&%s", cases[i].form);
    assert_int_equal(drv->mutations, 0);
    assert_int_equal(drv->instances.n, 0);
}

static void test_run_dry_run(void **state)
{
    assert_string_equal(expect_error(412, "DryRunOperation",
                                     "Action=RunInstances&ImageId=" AMI
                                     "&MinCount=1&MaxCount=1&DryRun=true"),
                        "Request would have succeeded, but DryRun flag is set.");
    /* Validation comes first: a bad image is reported even with DryRun. */
    expect_error(400, "InvalidAMIID.NotFound",
                 "Action=RunInstances&ImageId=ami-00000001&MinCount=1&MaxCount=1&DryRun=true");
    assert_int_equal(drv->instances.n, 0);
    assert_int_equal(drv->mutations, 0);
}

static void test_run_ok(void **state)
{
    gw_response *r;

    done(expect_ok("Action=CreateKeyPair&KeyName=k1&KeyType=ed25519"));
    /* "#!/bin/sh\necho hi" */
    r = expect_ok("Action=RunInstances&ImageId=" AMI "&MinCount=2&MaxCount=2&InstanceType=t2.small"
                  "&KeyName=k1&UserData=IyEvYmluL3NoCmVjaG8gaGk%%3D"
                  "&Placement.AvailabilityZone=cloudgate-b"
                  "&TagSpecification.1.ResourceType=instance"
                  "&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=x+y"
                  "&BlockDeviceMapping.1.DeviceName=%%2Fdev%%2Fvdb"
                  "&BlockDeviceMapping.1.Ebs.VolumeSize=1");
    expect_xp(r, "count(//e:instancesSet/e:item)", "2");
    expect_xp(r, "/e:RunInstancesResponse/e:ownerId", "123456789012");
    expect_xp(r, "//e:instancesSet/e:item[2]/e:amiLaunchIndex", "1");
    expect_xp(r, "//e:instancesSet/e:item[1]/e:instanceState/e:code", "0");
    expect_xp(r, "//e:instancesSet/e:item[1]/e:instanceType", "t2.small");
    expect_xp(r, "//e:instancesSet/e:item[1]/e:keyName", "k1");
    expect_xp(r, "//e:instancesSet/e:item[1]/e:placement/e:availabilityZone", "cloudgate-b");
    expect_xp(r, "//e:instancesSet/e:item[2]/e:tagSet/e:item[e:key='Name']/e:value", "x y");
    expect_xp(r, "count(//e:privateIpAddress)", "0");
    done(r);
    assert_int_equal(drv->last_user_data_len, 17);
    assert_memory_equal(drv->last_user_data, "#!/bin/sh\necho hi", 17);
    /* The key pair's public key goes to the driver for the seed. */
    assert_string_equal(drv->last_key_name, "k1");
    assert_int_equal(strncmp(drv->last_public_key, "ssh-ed25519 AAAA", 16), 0);
    /* No InstanceType: AWS's m1.small. */
    r = expect_ok("Action=RunInstances&ImageId=" AMI "&MinCount=1&MaxCount=1");
    expect_xp(r, "//e:instanceType", "m1.small");
    done(r);
}

static void test_run_user_data_limit(void **state)
{
    unsigned char *raw = malloc(16385);
    char *b64, *enc;

    memset(raw, 'u', 16385);
    b64 = cg_base64_encode(raw, 16384);
    enc = gw_uri_encode(b64, strlen(b64), 0);
    gw_response *r =
        expect_ok("Action=RunInstances&ImageId=" AMI "&MinCount=1&MaxCount=1&UserData=%s", enc);
    done(r);
    assert_int_equal(drv->last_user_data_len, 16384);
    free(b64);
    free(enc);
    b64 = cg_base64_encode(raw, 16385);
    enc = gw_uri_encode(b64, strlen(b64), 0);
    expect_error(400, "InvalidParameterValue",
                 "Action=RunInstances&ImageId=" AMI "&MinCount=1&MaxCount=1&UserData=%s", enc);
    free(b64);
    free(enc);
    free(raw);
}

static void test_run_client_token(void **state)
{
    gw_response *r1, *r2;
    char *rid1, *rid2;

    r1 = expect_ok("Action=RunInstances&ImageId=" AMI "&MinCount=2&MaxCount=2&ClientToken=abc");
    r2 = expect_ok("Action=RunInstances&ImageId=" AMI "&MinCount=2&MaxCount=2&ClientToken=abc");
    rid1 = xp(r1, "/e:RunInstancesResponse/e:reservationId");
    rid2 = xp(r2, "/e:RunInstancesResponse/e:reservationId");
    assert_string_equal(rid1, rid2);
    expect_xp(r2, "count(//e:instancesSet/e:item)", "2");
    expect_xp(r2, "//e:instancesSet/e:item[1]/e:clientToken", "abc");
    assert_int_equal(drv->instances.n, 2);
    free(rid1);
    free(rid2);
    done(r1);
    done(r2);
    expect_error(400, "IdempotentParameterMismatch",
                 "Action=RunInstances&ImageId=" AMI
                 "&MinCount=1&MaxCount=1&InstanceType=t2.large&ClientToken=abc");
    assert_int_equal(drv->instances.n, 2);
}

static void test_run_capacity(void **state)
{
    drv->capacity = 1;
    expect_error(500, "InsufficientInstanceCapacity",
                 "Action=RunInstances&ImageId=" AMI "&MinCount=2&MaxCount=2");
    /* MaxCount is a wish: as many as fit, at least MinCount. */
    gw_response *r = expect_ok("Action=RunInstances&ImageId=" AMI "&MinCount=1&MaxCount=3");
    expect_xp(r, "count(//e:instancesSet/e:item)", "1");
    done(r);
}

/* ---- DescribeInstances / DescribeInstanceStatus ------------------------- */

static void test_describe_instances(void **state)
{
    char first[24], second[24];
    gw_response *r;

    r = expect_ok("Action=DescribeInstances");
    expect_xp(r, "count(//e:reservationSet)", "1");
    expect_xp(r, "count(//e:reservationSet/e:item)", "0");
    done(r);
    launch(2,
           "&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=Name"
           "&TagSpecification.1.Tag.1.Value=web",
           first);
    launch(1, NULL, second);
    fake_settle(drv);

    r = expect_ok("Action=DescribeInstances");
    expect_xp(r, "count(//e:reservationSet/e:item)", "2");
    expect_xp(r, "count(//e:reservationSet/e:item[1]/e:instancesSet/e:item)", "2");
    expect_xp(r, "//e:reservationSet/e:item[1]/e:instancesSet/e:item[1]/e:privateDnsName",
              "ip-10-0-0-2.cloudgate.compute.internal");
    done(r);
    r = expect_ok("Action=DescribeInstances&Filter.1.Name=tag%%3AName&Filter.1.Value.1=w?b");
    expect_xp(r, "count(//e:instancesSet/e:item)", "2");
    done(r);
    r = expect_ok("Action=DescribeInstances&Filter.1.Name=private-ip-address"
                  "&Filter.1.Value.1=10.0.0.4&Filter.2.Name=instance-state-name"
                  "&Filter.2.Value.1=running");
    expect_xp(r, "//e:instancesSet/e:item/e:instanceId", second);
    done(r);
    r = expect_ok("Action=DescribeInstances&Filter.1.Name=private-dns-name"
                  "&Filter.1.Value.1=ip-10-0-0-3.*&Filter.2.Name=tag-key&Filter.2.Value.1=Name");
    expect_xp(r, "count(//e:instancesSet/e:item)", "1");
    done(r);
    r = expect_ok("Action=DescribeInstances&InstanceId.1=%s", second);
    expect_xp(r, "count(//e:instancesSet/e:item)", "1");
    done(r);

    expect_error(400, "InvalidParameterCombination",
                 "Action=DescribeInstances&InstanceId.1=%s&MaxResults=5", first);
    expect_error(400, "InvalidInstanceID.Malformed", "Action=DescribeInstances&InstanceId.1=i-1");
    assert_string_equal(expect_error(400, "InvalidInstanceID.NotFound",
                                     "Action=DescribeInstances&InstanceId.1=i-00000001"
                                     "&InstanceId.2=%s&InstanceId.3=i-0000000000000000f",
                                     first),
                        "The instance IDs 'i-00000001, i-0000000000000000f' do not exist");
    assert_string_equal(expect_error(400, "InvalidInstanceID.NotFound",
                                     "Action=DescribeInstances&InstanceId.1=i-00000001"
                                     "&InstanceId.2=i-00000001"),
                        "The instance ID 'i-00000001' does not exist");
    expect_error(400, "InvalidParameterValue",
                 "Action=DescribeInstances&Filter.1.Name=colour&Filter.1.Value.1=red");
    /* Read-only actions honour DryRun too, after validating. */
    expect_error(412, "DryRunOperation", "Action=DescribeInstances&DryRun=true");
    expect_error(400, "InvalidParameterValue",
                 "Action=DescribeInstances&DryRun=true&Filter.1.Name=x&Filter.1.Value.1=y");
}

static void test_describe_pagination(void **state)
{
    char token[512] = "", *tok, *enc;
    gw_response *r;
    int pages = 0, total = 0, n;

    launch(12, NULL, NULL);
    do {
        enc = gw_uri_encode(token, strlen(token), 0);
        r = expect_ok("Action=DescribeInstances&MaxResults=5%s%s", *token ? "&NextToken=" : "",
                      enc);
        free(enc);
        tok = xp(r, "count(//e:instancesSet/e:item)");
        n = atoi(tok);
        free(tok);
        tok = xp(r, "//e:nextToken");
        snprintf(token, sizeof(token), "%s", tok);
        free(tok);
        pages++;
        total += n;
        assert_int_equal(n, pages < 3 ? 5 : 2);
        if (pages == 3)
            expect_xp(r, "count(//e:nextToken)", "0");
        done(r);
    } while (*token && pages < 10);
    assert_int_equal(pages, 3);
    assert_int_equal(total, 12);
    expect_error(400, "InvalidParameterValue", "Action=DescribeInstances&NextToken=bogus");
    expect_error(400, "InvalidParameterValue", "Action=DescribeInstances&MaxResults=4");
    expect_error(400, "InvalidParameterValue", "Action=DescribeInstanceStatus&MaxResults=1001");
}

static void test_instance_status(void **state)
{
    char a[24], b[24];
    gw_response *r;

    launch(1, NULL, a);
    launch(1, NULL, b);
    fake_settle(drv);
    r = expect_ok("Action=StopInstances&InstanceId.1=%s", b);
    done(r);
    r = expect_ok("Action=DescribeInstanceStatus");
    expect_xp(r, "count(//e:instanceStatusSet/e:item)", "1");
    expect_xp(r, "//e:instanceStatusSet/e:item/e:instanceId", a);
    expect_xp(r, "//e:instanceStatusSet/e:item/e:instanceStatus/e:status", "ok");
    done(r);
    r = expect_ok("Action=DescribeInstanceStatus&IncludeAllInstances=true");
    expect_xp(r, "count(//e:instanceStatusSet/e:item)", "2");
    done(r);
    r = expect_ok("Action=DescribeInstanceStatus&IncludeAllInstances=true"
                  "&Filter.1.Name=instance-state-code&Filter.1.Value.1=80");
    expect_xp(r, "//e:instanceStatusSet/e:item/e:instanceId", b);
    done(r);
}

/* ---- state changes ------------------------------------------------------ */

static void test_state_changes(void **state)
{
    char a[24], b[24];
    gw_response *r;
    unsigned before;

    launch(1, NULL, a);
    launch(1, NULL, b);
    fake_settle(drv);

    /* One missing id: nothing happens to the others. */
    before = drv->mutations;
    assert_string_equal(expect_error(400, "InvalidInstanceID.NotFound",
                                     "Action=StopInstances&InstanceId.1=%s"
                                     "&InstanceId.2=i-0000000000000dead",
                                     a),
                        "The instance ID 'i-0000000000000dead' does not exist");
    expect_error(412, "DryRunOperation", "Action=TerminateInstances&InstanceId.1=%s&DryRun=true",
                 a);
    expect_error(400, "MissingParameter", "Action=StartInstances");
    expect_error(400, "InvalidInstanceID.Malformed", "Action=StartInstances&InstanceId.1=x");
    assert_int_equal(drv->mutations, before);

    r = expect_ok("Action=StopInstances&InstanceId.1=%s&InstanceId.2=%s&InstanceId.3=%s", a, b, a);
    expect_xp(r, "count(//e:instancesSet/e:item)", "2"); /* duplicate acted on once */
    expect_xp(r, "//e:instancesSet/e:item[1]/e:currentState/e:code", "64");
    expect_xp(r, "//e:instancesSet/e:item[1]/e:previousState/e:name", "running");
    done(r);
    r = expect_ok("Action=StartInstances&InstanceId.1=%s", a);
    expect_xp(r, "//e:instancesSet/e:item/e:previousState/e:code", "80");
    expect_xp(r, "//e:instancesSet/e:item/e:currentState/e:name", "pending");
    done(r);
    r = expect_ok("Action=TerminateInstances&InstanceId.1=%s", b);
    expect_xp(r, "//e:instancesSet/e:item/e:currentState/e:code", "32");
    expect_xp(r, "//e:instancesSet/e:item/e:previousState/e:code", "80");
    done(r);
    /* Terminated instances stay visible. */
    r = expect_ok("Action=DescribeInstances&Filter.1.Name=instance-state-name"
                  "&Filter.1.Value.1=terminated");
    expect_xp(r, "//e:instancesSet/e:item/e:instanceId", b);
    expect_xp(r, "//e:instancesSet/e:item/e:instanceState/e:code", "48");
    done(r);
    assert_non_null(strstr(
        expect_error(400, "IncorrectInstanceState", "Action=StartInstances&InstanceId.1=%s", b),
        b));
    expect_error(400, "IncorrectInstanceState", "Action=RebootInstances&InstanceId.1=%s", b);
    fake_settle(drv);
    r = expect_ok("Action=RebootInstances&InstanceId.1=%s", a);
    expect_xp(r, "/e:RebootInstancesResponse/e:return", "true");
    done(r);
    r = expect_ok("Action=StopInstances&InstanceId.1=%s&Force=true", a);
    expect_xp(r, "//e:instancesSet/e:item/e:currentState/e:code", "80");
    done(r);
}

static void test_backend_errors(void **state)
{
    cg_driver no_reboot = fake_driver;
    char a[24];
    const char *msg;

    launch(1, NULL, a);
    fake_settle(drv);
    drv->fail_list = CG_ERR_UNAVAILABLE;
    expect_error(503, "Unavailable", "Action=DescribeInstances");
    drv->fail_list = CG_ERR_INTERNAL;
    msg = expect_error(500, "InternalError", "Action=DescribeInstances");
    /* The backend's reason reaches the operator (and the log). */
    assert_non_null(strstr(msg, "injected failure (qemu:///system)"));
    drv->fail_list = CG_ERR_NONE;
    no_reboot.instance_reboot = NULL;
    ctx.driver = &no_reboot;
    expect_error(400, "UnsupportedOperation", "Action=RebootInstances&InstanceId.1=%s", a);
    ctx.driver = &fake_driver;
}

/* A driver with instances_version: DescribeInstances reuses the listing it
 * made while the version stands, until the gateway goes idle (ec2_idle,
 * called by the connection upkeep before it trims the heap). */
static unsigned versioned_lists;

static int counting_list(cg_drv *d, cg_instance_list *out, cg_error *err)
{
    versioned_lists++;
    return fake_instance_list(d, out, err);
}

static uint64_t steady_version(cg_drv *d)
{
    (void)d;
    return 7;
}

static void test_idle_drops_the_kept_listing(void **state)
{
    cg_driver versioned = fake_driver;
    char a[24];
    gw_response *r;

    launch(1, NULL, a);
    fake_settle(drv);
    versioned.instance_list = counting_list;
    versioned.instances_version = steady_version;
    ctx.driver = &versioned;
    versioned_lists = 0;
    r = expect_ok("Action=DescribeInstances");
    done(r);
    r = expect_ok("Action=DescribeInstances");
    expect_xp(r, "//e:instancesSet/e:item/e:instanceId", a);
    done(r);
    assert_int_equal(versioned_lists, 1);
    ec2_idle();
    r = expect_ok("Action=DescribeInstances");
    expect_xp(r, "//e:instancesSet/e:item/e:instanceId", a);
    done(r);
    assert_int_equal(versioned_lists, 2);
    ec2_idle(); /* the next test's driver lists afresh */
    ctx.driver = &fake_driver;
}

/* ---- tags --------------------------------------------------------------- */

static void test_create_tags_validation(void **state)
{
    char a[24], key[200], big[2000];
    size_t i, o;
    unsigned before;

    launch(1, NULL, a);
    memset(key, 'k', 129);
    key[129] = '\0';
    expect_error(400, "InvalidParameterValue", "Action=CreateTags&ResourceId.1=%s&Tag.1.Key=%s", a,
                 key);
    key[128] = '\0';
    done(expect_ok("Action=CreateTags&ResourceId.1=%s&Tag.1.Key=%s", a, key));
    memset(big, 'v', 257);
    big[257] = '\0';
    expect_error(400, "InvalidParameterValue",
                 "Action=CreateTags&ResourceId.1=%s&Tag.1.Key=a&Tag.1.Value=%s", a, big);
    expect_error(400, "InvalidParameterValue",
                 "Action=CreateTags&ResourceId.1=%s&Tag.1.Key=AWS%%3Ax", a);
    expect_error(400, "MissingParameter", "Action=CreateTags&ResourceId.1=%s", a);
    expect_error(400, "MissingParameter", "Action=CreateTags&Tag.1.Key=a");
    expect_error(400, "InvalidID", "Action=CreateTags&ResourceId.1=vol-123&Tag.1.Key=a");
    expect_error(400, "InvalidInstanceID.NotFound",
                 "Action=CreateTags&ResourceId.1=i-0000000000000dead&Tag.1.Key=a");
    expect_error(400, "InvalidParameterValue",
                 "Action=CreateTags&ResourceId.1=%s&Tag.1.Key=a&Tag.2.Key=a", a);
    expect_error(400, "InvalidParameterValue", "Action=CreateTags&ResourceId.1=%s&Tag.1.Key=a%%01",
                 a);
    /* 50 per resource: one exists, 50 more would make 51. */
    for (i = 1, o = 0; i <= 50; i++)
        o += (size_t)snprintf(big + o, sizeof(big) - o, "&Tag.%zu.Key=t%zu", i, i);
    before = drv->mutations;
    expect_error(400, "TagLimitExceeded", "Action=CreateTags&ResourceId.1=%s%s", a, big);
    expect_error(412, "DryRunOperation",
                 "Action=CreateTags&ResourceId.1=%s&Tag.1.Key=a&DryRun=true", a);
    assert_int_equal(drv->mutations, before);
}

static void test_tags_lifecycle(void **state)
{
    char a[24];
    gw_response *r;

    launch(1, NULL, a);
    r = expect_ok("Action=CreateTags&ResourceId.1=%s&ResourceId.2=" AMI
                  "&Tag.1.Key=Name&Tag.1.Value=web&Tag.2.Key=env&Tag.2.Value=",
                  a);
    expect_xp(r, "/e:CreateTagsResponse/e:return", "true");
    done(r);
    r = expect_ok("Action=DescribeTags");
    expect_xp(r, "count(//e:tagSet/e:item)", "4");
    /* Sorted by resource id, then key. */
    expect_xp(r, "//e:tagSet/e:item[1]/e:resourceId", AMI);
    expect_xp(r, "//e:tagSet/e:item[1]/e:key", "Name");
    done(r);
    r = expect_ok("Action=DescribeTags&Filter.1.Name=resource-type&Filter.1.Value.1=instance"
                  "&Filter.2.Name=key&Filter.2.Value.1=Name");
    expect_xp(r, "count(//e:tagSet/e:item)", "1");
    expect_xp(r, "//e:tagSet/e:item/e:value", "web");
    done(r);
    r = expect_ok("Action=DescribeImages&Filter.1.Name=tag%%3AName&Filter.1.Value.1=web");
    expect_xp(r, "//e:imagesSet/e:item/e:imageId", AMI);
    done(r);

    /* A value that does not match leaves the tag; "" removes only an
     * empty value; no Value removes whatever the value. */
    done(expect_ok("Action=DeleteTags&ResourceId.1=%s&Tag.1.Key=Name&Tag.1.Value=db", a));
    done(expect_ok("Action=DeleteTags&ResourceId.1=%s&Tag.1.Key=env&Tag.1.Value=", a));
    r = expect_ok("Action=DescribeTags&Filter.1.Name=resource-id&Filter.1.Value.1=%s", a);
    expect_xp(r, "count(//e:tagSet/e:item)", "1");
    expect_xp(r, "//e:tagSet/e:item/e:key", "Name");
    done(r);
    done(expect_ok("Action=DeleteTags&ResourceId.1=" AMI)); /* no Tag.N: all of them */
    r = expect_ok("Action=DescribeTags&Filter.1.Name=resource-id&Filter.1.Value.1=" AMI);
    expect_xp(r, "count(//e:tagSet/e:item)", "0");
    done(r);
    expect_error(412, "DryRunOperation", "Action=DeleteTags&ResourceId.1=%s&DryRun=true", a);
    expect_error(400, "InvalidAMIID.NotFound", "Action=DeleteTags&ResourceId.1=ami-00000001");
}

static void test_describe_tags_pages(void **state)
{
    char a[24], *tok, *enc;
    gw_response *r;

    launch(1,
           "&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=a"
           "&TagSpecification.1.Tag.2.Key=b&TagSpecification.1.Tag.3.Key=c"
           "&TagSpecification.1.Tag.4.Key=d&TagSpecification.1.Tag.5.Key=e"
           "&TagSpecification.1.Tag.6.Key=f&TagSpecification.1.Tag.7.Key=g",
           a);
    r = expect_ok("Action=DescribeTags&MaxResults=5");
    expect_xp(r, "count(//e:tagSet/e:item)", "5");
    expect_xp(r, "//e:tagSet/e:item[5]/e:key", "e");
    tok = xp(r, "//e:nextToken");
    done(r);
    enc = gw_uri_encode(tok, strlen(tok), 0);
    r = expect_ok("Action=DescribeTags&MaxResults=5&NextToken=%s", enc);
    expect_xp(r, "count(//e:tagSet/e:item)", "2");
    expect_xp(r, "//e:tagSet/e:item[1]/e:key", "f");
    expect_xp(r, "count(//e:nextToken)", "0");
    done(r);
    /* A DescribeTags token means nothing to DescribeInstances. */
    expect_error(400, "InvalidParameterValue", "Action=DescribeInstances&NextToken=%s", enc);
    free(enc);
    free(tok);
}

/* ---- ec2_handle: signatures ---------------------------------------------- */

static void handle_body(const char *secret, const char *method, const char *text,
                        int want_status, const char *want_code)
{
    char *body = strdup(text);
    char date[17], auth[512];
    gw_response resp = {0};
    gw_request req;

    assert_non_null(body);
    request_init(&req, method, body);
    if (secret)
        sign_v4(&req, req.headers, HOST, cred.key_id, secret, date, auth, sizeof(auth));
    ec2_handle(&ctx, &req, &resp);
    assert_int_equal(gw_response_flatten(&resp), 0);
    if (resp.status != want_status || strcmp(resp.error_code, want_code) != 0)
        fail_msg("got %d '%s', want %d '%s'\n%s", resp.status, resp.error_code, want_status,
                 want_code, resp.body);
    assert_string_equal(resp.content_type, EC2_CONTENT_TYPE);
    /* The access log names the action once the sender is known: an unsigned
     * body is never parsed, not even for the log. */
    if (want_status == 200)
        assert_string_equal(resp.action, "DescribeRegions");
    else if (!secret)
        assert_string_equal(resp.action, "");
    gw_response_release(&resp);
    free(body);
}

static void handle(const char *secret, const char *method, int want_status, const char *want_code)
{
    handle_body(secret, method, "Action=DescribeRegions&Version=2016-11-15", want_status,
                want_code);
}

static void test_handle_signatures(void **state)
{
    handle(NULL, "POST", 401, "MissingAuthenticationToken");
    handle(cred.secret, "POST", 200, "");
    handle("not-the-secret", "POST", 403, "SignatureDoesNotMatch");
    handle(cred.secret, "DELETE", 400, "InvalidAction");
}

/* Authenticate first, parse second: an unsigned body is not decoded (so its
 * encoding errors and size do not matter), a signed one is, after the
 * signature is checked over its raw bytes. */
static void test_handle_auth_before_parse(void **state)
{
    char *many = malloc(64 * 1024);
    size_t o = 0;

    handle_body(NULL, "POST", "Action=DescribeRegions&bad=%G1", 401,
                "MissingAuthenticationToken");
    handle_body(cred.secret, "POST", "Action=DescribeRegions&bad=%G1", 400,
                "MalformedQueryString");
    handle_body("not-the-secret", "POST", "Action=DescribeRegions&bad=%G1", 403,
                "SignatureDoesNotMatch");
    /* A SigV2 field in an unsigned body makes it a SigV2 request. */
    handle_body(NULL, "POST", "Action=DescribeRegions&AWSAccessKeyId=nobody&Signature=x", 400,
                "IncompleteSignature");
    assert_non_null(many);
    o += (size_t)sprintf(many, "Action=DescribeRegions");
    for (unsigned i = 0; i < 1500; i++)
        o += (size_t)sprintf(many + o, "&p%u=1", i);
    cfg.max_params = 1000;
    handle_body(NULL, "POST", many, 401, "MissingAuthenticationToken");
    handle_body(cred.secret, "POST", many, 400, "MalformedQueryString");
    cfg.max_params = 0;
    handle_body(cred.secret, "POST", many, 200, "");
    free(many);
}

static void test_overloaded(void **state)
{
    gw_response resp = {0};
    gw_request req;
    char body[] = "";

    request_init(&req, "POST", body);
    ec2_overloaded(&req, &resp);
    assert_int_equal(resp.status, 503);
    assert_string_equal(resp.error_code, "RequestLimitExceeded");
    expect_xp(&resp, "/Response/Errors/Error/Code", "RequestLimitExceeded");
    gw_response_release(&resp);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_dispatch_errors),
        T(test_describe_cloud),
        T(test_describe_images),
        T(test_run_validation),
        T(test_run_dry_run),
        T(test_run_ok),
        T(test_run_user_data_limit),
        T(test_run_client_token),
        T(test_run_capacity),
        T(test_describe_instances),
        T(test_describe_pagination),
        T(test_instance_status),
        T(test_state_changes),
        T(test_backend_errors),
        T(test_idle_drops_the_kept_listing),
        T(test_create_tags_validation),
        T(test_tags_lifecycle),
        T(test_describe_tags_pages),
        T(test_handle_signatures),
        T(test_handle_auth_before_parse),
        T(test_overloaded),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    xmlCleanupParser();
    return rc;
}
