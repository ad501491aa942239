#!/usr/bin/python3
"""Parse every tests/ec2/*.expected golden with botocore's own EC2 parser.

Run with Debian's /usr/bin/python3 (python3-botocore 1.29); a pyenv python
on PATH usually lacks botocore.  Usage: check_botocore.py [GOLDEN_DIR]

For each golden:
  * the operation is named by the root element (<DescribeInstancesResponse>
    -> DescribeInstances); <Response> is an error document;
  * every element must be one the model knows at that place: botocore skips
    unknown elements silently, so a misspelt name would otherwise vanish;
  * the dict botocore returns must hold the values listed in EXPECT below.
Exits non-zero on any failure, or when a golden has no expectations.
"""
import datetime
import glob
import os
import sys
import xml.etree.ElementTree as ET

import botocore.parsers
import botocore.session
import dateutil.tz

REQUEST_ID = "7f1e3a52-0c4b-4d7e-9a61-2b8c5d9e0f13"
ERROR_STATUS = {"DryRunOperation": 412}


def get(obj, path):
    """Follow a path like 'Reservations.0.Instances.1.State.Code'."""
    for part in path.split("."):
        if isinstance(obj, list):
            obj = obj[int(part)]
        else:
            obj = obj[part]
    return obj


def absent(obj, path):
    try:
        get(obj, path)
    except (KeyError, IndexError):
        return True
    return False


