"""The root documents of nova-api's two ports."""

import json

import webob.dec

from nova import wsgi

# Every EC2 API version the original answered at "/", oldest first.
EC2_VERSIONS = ['1.0', '2007-01-19', '2007-03-01', '2007-08-29', '2007-10-10',
                '2007-12-15', '2008-02-01', '2008-09-01', '2009-04-04']


class Ec2Versions(wsgi.Application):
    """GET / on the EC2 port: one API version per line."""

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        return webob.Response(body=('\n'.join(EC2_VERSIONS) + '\n').encode(),
                              content_type='text/plain')


class OsVersions(wsgi.Application):
    """GET / on the OpenStack port: the API versions this cloud serves.

    The versions are those configured in the paste file (``versions`` option
    of this app: ``id:status`` pairs), so the document lists only what the
    pipeline actually mounts.
    """

    def __init__(self, versions=''):
        self.versions = []
        for pair in versions.split():
            vid, _sep, status = pair.partition(':')
            self.versions.append({'id': vid, 'status': status or 'CURRENT'})

    @classmethod
    def factory(cls, global_config, **local_config):
        return cls(**local_config)

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        versions = []
        for version in self.versions:
            href = '%s/%s/' % (req.host_url, version['id'])
            versions.append(dict(version, links=[{'rel': 'self',
                                                  'href': href}]))
        return webob.Response(body=json.dumps({'versions': versions}).encode(),
                              content_type='application/json')
