"""The document of one OpenStack API version (GET /v1.0/, GET /v1.1/).

The list of versions at ``/`` is nova.api.versions.OsVersions, configured
in api-paste.ini.
"""

from nova.api.openstack import resource

VERSIONS = {
    '1.0': {'status': 'DEPRECATED', 'updated': '2011-01-21T11:33:21Z',
            'guide': 'http://docs.rackspacecloud.com/servers/api/v1.0/'
                     'cs-devguide-20110125.pdf'},
    '1.1': {'status': 'CURRENT', 'updated': '2011-01-21T11:33:21Z',
            'guide': 'http://docs.rackspacecloud.com/servers/api/v1.1/'
                     'cs-devguide-20110125.pdf'},
}


def version_document(host_url, version):
    info = VERSIONS[version]
    vid = 'v' + version
    return {'version': {
        'id': vid,
        'status': info['status'],
        'updated': info['updated'],
        'links': [{'rel': 'self', 'href': '%s/%s/' % (host_url, vid)},
                  {'rel': 'describedby', 'type': 'application/pdf',
                   'href': info['guide']}],
        'media-types': [
            {'base': 'application/xml',
             'type': 'application/vnd.openstack.compute-%s+xml' % vid},
            {'base': 'application/json',
             'type': 'application/vnd.openstack.compute-%s+json' % vid}],
    }}


def version_response(req, version):
    return resource.serialize(req, version_document(req.host_url, version),
                              version)
