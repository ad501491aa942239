#!/usr/bin/python3
"""Generate tests/unit/data/sig_vectors.txt: EC2 Query requests signed by
botocore's own signers (SigV4Auth, SigV4QueryAuth, SigV2Auth), plus two SigV2
variants botocore cannot produce (libcloud's "GET"-signed POST and HmacSHA1
with Expires), which are signed here following the AWS SigV2 description.

Run with Debian's interpreter, which has python3-botocore:
    /usr/bin/python3 tests/unit/gen_sig_vectors.py [OUTPUT]

Output format (read by tests/unit/test_auth.c), one block per request:
    vector NAME             starts a block
    kind sigv4|presign|sigv2
    source WHO              informational
    key ACCESS_KEY_ID
    secret SECRET
    now EPOCH               the clock the request was signed at
    expires SECONDS         presign only: X-Amz-Expires
    method METHOD
    path RAW_PATH
    query RAW_QUERY         possibly empty
    header NAME: VALUE      repeated, as sent on the wire
    body HEX                possibly empty
    end
Every text field is printable ASCII; '#' lines and blank lines are comments.
"""

import binascii
import calendar
import datetime
import hashlib
import hmac
import base64
import os
import sys
import time
import types
from unittest import mock
from urllib.parse import quote, urlencode, urlsplit

import botocore
import botocore.auth
from botocore.auth import SigV2Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

FORM_CT = 'application/x-www-form-urlencoded; charset=utf-8'
UA = 'aws-cli/2.9.19 Python/3.11.2 Linux/6.1.0 source/x86_64.debian.12 prompt/off'

KEYS = {
    'AKIDEXAMPLE': 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    'AKIAOTHERKEY0001': 'Zm9vYmFyYmF6/+secret+with/slashes==',
    'admin': 'hunter2-is-not-a-good-secret',
}


def epoch(stamp):
    return calendar.timegm(time.strptime(stamp, '%Y-%m-%dT%H:%M:%SZ'))


class Frozen:
    """Pin the clock botocore.auth reads (datetime.utcnow, time.gmtime)."""

    def __init__(self, when):
        self.when = when

    def __enter__(self):
        when = self.when

        class FrozenDatetime(datetime.datetime):
            @classmethod
            def utcnow(cls):
                return cls.utcfromtimestamp(when)

        fake_dt = types.SimpleNamespace(datetime=FrozenDatetime)
        fake_time = types.SimpleNamespace(
            gmtime=lambda *a: time.gmtime(when), strftime=time.strftime)
        self._patches = [mock.patch.object(botocore.auth, 'datetime', fake_dt),
                         mock.patch.object(botocore.auth, 'time', fake_time)]
        for p in self._patches:
            p.start()
        return self

    def __exit__(self, *exc):
        for p in reversed(self._patches):
            p.stop()


def wire_host(url):
    """The Host header http.client/urllib3 send: lowercase, default port dropped."""
    parts = urlsplit(url)
    host = parts.hostname
    default = {'http': 80, 'https': 443}[parts.scheme]
    if parts.port is not None and parts.port != default:
        host = '%s:%d' % (host, parts.port)
    return host


def text(value):
    if isinstance(value, bytes):
        value = value.decode('ascii')
    value = str(value)
    if any(not (0x20 <= ord(c) < 0x7f) for c in value):
        raise ValueError('not printable ASCII: %r' % value)
    return value


def emit(out, name, kind, source, key, now, prepared, expires=None):
    parts = urlsplit(prepared.url)
    body = prepared.body or b''
    if isinstance(body, str):
        body = body.encode('utf-8')
    out.append('vector ' + name)
    out.append('kind ' + kind)
    out.append('source ' + source)
    out.append('key ' + text(key))
    out.append('secret ' + text(KEYS[key]))
    out.append('now %d' % now)
    if expires is not None:
        out.append('expires %d' % expires)
    out.append('method ' + prepared.method)
    out.append('path ' + text(parts.path or '/'))
    out.append('query ' + text(parts.query))
    headers = dict(prepared.headers.items())
    if not any(k.lower() == 'host' for k in headers):
        headers = dict([('Host', wire_host(prepared.url))] + list(headers.items()))
    for k, v in headers.items():
        out.append('header %s: %s' % (text(k), text(v)))
    out.append('body ' + binascii.hexlify(body).decode('ascii'))
    out.append('end')
    out.append('')


def sigv4(out, name, url, data=None, params=None, key='AKIDEXAMPLE',
          region='RegionOne', stamp='2026-11-22T10:29:22Z', method='POST',
          headers=None, token=None):
    now = epoch(stamp)
    h = {'User-Agent': UA}
    if data is not None:
        h['Content-Type'] = FORM_CT
    h.update(headers or {})
    req = AWSRequest(method=method, url=url, data=data, params=params or {}, headers=h)
    with Frozen(now):
        SigV4Auth(Credentials(key, KEYS[key], token), 'ec2', region).add_auth(req)
    emit(out, name, 'sigv4', 'botocore.auth.SigV4Auth', key, now, req.prepare())