# golden name -> list of (path, expected value) or (path, None) for "absent".
EXPECT = {
    "describe_instances_empty": [
        ("Reservations", []),
        ("NextToken", None),
    ],
    "describe_instances_two_reservations": [
        ("Reservations.0.ReservationId", "r-0222222222222222b"),
        ("Reservations.0.OwnerId", "123456789012"),
        ("Reservations.0.Groups", []),
        ("Reservations.0.Instances.0.InstanceId", "i-0cccccccccccccccc"),
        ("Reservations.0.Instances.0.State.Code", 80),
        ("Reservations.0.Instances.0.State.Name", "stopped"),
        ("Reservations.0.Instances.0.StateTransitionReason", "User initiated"),
        ("Reservations.0.Instances.1.State.Code", 16),
        ("Reservations.0.Instances.1.PrivateIpAddress", "10.0.0.5"),
        ("Reservations.0.Instances.1.PrivateDnsName", "ip-10-0-0-5.cloudgate.compute.internal"),
        ("Reservations.0.Instances.1.KeyName", "mykey"),
        ("Reservations.0.Instances.1.ClientToken", "tok-1"),
        ("Reservations.0.Instances.1.AmiLaunchIndex", 1),
        ("Reservations.0.Instances.1.Placement.AvailabilityZone", "cloudgate-a"),
        ("Reservations.0.Instances.1.Tags",
         [{"Key": "Name", "Value": 'web <1> & "co"'}, {"Key": "env", "Value": ""}]),
        ("Reservations.0.Instances.1.CpuOptions.CoreCount", 1),
        ("Reservations.0.Instances.1.EbsOptimized", False),
        ("Reservations.1.ReservationId", "r-0111111111111111a"),
        ("Reservations.1.Instances.0.State.Code", 0),
        ("Reservations.1.Instances.0.Tags", []),
        ("Reservations.1.Instances.0.SecurityGroups", []),
        ("Reservations.1.Instances.0.BlockDeviceMappings", []),
        ("Reservations.1.Instances.0.PrivateIpAddress", None),
        ("Reservations.1.Instances.0.PrivateDnsName", None),
        ("Reservations.1.Instances.0.KeyName", None),
        ("NextToken", "dG9rZW4="),
    ],
    "run_instances": [
        ("ReservationId", "r-0f0f0f0f0f0f0f0f0"),
        ("OwnerId", "123456789012"),
        ("Groups", []),
        ("Instances.0.State.Code", 0),
        ("Instances.0.State.Name", "pending"),
        ("Instances.1.AmiLaunchIndex", 1),
        ("Instances.1.Tags", [{"Key": "Name", "Value": "x y"}]),
        ("Instances.0.InstanceType", "t2.micro"),
    ],
    "start_instances": [
        ("StartingInstances.0.InstanceId", "i-0aaaaaaaaaaaaaaaa"),
        ("StartingInstances.0.CurrentState", {"Code": 0, "Name": "pending"}),
        ("StartingInstances.0.PreviousState", {"Code": 80, "Name": "stopped"}),
    ],
    "stop_instances": [
        ("StoppingInstances.0.CurrentState", {"Code": 64, "Name": "stopping"}),
        ("StoppingInstances.0.PreviousState", {"Code": 16, "Name": "running"}),
        ("StoppingInstances.1.InstanceId", "i-0bbbbbbbbbbbbbbbb"),
        ("StoppingInstances.1.CurrentState", {"Code": 80, "Name": "stopped"}),
    ],
    "terminate_instances": [
        ("TerminatingInstances.0.CurrentState", {"Code": 32, "Name": "shutting-down"}),
        ("TerminatingInstances.0.PreviousState", {"Code": 16, "Name": "running"}),
    ],
    # No output shape: botocore keeps only the metadata.
    "reboot_instances": [],
    "describe_instance_status": [
        ("InstanceStatuses.0.InstanceId", "i-0aaaaaaaaaaaaaaaa"),
        ("InstanceStatuses.0.AvailabilityZone", "cloudgate-a"),
        ("InstanceStatuses.0.InstanceState", {"Code": 16, "Name": "running"}),
        ("InstanceStatuses.0.InstanceStatus.Status", "ok"),
        ("InstanceStatuses.0.SystemStatus.Details",
         [{"Name": "reachability", "Status": "passed"}]),
        ("InstanceStatuses.0.Events", []),
        ("InstanceStatuses.1.InstanceState.Code", 80),
        ("InstanceStatuses.1.InstanceStatus.Status", "not-applicable"),
        ("InstanceStatuses.1.InstanceStatus.Details", []),
        ("NextToken", None),
    ],
    "describe_instance_status_impaired": [
        ("InstanceStatuses.0.InstanceState", {"Code": 16, "Name": "running"}),
        ("InstanceStatuses.0.SystemStatus.Status", "impaired"),
        ("InstanceStatuses.0.SystemStatus.Details",
         [{"Name": "reachability", "Status": "failed"}]),
        ("InstanceStatuses.0.InstanceStatus.Status", "insufficient-data"),
        ("InstanceStatuses.0.InstanceStatus.Details",
         [{"Name": "reachability", "Status": "insufficient-data"}]),
    ],
    "create_volume": [
        ("VolumeId", "vol-0b1c2d3e4f5061728"),
        ("Size", 1),
        ("State", "available"),
        ("AvailabilityZone", "cloudgate-a"),
        ("Attachments", []),
        ("Tags", []),
        ("Encrypted", False),
        ("VolumeType", "standard"),
        ("CreateTime", datetime.datetime(2026, 11, 23, 10, 29, 22, tzinfo=dateutil.tz.tzutc())),
    ],
    "describe_volumes": [
        ("Volumes.0.VolumeId", "vol-0a1b2c3d4e5f60718"),
        ("Volumes.0.Size", 10),
        ("Volumes.0.State", "in-use"),
        ("Volumes.0.Attachments.0.InstanceId", "i-0aaaaaaaaaaaaaaaa"),
        ("Volumes.0.Attachments.0.Device", "/dev/vdb"),
        ("Volumes.0.Attachments.0.State", "attached"),
        ("Volumes.0.Attachments.0.DeleteOnTermination", False),
        ("Volumes.0.Tags", [{"Key": "Name", "Value": "data"}]),
        ("Volumes.1.State", "available"),
        ("Volumes.1.Attachments", []),
        ("NextToken", None),
    ],
    "attach_volume": [
        ("VolumeId", "vol-0a1b2c3d4e5f60718"),
        ("InstanceId", "i-0aaaaaaaaaaaaaaaa"),
        ("Device", "/dev/vdb"),
        ("State", "attached"),
    ],
    "detach_volume": [
        ("VolumeId", "vol-0b1c2d3e4f5061728"),
        ("Device", "/dev/vdc"),
        ("State", "detached"),
    ],
    "delete_volume": [
        ("ResponseMetadata.RequestId", "7f1e3a52-0c4b-4d7e-9a61-2b8c5d9e0f13"),
    ],
    "create_snapshot": [
        ("SnapshotId", "snap-0b1c2d3e4f5061728"),
        ("VolumeId", "i-0aaaaaaaaaaaaaaaa"),
        ("State", "pending"),
        ("Progress", "42%"),
        ("OwnerId", "123456789012"),
        ("VolumeSize", 1),
        ("Description", ""),
        ("Encrypted", False),
        ("Tags", []),
        ("StartTime", datetime.datetime(2026, 11, 23, 10, 29, 22, tzinfo=dateutil.tz.tzutc())),
    ],
    "describe_snapshots": [
        ("Snapshots.0.SnapshotId", "snap-0a1b2c3d4e5f60718"),
        ("Snapshots.0.VolumeId", "vol-0a1b2c3d4e5f60718"),
        ("Snapshots.0.State", "completed"),
        ("Snapshots.0.Progress", "100%"),
        ("Snapshots.0.VolumeSize", 10),
        ("Snapshots.0.Description", "before <upgrade>"),
        ("Snapshots.0.Tags", [{"Key": "Name", "Value": "nightly"}]),
        ("Snapshots.1.State", "pending"),
        ("Snapshots.1.Tags", []),
        ("NextToken", "tok"),
    ],
    "describe_snapshots_empty": [
        ("Snapshots", []),
        ("NextToken", None),
    ],
    "copy_snapshot": [
        ("SnapshotId", "snap-0a1b2c3d4e5f60718"),
        ("Tags", [{"Key": "Name", "Value": "nightly"}]),
    ],
    "delete_snapshot": [
        ("ResponseMetadata.RequestId", "7f1e3a52-0c4b-4d7e-9a61-2b8c5d9e0f13"),
    ],
    "modify_volume": [
        ("VolumeModification.VolumeId", "vol-0a1b2c3d4e5f60718"),
        ("VolumeModification.ModificationState", "completed"),
        ("VolumeModification.OriginalSize", 10),
        ("VolumeModification.TargetSize", 20),
        ("VolumeModification.TargetVolumeType", "standard"),
        ("VolumeModification.Progress", 100),
        ("VolumeModification.StatusMessage", None),
        ("VolumeModification.EndTime",
         datetime.datetime(2026, 11, 23, 10, 29, 24, tzinfo=dateutil.tz.tzutc())),
    ],
    "describe_volumes_modifications": [
        ("VolumesModifications.0.VolumeId", "vol-0a1b2c3d4e5f60718"),
        ("VolumesModifications.0.ModificationState", "completed"),
        ("VolumesModifications.1.ModificationState", "failed"),
        ("VolumesModifications.1.StatusMessage", "interrupted by a restart of cloudgate"),
        ("VolumesModifications.1.Progress", 0),
        ("NextToken", "dG9rZW4="),
    ],
    "describe_volume_status": [
        ("VolumeStatuses.0.VolumeId", "vol-0a1b2c3d4e5f60718"),
        ("VolumeStatuses.0.VolumeStatus.Status", "ok"),
        ("VolumeStatuses.0.VolumeStatus.Details", [{"Name": "io-enabled", "Status": "passed"}]),
        ("VolumeStatuses.0.Actions", []),
        ("VolumeStatuses.0.Events", []),
        ("VolumeStatuses.0.AttachmentStatuses", [{"InstanceId": "i-0aaaaaaaaaaaaaaaa"}]),
        ("VolumeStatuses.1.AttachmentStatuses", []),
        ("NextToken", None),
    ],
    "create_image": [
        ("ImageId", "ami-0b1c2d3e4f5061728"),
    ],
    "register_image": [
        ("ImageId", "ami-0b1c2d3e4f5061729"),
    ],
    # No output shape in botocore 1.29: only the metadata is kept.
    "deregister_image": [],
    "modify_image_attribute": [],
    "reset_image_attribute": [],
    "describe_image_attribute_description": [
        ("ImageId", "ami-0a1b2c3d4e5f60718"),
        ("Description", {"Value": "Debian 12 <generic> & cloud"}),
        ("LaunchPermissions", None),
    ],
    "describe_image_attribute_launch_permission": [
        ("LaunchPermissions", [{"Group": "all"}, {"UserId": "111122223333"},
                               {"UserId": "444455556666"}]),
        ("Description", None),
    ],
    "describe_image_attribute_launch_permission_empty": [
        ("ImageId", "ami-0a1b2c3d4e5f60718"),
        ("LaunchPermissions", []),
    ],
    "describe_image_attribute_block_device_mapping": [
        ("BlockDeviceMappings.0.DeviceName", "/dev/vda"),
        ("BlockDeviceMappings.0.Ebs.VolumeSize", 3),
    ],
    "describe_image_attribute_last_launched": [
        ("LastLaunchedTime", {"Value": "2026-11-23T10:29:22Z"}),
    ],
    "describe_image_attribute_kernel": [
        ("ImageId", "ami-0a1b2c3d4e5f60718"),
        ("KernelId", {}),
    ],
    "describe_import_image_tasks": [
        ("ImportImageTasks.0.Status", "completed"),
        ("ImportImageTasks.0.ImageId", "ami-0a1b2c3d4e5f60718"),
        ("ImportImageTasks.0.SnapshotDetails.0.DiskImageSize", 884801536.0),
        ("ImportImageTasks.1.Progress", "42"),
        ("ImportImageTasks.2.StatusMessage", "checksum mismatch"),
        ("ImportImageTasks.0.Tags", [{"Key": "Name", "Value": "debian <12> & co"},
                                     {"Key": "team", "Value": ""}]),
        ("ImportImageTasks.1.Tags", []),
        ("NextToken", "tok"),
    ],
    "describe_import_image_tasks_empty": [("ImportImageTasks", [])],
    "import_image": [("ImportTaskId", "import-ami-0fedcba9876543210"), ("Status", "active")],
    "cancel_import_task": [("State", "deleting"), ("PreviousState", "active")],
    "describe_images": [
        ("Images.0.ImageId", "ami-0a1b2c3d4e5f60718"),
        ("Images.0.Name", "debian-12"),
        ("Images.0.Description", "Debian 12 generic cloud"),
        ("Images.0.State", "available"),
        ("Images.0.OwnerId", "123456789012"),
        ("Images.0.Public", False),
        ("Images.0.CreationDate", "2026-11-22T10:29:22.000Z"),
        ("Images.0.Tags", [{"Key": "os", "Value": "debian"}]),
        ("Images.0.BlockDeviceMappings.0.Ebs.VolumeSize", 3),
        ("Images.0.BlockDeviceMappings.0.DeviceName", "/dev/vda"),
        ("Images.0.BlockDeviceMappings.0.Ebs.SnapshotId", "snap-0123456789abcdef0"),
        ("Images.1.ImageId", "ami-12345678"),
        ("Images.1.State", "failed"),
        ("Images.1.StateReason.Message", "virt-sysprep failed (exit 1)"),
        ("Images.1.Platform", "windows"),
        ("Images.0.PlatformDetails", "Linux/UNIX"),
        ("Images.1.Description", None),
        ("Images.1.Tags", []),
        ("Images.1.BlockDeviceMappings", []),
    ],
    "describe_regions": [
        ("Regions", [{"RegionName": "cloudgate", "Endpoint": "127.0.0.1:8773",
                      "OptInStatus": "opt-in-not-required"}]),
    ],
    "describe_availability_zones": [
        ("AvailabilityZones.0.ZoneName", "cloudgate-a"),
        ("AvailabilityZones.0.State", "available"),
        ("AvailabilityZones.0.RegionName", "cloudgate"),
        ("AvailabilityZones.0.Messages", []),
        ("AvailabilityZones.1.State", "unavailable"),
    ],
    "create_vpc": [
        ("Vpc.VpcId", "vpc-0bbbbbbbbbbbbbbbb"),
        ("Vpc.CidrBlock", "10.20.0.0/16"),
        ("Vpc.State", "available"),
        ("Vpc.IsDefault", False),
        ("Vpc.OwnerId", "123456789012"),
        ("Vpc.CidrBlockAssociationSet.0.CidrBlockState.State", "associated"),
        ("Vpc.Ipv6CidrBlockAssociationSet", []),
        ("Vpc.Tags", [{"Key": "Name", "Value": "blue <&>"}]),
    ],
    "describe_vpcs": [
        ("Vpcs.0.VpcId", "vpc-0aaaaaaaaaaaaaaaa"),
        ("Vpcs.0.IsDefault", True),
        ("Vpcs.0.CidrBlock", "192.168.250.0/24"),
        ("Vpcs.0.Tags", []),
        ("Vpcs.1.VpcId", "vpc-0bbbbbbbbbbbbbbbb"),
        ("NextToken", "bmV4dA=="),
    ],
    "describe_vpcs_empty": [
        ("Vpcs", []),
        ("NextToken", None),
    ],
    "delete_vpc": [
        ("ResponseMetadata.RequestId", "7f1e3a52-0c4b-4d7e-9a61-2b8c5d9e0f13"),
    ],
    "create_subnet": [
        ("Subnet.SubnetId", "subnet-0bbbbbbbbbbbbbbbb"),
        ("Subnet.VpcId", "vpc-0bbbbbbbbbbbbbbbb"),
        ("Subnet.CidrBlock", "10.20.1.0/28"),
        ("Subnet.AvailableIpAddressCount", 11),
        ("Subnet.AvailabilityZone", "cloudgate-a"),
        ("Subnet.DefaultForAz", False),
        ("Subnet.MapPublicIpOnLaunch", False),
        ("Subnet.Tags", [{"Key": "tier", "Value": "web"}]),
        ("Subnet.SubnetArn",
         "arn:aws:ec2:cloudgate:123456789012:subnet/subnet-0bbbbbbbbbbbbbbbb"),
    ],
    "describe_subnets": [
        ("Subnets.0.SubnetId", "subnet-0aaaaaaaaaaaaaaaa"),
        ("Subnets.0.DefaultForAz", True),
        ("Subnets.0.AvailableIpAddressCount", 249),
        ("Subnets.0.Tags", []),
        ("Subnets.0.Ipv6CidrBlockAssociationSet", []),
        ("Subnets.1.CidrBlock", "10.20.1.0/28"),
        ("NextToken", None),
    ],
    "describe_subnets_empty": [
        ("Subnets", []),
    ],
    "delete_subnet": [
        ("ResponseMetadata.RequestId", "7f1e3a52-0c4b-4d7e-9a61-2b8c5d9e0f13"),
    ],
    "describe_addresses_empty": [
        ("Addresses", []),
    ],
    "describe_account_attributes_vpc": [
        ("AccountAttributes",
         [{"AttributeName": "supported-platforms", "AttributeValues": [{"AttributeValue": "VPC"}]},
          {"AttributeName": "max-instances", "AttributeValues": [{"AttributeValue": "20"}]},
          {"AttributeName": "default-vpc",
           "AttributeValues": [{"AttributeValue": "vpc-0aaaaaaaaaaaaaaaa"}]}]),
    ],
    "error_vpc_dependency_violation": [
        ("Error.Code", "DependencyViolation"),
    ],
    "error_subnet_conflict": [
        ("Error.Code", "InvalidSubnet.Conflict"),
    ],
    "create_security_group": [
        ("GroupId", "sg-0bbbbbbbbbbbbbbbb"),
        ("Tags", [{"Key": "Name", "Value": "web"}]),
    ],
    "describe_security_groups": [
        ("SecurityGroups.0.GroupName", "default"),
        ("SecurityGroups.0.VpcId", "vpc-0aaaaaaaaaaaaaaaa"),
        ("SecurityGroups.0.IpPermissions.0.IpProtocol", "-1"),
        ("SecurityGroups.0.IpPermissions.0.UserIdGroupPairs",
         [{"GroupId": "sg-0aaaaaaaaaaaaaaaa", "UserId": "123456789012"}]),
        ("SecurityGroups.0.IpPermissions.0.FromPort", None),
        ("SecurityGroups.0.IpPermissionsEgress.0.IpRanges", [{"CidrIp": "0.0.0.0/0"}]),
        ("SecurityGroups.1.GroupId", "sg-0bbbbbbbbbbbbbbbb"),
        ("SecurityGroups.1.IpPermissions.0.FromPort", 22),
        ("SecurityGroups.1.IpPermissions.0.ToPort", 22),
        ("SecurityGroups.1.IpPermissions.0.IpRanges",
         [{"CidrIp": "10.0.0.0/8", "Description": "ssh <&>"}, {"CidrIp": "192.168.1.0/24"}]),
        ("SecurityGroups.1.IpPermissions.1.FromPort", 80),
        ("SecurityGroups.1.IpPermissions.1.ToPort", 443),
        ("SecurityGroups.1.IpPermissions.1.UserIdGroupPairs", []),
        ("SecurityGroups.1.Tags", [{"Key": "Name", "Value": "web"}]),
        ("NextToken", "bmV4dA=="),
    ],
    "describe_security_groups_empty": [
        ("SecurityGroups", []),
        ("NextToken", None),
    ],
    "delete_security_group": [
        ("ResponseMetadata.RequestId", "7f1e3a52-0c4b-4d7e-9a61-2b8c5d9e0f13"),
    ],
    "revoke_security_group_ingress": [("Return", True)],
    "revoke_security_group_egress": [
        ("ResponseMetadata.RequestId", "7f1e3a52-0c4b-4d7e-9a61-2b8c5d9e0f13"),
    ],
    "authorize_security_group_ingress": [
        ("Return", True),
        ("SecurityGroupRules.0.SecurityGroupRuleId", "sgr-0000000000000000c"),
        ("SecurityGroupRules.0.GroupId", "sg-0bbbbbbbbbbbbbbbb"),
        ("SecurityGroupRules.0.IsEgress", False),
        ("SecurityGroupRules.0.IpProtocol", "tcp"),
        ("SecurityGroupRules.0.FromPort", 22),
        ("SecurityGroupRules.0.CidrIpv4", "10.0.0.0/8"),
        ("SecurityGroupRules.0.Description", "ssh"),
    ],
    "authorize_security_group_egress": [
        ("Return", True),
        ("SecurityGroupRules", []),
    ],
    "describe_security_group_rules": [
        ("SecurityGroupRules.0.GroupOwnerId", "123456789012"),
        ("SecurityGroupRules.1.ReferencedGroupInfo.GroupId", "sg-0aaaaaaaaaaaaaaaa"),
        ("SecurityGroupRules.1.CidrIpv4", None),
        ("SecurityGroupRules.1.FromPort", -1),
        ("NextToken", None),
    ],
    "describe_instances_security_groups": [
        ("Reservations.0.Instances.0.SecurityGroups",
         [{"GroupId": "sg-0aaaaaaaaaaaaaaaa", "GroupName": "default"},
          {"GroupId": "sg-0bbbbbbbbbbbbbbbb", "GroupName": "web <&>"}]),
        ("Reservations.0.Instances.0.NetworkInterfaces.0.Groups.1.GroupId",
         "sg-0bbbbbbbbbbbbbbbb"),
        ("Reservations.0.Groups", []),
    ],
    "describe_network_interfaces_security_groups": [
        ("NetworkInterfaces.0.Groups",
         [{"GroupId": "sg-0aaaaaaaaaaaaaaaa", "GroupName": "default"},
          {"GroupId": "sg-0bbbbbbbbbbbbbbbb", "GroupName": "web <&>"}]),
    ],
    "error_security_group_duplicate_permission": [
        ("Error.Code", "InvalidPermission.Duplicate"),
    ],
    "describe_instances_vpc": [
        ("Reservations.0.Instances.0.VpcId", "vpc-0bbbbbbbbbbbbbbbb"),
        ("Reservations.0.Instances.0.SubnetId", "subnet-0bbbbbbbbbbbbbbbb"),
        ("Reservations.0.Instances.0.NetworkInterfaces.0.NetworkInterfaceId",
         "eni-0cccccccccccccccc"),
        ("Reservations.0.Instances.0.NetworkInterfaces.0.MacAddress", "52:54:00:12:34:56"),
        ("Reservations.0.Instances.0.NetworkInterfaces.0.PrivateIpAddress", "10.20.1.7"),
        ("Reservations.0.Instances.0.NetworkInterfaces.0.Attachment.DeviceIndex", 0),
        ("Reservations.0.Instances.0.NetworkInterfaces.0.Attachment.Status", "attached"),
        ("Reservations.0.Instances.0.NetworkInterfaces.0.PrivateIpAddresses.0.Primary", True),
        ("Reservations.0.Instances.0.NetworkInterfaces.0.Groups", []),
    ],
    "modify_instance_metadata_options": [
        ("InstanceId", "i-0dddddddddddddddd"),
        ("InstanceMetadataOptions.State", "applied"),
        ("InstanceMetadataOptions.HttpTokens", "required"),
        ("InstanceMetadataOptions.HttpPutResponseHopLimit", 3),
        ("InstanceMetadataOptions.HttpEndpoint", "enabled"),
        ("InstanceMetadataOptions.HttpProtocolIpv6", "disabled"),
        ("InstanceMetadataOptions.InstanceMetadataTags", "disabled"),
    ],
    "describe_instances_launch_failed": [
        ("Reservations.0.Instances.0.State.Name", "terminated"),
        ("Reservations.0.Instances.0.StateReason.Code", "Server.InternalError"),
        ("Reservations.0.Instances.0.StateReason.Message",
         "Server.InternalError: launch failed: create overlay i-0aaaaaaaaaaaaaaaa.qcow2: "
         "storage volume exists"),
        ("Reservations.0.Instances.0.StateTransitionReason",
         "Server.InternalError: launch failed: create overlay i-0aaaaaaaaaaaaaaaa.qcow2: "
         "storage volume exists"),
        ("Reservations.0.Instances.1.StateReason", None),
    ],
    "describe_instances_metadata_options": [
        ("Reservations.0.Instances.0.MetadataOptions.HttpTokens", "required"),
        ("Reservations.0.Instances.0.MetadataOptions.HttpEndpoint", "disabled"),
        ("Reservations.0.Instances.0.MetadataOptions.HttpPutResponseHopLimit", 64),
        ("Reservations.0.Instances.1.MetadataOptions.HttpTokens", "optional"),
        ("Reservations.0.Instances.1.MetadataOptions.HttpEndpoint", "enabled"),
        ("Reservations.0.Instances.1.MetadataOptions.HttpPutResponseHopLimit", 1),
        ("Reservations.0.Instances.1.MetadataOptions.State", "applied"),
    ],
    "describe_network_interfaces": [
        ("NetworkInterfaces.0.NetworkInterfaceId", "eni-0cccccccccccccccc"),
        ("NetworkInterfaces.0.AvailabilityZone", "cloudgate-a"),
        ("NetworkInterfaces.0.Attachment.InstanceId", "i-0cccccccccccccccc"),
        ("NetworkInterfaces.0.Attachment.InstanceOwnerId", "123456789012"),
        ("NetworkInterfaces.0.Status", "in-use"),
        ("NetworkInterfaces.0.TagSet", []),
        ("NextToken", None),
    ],
    "describe_network_interfaces_empty": [
        ("NetworkInterfaces", []),
    ],
    "describe_account_attributes": [
        ("AccountAttributes",
         [{"AttributeName": "supported-platforms", "AttributeValues": [{"AttributeValue": "EC2"}]},
          {"AttributeName": "default-vpc", "AttributeValues": [{"AttributeValue": "none"}]}]),
    ],
    "describe_instance_types": [
        ("InstanceTypes.0.InstanceType", "m1.small"),
        ("InstanceTypes.0.VCpuInfo.DefaultVCpus", 1),
        ("InstanceTypes.0.MemoryInfo.SizeInMiB", 2048),
        ("InstanceTypes.0.SupportedUsageClasses", ["on-demand"]),
        ("InstanceTypes.1.InstanceType", "t2.micro"),
        ("InstanceTypes.1.CurrentGeneration", True),
        ("NextToken", "bmV4dA=="),
    ],
    "describe_tags": [
        ("Tags.0", {"ResourceId": "i-0aaaaaaaaaaaaaaaa", "ResourceType": "instance",
                    "Key": "Name", "Value": "<script>x</script>"}),
        ("Tags.1.Value", ""),
        ("Tags.1.ResourceType", "image"),
        ("Tags.2.Value", "a?b?"),
        ("Tags.3", {"ResourceId": "vol-0bbbbbbbbbbbbbbbb", "ResourceType": "volume",
                    "Key": "Name", "Value": "data"}),
        ("Tags.4.ResourceType", "key-pair"),
        ("Tags.5.ResourceType", "import-image-task"),
        ("NextToken", "tok"),
    ],
    "describe_tags_empty": [
        ("Tags", []),
    ],
    "error_instance_not_found": [
        ("Error.Code", "InvalidInstanceID.NotFound"),
        ("Error.Message", "The instance ID 'i-0aaaaaaaaaaaaaaaa' does not exist"),
    ],
    "error_dry_run": [
        ("Error.Code", "DryRunOperation"),
        ("Error.Message", "Request would have succeeded, but DryRun flag is set."),
    ],
    "error_invalid_parameter": [
        ("Error.Code", "InvalidParameterValue"),
        ("Error.Message", "Invalid value '<&>' for InstanceType."),
    ],
    "create_key_pair": [
        ("KeyName", "web key"),
        ("KeyFingerprint", "1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:7d:b8:ca:9f:f5:f1:6f"),
        ("KeyMaterial", "-----BEGIN RSA PRIVATE KEY-----\n"
                        "MIIEowIBAAKCAQEAnotarealkeyjustthedocumentshape\n"
                        "-----END RSA PRIVATE KEY-----\n"),
        ("KeyPairId", "key-0123456789abcdef0"),
        ("Tags", [{"Key": "Name", "Value": "web & <co>"}]),
    ],
    "import_key_pair": [
        ("KeyName", "laptop"),
        ("KeyFingerprint", "NI89MF6vuAGuV/edmhtqyapvVL7ubm7O8Hjyig0IIcw="),
        ("KeyPairId", "key-0fedcba9876543210"),
        ("Tags", []),
        ("KeyMaterial", None),
    ],
    "describe_key_pairs": [
        ("KeyPairs.0.KeyPairId", "key-0123456789abcdef0"),
        ("KeyPairs.0.KeyName", "web key"),
        ("KeyPairs.0.KeyType", "rsa"),
        ("KeyPairs.0.Tags", [{"Key": "Name", "Value": "web & <co>"}]),
        ("KeyPairs.0.PublicKey", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== web key"),
        ("KeyPairs.0.CreateTime", datetime.datetime(2026, 11, 23, 10, 29, 22,
                                                    tzinfo=dateutil.tz.tzutc())),
        ("KeyPairs.1.KeyType", "ed25519"),
        ("KeyPairs.1.KeyFingerprint", "NI89MF6vuAGuV/edmhtqyapvVL7ubm7O8Hjyig0IIcw="),
        ("KeyPairs.1.Tags", []),
    ],
    "error_key_pair_not_found": [
        ("Error.Code", "InvalidKeyPair.NotFound"),
        ("Error.Message", "The key pair 'nope' does not exist"),
    ],
    "describe_instance_attribute": [
        ("InstanceId", "i-0aaaaaaaaaaaaaaaa"),
        ("UserData", {"Value": "IyEvYmluL3NoCmVjaG8gaGk="}),
        ("InstanceType", None),
    ],
    "describe_instance_attribute_protected": [
        ("DisableApiTermination", {"Value": True}),
    ],
    "describe_instance_attribute_block_devices": [
        ("InstanceId", "i-0aaaaaaaaaaaaaaaa"),
        ("BlockDeviceMappings.0.DeviceName", "/dev/vda"),
        ("BlockDeviceMappings.0.Ebs.DeleteOnTermination", True),
        ("BlockDeviceMappings.1.DeviceName", "/dev/vdf"),
        ("BlockDeviceMappings.1.Ebs.VolumeId", "vol-0b1c2d3e4f5061728"),
        ("BlockDeviceMappings.1.Ebs.DeleteOnTermination", False),
    ],
    "describe_instance_attribute_group_set": [
        ("InstanceId", "i-0cccccccccccccccc"),
        ("Groups", [{"GroupId": "sg-0aaaaaaaaaaaaaaaa", "GroupName": "default"},
                    {"GroupId": "sg-0bbbbbbbbbbbbbbbb", "GroupName": "web <&>"}]),
    ],
    "describe_vpc_attribute": [
        ("VpcId", "vpc-0bbbbbbbbbbbbbbbb"),
        ("EnableDnsHostnames", {"Value": True}),
        ("EnableDnsSupport", None),
    ],
    # No output shape: botocore keeps only the metadata.
    "modify_vpc_attribute": [],
    "modify_subnet_attribute": [],
    "error_vpc_classic_link_unsupported": [
        ("Error.Code", "UnsupportedOperation"),
        ("Error.Message", "The functionality you requested is not available in this region."),
    ],
    "describe_instance_attribute_empty": [
        ("InstanceId", "i-0aaaaaaaaaaaaaaaa"),
        ("UserData", {}),
    ],
    # The parser leaves Output base64; botocore's after-call handler
    # (decode_console_output) decodes it for the caller.
    "get_console_output": [
        ("InstanceId", "i-0aaaaaaaaaaaaaaaa"),
        ("Output", "WyAgICAwLjAwMDAwMF0gTGludXggdmVyc2lvbiA2LjENCmxvZ2luOiA="),
        ("Timestamp", datetime.datetime(2026, 11, 23, 10, 30, 22, tzinfo=dateutil.tz.tzutc())),
    ],
    "get_console_screenshot": [
        ("InstanceId", "i-0aaaaaaaaaaaaaaaa"),
        ("ImageData", "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"),
    ],
    "get_password_data": [
        ("InstanceId", "i-0aaaaaaaaaaaaaaaa"),
        ("PasswordData", ""),
    ],
    "error_operation_not_permitted": [
        ("Error.Code", "OperationNotPermitted"),
        ("Error.Message", "The instance 'i-0aaaaaaaaaaaaaaaa' may not be terminated. Modify its "
                          "'disableApiTermination' instance attribute and try again."),
    ],
}


def local(tag):
    return tag.split("}", 1)[-1]


def wire_name(member_name, member_shape):
    return member_shape.serialization.get("name", member_name)


def check_elements(elem, shape, where, problems):
    """Every child element must be a member botocore would read."""
    kind = shape.type_name
    if kind == "structure":
        names = {wire_name(n, s): s for n, s in shape.members.items()}
        for child in elem:
            tag = local(child.tag)
            if tag not in names:
                problems.append("%s: <%s> is not a member of %s" % (where, tag, shape.name))
                continue
            check_elements(child, names[tag], "%s/%s" % (where, tag), problems)
    elif kind == "list":
        item = shape.member.serialization.get("name", "item")
        for child in elem:
            if local(child.tag) != item:
                problems.append("%s: list item <%s>, want <%s>" % (where, local(child.tag), item))
                continue
            check_elements(child, shape.member, where + "/" + item, problems)
    elif len(elem):
        problems.append("%s: scalar %s has child elements" % (where, shape.name))


def check_file(path, model, parser):
    name = os.path.basename(path)[: -len(".expected")]
    problems = []
    with open(path, "rb") as f:
        body = f.read()
    root = ET.fromstring(body)
    root_name = local(root.tag)
    if root_name == "Response":
        code = root.findtext("Errors/Error/Code") or ""
        status = ERROR_STATUS.get(code, 400)
        op = model.operation_model("DescribeInstances")
    else:
        if not root_name.endswith("Response"):
            return ["%s: unexpected root <%s>" % (name, root_name)]
        status = 200
        op = model.operation_model(root_name[: -len("Response")])
        if root.get("xmlns") is None and root.tag[0] != "{":
            problems.append("%s: root has no xmlns" % name)
        if op.output_shape is not None:
            for child in root:
                if local(child.tag) == "requestId":
                    continue
                sub = ET.Element(root.tag)
                sub.append(child)
                check_elements(sub, op.output_shape, name, problems)
    parsed = parser.parse({"body": body, "headers": {}, "status_code": status},
                          op.output_shape)
    if parsed.get("ResponseMetadata", {}).get("RequestId") != REQUEST_ID:
        problems.append("%s: RequestId not parsed (%r)" % (name, parsed.get("ResponseMetadata")))
    if name not in EXPECT:
        problems.append("%s: no expectations in check_botocore.py" % name)
        return problems
    for path_, want in EXPECT[name]:
        if want is None:
            if not absent(parsed, path_):
                problems.append("%s: %s should be absent, is %r"
                                % (name, path_, get(parsed, path_)))
            continue
        try:
            got = get(parsed, path_)
        except (KeyError, IndexError, ValueError) as e:
            problems.append("%s: %s missing (%r)" % (name, path_, e))
            continue
        if got != want:
            problems.append("%s: %s = %r, want %r" % (name, path_, got, want))
    return problems


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    gdir = sys.argv[1] if len(sys.argv) > 1 else here
    files = sorted(glob.glob(os.path.join(gdir, "*.expected")))
    if not files:
        print("no golden files in %s" % gdir)
        return 1
    model = botocore.session.get_session().get_service_model("ec2")
    parser = botocore.parsers.create_parser("ec2")
    problems = []
    for path in files:
        problems.extend(check_file(path, model, parser))
    for p in problems:
        print("FAIL " + p)
    print("%d goldens checked, %d problems" % (len(files), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
