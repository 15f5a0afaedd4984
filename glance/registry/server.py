"""glance-registry: image records over a small JSON REST interface.

Routes (JSON in both directions):

    GET    /images            brief records, filtered and paged
    GET    /images/detail     full records with properties
    GET    /images/<id>       {"image": {...}}
    POST   /images            {"image": {...}} -> {"image": {...}}
    PUT    /images/<id>       {"image": {...}}; header
                              X-Glance-Registry-Purge-Props: true drops the
                              properties not sent; X-Glance-Expected-Status
                              makes a status change compare-and-set
    DELETE /images/<id>       soft delete

The registry is an internal service: it trusts the identity glance-api puts
in ``X-Glance-Project-Id`` / ``X-Glance-Is-Admin`` (a request without them
sees public images only).  Bind it to loopback or a management network,
never to where tenants can reach it.
"""

import logging

from glance.common import config
from glance.common import context as glance_context
from glance.common import exception
from glance.common import image_meta
from glance.common import listing
from glance.common import wsgi
from glance.registry.db import api as db_api
from glance.registry.db import migration

LOG = logging.getLogger(__name__)

PROJECT_HEADER = 'X-Glance-Project-Id'
ADMIN_HEADER = 'X-Glance-Is-Admin'
PURGE_HEADER = 'X-Glance-Registry-Purge-Props'
EXPECT_HEADER = 'X-Glance-Expected-Status'


def context_from_request(req):
    return glance_context.RequestContext(
        project_id=req.headers.get(PROJECT_HEADER) or None,
        is_admin=config.parse_bool(req.headers.get(ADMIN_HEADER, 'false'),
                                   ADMIN_HEADER))


class RegistryApp(wsgi.Router):

    def __init__(self, repo, limit_default=25, limit_max=1000):
        super().__init__()
        self.repo = repo
        self.limit_default = limit_default
        self.limit_max = limit_max
        self.add('GET', r'/images', self.index)
        self.add('GET', r'/images/detail', self.detail)
        self.add('GET', r'/images/(?P<image_id>[^/]+)', self.show)
        self.add('POST', r'/images', self.create)
        self.add('PUT', r'/images/(?P<image_id>[^/]+)', self.update)
        self.add('DELETE', r'/images/(?P<image_id>[^/]+)', self.delete)

    def _list(self, req):
        params = list(req.GET.items())
        listing.check_known(params)
        filters, marker, limit, sort_key, sort_dir = listing.parse(
            params, self.limit_default, self.limit_max)
        return self.repo.list(context_from_request(req), filters, marker,
                              limit, sort_key, sort_dir)

    def index(self, req):
        images = [{k: i[k] for k in image_meta.SUMMARY_FIELDS}
                  for i in self._list(req)]
        return wsgi.json_response({'images': images})

    def detail(self, req):
        return wsgi.json_response({'images': self._list(req)})

    def show(self, req, image_id):
        image = self.repo.get(image_id, context_from_request(req))
        return wsgi.json_response({'image': image})

    @staticmethod
    def _body(req):
        body = wsgi.read_json(req)
        if not isinstance(body, dict) or not isinstance(body.get('image'),
                                                        dict):
            raise exception.Invalid('Expected a JSON body {"image": {...}}')
        values = dict(body['image'])
        properties = values.pop('properties', None) or {}
        if not isinstance(properties, dict):
            raise exception.Invalid('properties must be a JSON object')
        return values, {str(k): None if v is None else str(v)
                        for k, v in properties.items()}

    def create(self, req):
        values, properties = self._body(req)
        image = self.repo.create(values, properties)
        LOG.info('created image %s', image['id'])
        return wsgi.json_response({'image': image})

    def update(self, req, image_id):
        values, properties = self._body(req)
        purge = config.parse_bool(req.headers.get(PURGE_HEADER, 'false'),
                                  PURGE_HEADER)
        image = self.repo.update(image_id, values, properties,
                                 purge_props=purge,
                                 expected_status=req.headers.get(
                                     EXPECT_HEADER) or None)
        return wsgi.json_response({'image': image})

    def delete(self, req, image_id):
        self.repo.destroy(image_id)
        LOG.info('deleted image %s', image_id)
        return wsgi.json_response({})


def app_factory(global_conf, **local_conf):
    """paste.deploy entry point (``[app:glance-registry]``)."""
    conf = config.merge(global_conf, local_conf)
    sql_connection = config.get_str(conf, 'sql_connection',
                                    'sqlite:///glance.sqlite')
    engine = migration.make_engine(
        sql_connection, config.get_int(conf, 'sql_idle_timeout', 3600))
    if config.get_bool(conf, 'db_auto_sync', True):
        migration.db_sync(engine)
    return RegistryApp(db_api.ImageRepo(engine),
                       limit_default=config.get_int(conf, 'limit_param_default',
                                                    25),
                       limit_max=config.get_int(conf, 'api_limit_max', 1000))