def presign(out, name, url, data=None, params=None, key='AKIDEXAMPLE',
            region='RegionOne', stamp='2026-11-22T10:29:22Z', method='GET', expires=300):
    now = epoch(stamp)
    h = {'User-Agent': UA}
    if data is not None:
        h['Content-Type'] = FORM_CT
    req = AWSRequest(method=method, url=url, data=data, params=params or {}, headers=h)
    with Frozen(now):
        SigV4QueryAuth(Credentials(key, KEYS[key]), 'ec2', region,
                       expires=expires).add_auth(req)
    emit(out, name, 'presign', 'botocore.auth.SigV4QueryAuth', key, now, req.prepare(),
         expires=expires)


def sigv2(out, name, url, data=None, params=None, key='AKIDEXAMPLE',
          stamp='2026-11-22T10:29:22Z', method='POST'):
    now = epoch(stamp)
    h = {'User-Agent': UA}
    if data is not None:
        h['Content-Type'] = FORM_CT
    req = AWSRequest(method=method, url=url, data=data, params=params or {}, headers=h)
    with Frozen(now):
        SigV2Auth(Credentials(key, KEYS[key])).add_auth(req)
    emit(out, name, 'sigv2', 'botocore.auth.SigV2Auth', key, now, req.prepare())


def sigv2_manual(out, name, url, params, key, now, method, signed_method, digest,
                 expires=None):
    """SigV2 as libcloud signs it: params in the query string, string to sign
    built with `signed_method` (libcloud always writes "GET")."""
    params = dict(params)
    params['AWSAccessKeyId'] = key
    params['SignatureVersion'] = '2'
    params['SignatureMethod'] = 'HmacSHA256' if digest is hashlib.sha256 else 'HmacSHA1'
    if expires is None:
        params['Timestamp'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now))
    else:
        params['Expires'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now + expires))
    qs = '&'.join('%s=%s' % (quote(k, safe=''), quote(str(params[k]), safe='-_~'))
                  for k in sorted(params))
    sts = '\n'.join((signed_method, wire_host(url), urlsplit(url).path or '/', qs))
    mac = hmac.new(KEYS[key].encode(), sts.encode('utf-8'), digest).digest()
    params['Signature'] = base64.b64encode(mac).decode()
    full = url + '?' + urlencode(params)
    req = AWSRequest(method=method, url=full, headers={'User-Agent': 'libcloud/3.4.1'})
    source = 'manual SigV2 (%s, signed as %s)' % (params['SignatureMethod'], signed_method)
    emit(out, name, 'sigv2', source, key, now, req.prepare())


def main():
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        top, 'tests', 'unit', 'data', 'sig_vectors.txt')
    out = ['# EC2 Query API signature test vectors for tests/unit/test_auth.c.',
           '# Generated by tests/unit/gen_sig_vectors.py with botocore %s; '
           'do not edit by hand.' % botocore.__version__, '']

    user_data = base64.b64encode(b'#!/bin/sh\necho hi >/dev/null ?>~\xfb\xff\n').decode()
    sigv4(out, 'sigv4-run-instances', 'http://127.0.0.1:18788/', data={
        'Action': 'RunInstances', 'Version': '2016-11-15', 'ImageId': 'ami-00000001',
        'InstanceType': 'm1.small', 'MinCount': '1', 'MaxCount': '1',
        'UserData': user_data, 'Placement.AvailabilityZone': 'nova',
        'TagSpecification.1.ResourceType': 'instance',
        'TagSpecification.1.Tag.1.Key': 'Name', 'TagSpecification.1.Tag.1.Value': 'x y+z',
        'BlockDeviceMapping.1.DeviceName': '/dev/vdb',
        'BlockDeviceMapping.1.Ebs.VolumeSize': '1',
        'ClientToken': 'd7c4524d-0b52-4a9c-9d3b-1f0e0e6f6a11'})
    sigv4(out, 'sigv4-describe-instances-us-east-1', 'https://ec2.example.com/', data={
        'Action': 'DescribeInstances', 'Version': '2016-11-15',
        'Filter.1.Name': 'instance-state-name', 'Filter.1.Value.1': 'running',
        'Filter.1.Value.2': 'stopped', 'Filter.2.Name': 'tag:Name',
        'Filter.2.Value.1': 'a', 'MaxResults': '5', 'NextToken': 'tok'},
        region='us-east-1', stamp='2027-01-01T00:00:05Z')
    sigv4(out, 'sigv4-create-tags-unicode-empty', 'http://cloud.example.org:8773/', data={
        'Action': 'CreateTags', 'Version': '2016-11-15', 'ResourceId.1': 'i-1',
        'ResourceId.2': 'vol-2', 'Tag.1.Key': 'h\u00e9llo w\u00f6rld \u2713',
        'Tag.1.Value': '', 'Tag.2.Key': 'path', 'Tag.2.Value': 'a/b%2Fc&d=e'},
        region='eu-west-1', key='AKIAOTHERKEY0001', stamp='2026-02-28T23:59:59Z')
    sigv4(out, 'sigv4-get-query-params', 'http://127.0.0.1:8773/', method='GET', params={
        'Action': 'DescribeRegions', 'Version': '2016-11-15',
        'RegionName.1': 'Region One', 'RegionName.2': 'r\u00e9gion~2', 'Empty': '',
        'Plus': 'a+b', 'Spaced Name': 'x', 'x-y': '1', 'x/y': '2'}, region='RegionOne')
    sigv4(out, 'sigv4-session-token', 'http://127.0.0.1:18788/', data={
        'Action': 'DescribeKeyPairs', 'Version': '2016-11-15'},
        token='FQoGZXIvYXdzEXAMPLETOKEN/+=', region='ap-southeast-2')
    sigv4(out, 'sigv4-date-header', 'http://127.0.0.1:18788/', data={
        'Action': 'DescribeImages', 'Version': '2016-11-15', 'Owner.1': 'self'},
        headers={'Date': 'placeholder'}, key='admin', stamp='2026-07-04T12:00:00Z')
    sigv4(out, 'sigv4-openstack-path', 'http://127.0.0.1:8773/services//Cloud/./tmp/../',
          data={'Action': 'DescribeAvailabilityZones', 'Version': '2016-11-15'})
    sigv4(out, 'sigv4-encoded-path', 'http://127.0.0.1:8773/a%20b/c~d', data={
        'Action': 'DescribeVolumes', 'Version': '2016-11-15'})
    sigv4(out, 'sigv4-libcloud-unsigned-payload', 'http://10.0.0.1:8773/', method='POST',
          params={'Action': 'DescribeInstances', 'Version': '2016-11-15'},
          headers={'X-Amz-Content-SHA256': 'UNSIGNED-PAYLOAD',
                   'Accept-Encoding': 'gzip,deflate'})
    presign(out, 'presign-get-describe-instances', 'http://127.0.0.1:18788/', params={
        'Action': 'DescribeInstances', 'Version': '2016-11-15',
        'InstanceId.1': 'i-0a1b2c3d4e5f60718', 'Filter.1.Name': 'tag:Na me',
        'Filter.1.Value.1': 'v/\u00fc+'})
    presign(out, 'presign-post-body-moved', 'https://ec2.example.com/', method='POST',
            data={'Action': 'DescribeImages', 'Version': '2016-11-15',
                  'ImageId.1': 'ami-00000001'}, region='us-west-2', expires=3600,
            key='AKIAOTHERKEY0001', stamp='2026-11-22T23:30:00Z')
    sigv2(out, 'sigv2-botocore-post', 'http://127.0.0.1:18788/', data={
        'Action': 'RunInstances', 'Version': '2016-11-15', 'ImageId': 'ami-00000001',
        'MinCount': '1', 'MaxCount': '1', 'UserData': user_data,
        'TagSpecification.1.Tag.1.Value': 'x y', 'Description': 'caf\u00e9 /dev/vdb'})
    sigv2(out, 'sigv2-botocore-get', 'http://cloud.example.org:8773/services/Cloud/',
          method='GET', params={'Action': 'DescribeInstances', 'Version': '2016-11-15',
                                'Filter.1.Name': 'tag:Name', 'Filter.1.Value.1': 'a b~c',
                                # '-' sorts before '/' decoded, after it encoded ("%2F")
                                'x-y': '1', 'x/y': '2'},
          key='admin', stamp='2026-03-01T00:00:00Z')
    sigv2_manual(out, 'sigv2-libcloud-post-signed-get', 'http://127.0.0.1:18788/',
                 {'Action': 'DescribeImages', 'Version': '2016-11-15', 'Owner.1': 'self'},
                 'AKIDEXAMPLE', epoch('2026-11-22T10:29:22Z'), 'POST', 'GET',
                 hashlib.sha256)
    sigv2_manual(out, 'sigv2-hmacsha1-expires', 'http://127.0.0.1:18788/',
                 {'Action': 'DescribeKeyPairs', 'Version': '2016-11-15'},
                 'AKIAOTHERKEY0001', epoch('2026-11-22T10:29:22Z'), 'GET', 'GET',
                 hashlib.sha1, expires=600)

    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='ascii', newline='\n') as f:
        f.write('\n'.join(out))
    print('wrote %s (%d vectors)' % (path, sum(1 for l in out if l.startswith('vector '))))


if __name__ == '__main__':
    main()
