"""The container server: one SQLite database per container replica.

Paths: ``/<device>/<partition>/<account>/<container>`` for the container,
``/<device>/<partition>/<account>/<container>/<object>`` for the object
updates object servers send (X-Timestamp, X-Size, X-Content-Type, X-Etag).

After a container PUT or DELETE the server reports the container to the
account server named in X-Account-Host/-Partition/-Device.  When that
report fails the database itself is the pending record: its stats differ
from the ``reported_*`` columns until swift-container-updater
(swift.container.updater) has told every account replica.  (The original
worked the same way; unlike object updates, nothing else is written.)
"""

import os

from eventlet import Timeout
from webob import Response
from webob.exc import (HTTPAccepted, HTTPBadRequest, HTTPConflict,
                       HTTPCreated, HTTPNoContent, HTTPNotFound)

from swift.common import constraints
from swift.common.bufferedhttp import http_connect, release
from swift.common.db import ContainerBroker, DatabaseAlreadyExists
from swift.common.exceptions import (ConnectionTimeout,
                                     DatabaseConnectionError)
from swift.common.db_replicator import ReplicatorRpc
from swift.common.storage_server import (JSON, PLAIN, StorageServer,
                                         iso_timestamp, json_object_listing,
                                         listing_format, listing_params,
                                         listing_response, text_response,
                                         visible_metadata)
from swift.common.utils import (config_float, get_param, hash_path, public,
                                storage_directory, wsgi_to_str)

DATADIR = 'containers'
META_PREFIX = 'x-container-meta-'
#: Stored like metadata; read by the proxy's authorization.
ACL_HEADERS = ('x-container-read', 'x-container-write')


class ContainerController(StorageServer):
    server_type = 'container'
    _replicator_rpc = None  # made on the first REPLICATE

    def __init__(self, conf, logger=None):
        super().__init__(conf, logger)
        self.conn_timeout = config_float(conf, 'conn_timeout', 0.5)
        self.node_timeout = config_float(conf, 'node_timeout', 3)

    def _broker(self, drive, part, account, container):
        name_hash = hash_path(account, container)
        db_dir = storage_directory(os.path.join(self.devices, drive, DATADIR),
                                   part, name_hash)
        return ContainerBroker(os.path.join(db_dir, name_hash + '.db'),
                               account=account, container=container,
                               logger=self.logger)

    def _stat_headers(self, broker):
        info = broker.get_info()
        headers = {
            'X-Container-Object-Count': str(info['object_count']),
            'X-Container-Bytes-Used': str(info['bytes_used']),
            'X-Timestamp': info['created_at'],
            'X-PUT-Timestamp': info['put_timestamp'],
        }
        headers.update(visible_metadata(broker.metadata))
        return headers

    @staticmethod
    def account_targets(req):
        """[(host, partition, device)] from the X-Account-* headers.

        Checked before anything is written so a bad request changes nothing.
        """
        hosts = req.headers.get('x-account-host')
        partitions = req.headers.get('x-account-partition')
        devices = req.headers.get('x-account-device')
        if not (hosts or partitions or devices):
            return []
        hosts = [h.strip() for h in (hosts or '').split(',')]
        partitions = [p.strip() for p in (partitions or '').split(',')]
        devices = [d.strip() for d in (devices or '').split(',')]
        if not (len(hosts) == len(partitions) == len(devices)) or \
                not all(hosts + partitions + devices) or \
                not all(':' in h for h in hosts):
            raise text_response(HTTPBadRequest, 'X-Account-Host, '
                                '-Partition and -Device do not match', req)
        return list(zip(hosts, partitions, devices))

    def account_update(self, req, account, container, broker):
        """Report the container to the account server(s) the proxy named.

        Returns a 404 response when the account does not exist, else None
        (a failed report is logged and left to the container updater).
        """
        targets = self.account_targets(req)
        if not targets:
            return None
        info = broker.get_info()
        trans_id = req.headers.get('x-trans-id') or \
            req.headers.get('x-cf-trans-id') or '-'
        headers = {
            'X-Put-Timestamp': info['put_timestamp'],
            'X-Delete-Timestamp': info['delete_timestamp'],
            'X-Object-Count': str(info['object_count']),
            'X-Bytes-Used': str(info['bytes_used']),
            'X-Trans-Id': trans_id,
            'X-CF-Trans-Id': trans_id,
        }
        not_found = False
        for host, partition, device in targets:
            status = self._send_account_update(host, partition, device,
                                               account, container, headers)
            if status == 404:
                not_found = True
        if not_found:
            return HTTPNotFound(request=req)
        return None

    def _send_account_update(self, host, partition, device, account,
                             container, headers):
        ip, _, port = host.rpartition(':')
        ip = ip.strip('[]')
        conn = None
        try:
            with ConnectionTimeout(self.conn_timeout):
                conn = http_connect(ip, port, device, partition, 'PUT',
                                    '/%s/%s' % (account, container), headers,
                                    reuse=True)
            with Timeout(self.node_timeout):
                resp = conn.getresponse()
                resp.read()
            release(conn, resp)
            conn = None
            if resp.status >= 300 and resp.status != 404:
                self.logger.error(
                    'ERROR account update failed with %s/%s/%s (will retry '
                    'later): status %s', host, device, partition, resp.status)
            return resp.status
        except (Exception, Timeout) as err:
            if conn is not None:
                conn.close()
            self.logger.error(
                'ERROR account update failed with %s/%s/%s (will retry '
                'later): %s', host, device, partition,
                err.__class__.__name__ if isinstance(err, Timeout) else err)
            return None

    @public
    def PUT(self, req):
        """Create/update the container, or record an object update."""
        drive, part, account, container, obj = self.split_request(
            req, 4, 5, rest_with_last=True)
        timestamp = self.required_timestamp(req)
        broker = self._broker(drive, part, account, container)
        if obj:
            if len(obj.encode('utf-8')) > constraints.MAX_OBJECT_NAME_LENGTH:
                return text_response(HTTPBadRequest, 'Object name too long',
                                     req)
            missing = [h for h in ('x-size', 'x-content-type', 'x-etag')
                       if h not in req.headers]
            if missing:
                return text_response(HTTPBadRequest, 'Missing header(s): %s'
                                     % ', '.join(missing), req)
            try:
                size = int(req.headers['x-size'])
            except ValueError:
                return text_response(HTTPBadRequest, 'Invalid X-Size', req)
            try:
                live = broker.put_object(
                    obj, timestamp, size,
                    wsgi_to_str(req.headers['x-content-type']),
                    wsgi_to_str(req.headers['x-etag']), only_if_live=True)
            except DatabaseConnectionError:
                live = None  # no such container here
            if live is None:
                return HTTPNotFound(request=req)
            # Only an object server reads this answer: no templated body
            # (webob's costs a sixth of the update's CPU).
            return Response(status=201, body=b'', content_type='text/plain',
                            charset=None)
        error = constraints.check_metadata(req, 'container')
        if error:
            return error
        self.account_targets(req)
        created = False
        if not broker.exists():
            try:
                broker.initialize(timestamp)
                created = True
            except DatabaseAlreadyExists:
                pass
        if not created:
            created = broker.is_deleted()
            broker.update_put_timestamp(timestamp)
            if broker.is_deleted():
                # An older PUT than the delete we already have: stays gone.
                return HTTPConflict(request=req)
        broker.update_metadata(self.metadata_updates(
            req, (META_PREFIX,), timestamp, ACL_HEADERS))
        resp = self.account_update(req, account, container, broker)
        if resp is not None:
            return resp
        if created:
            return HTTPCreated(request=req)
        return HTTPAccepted(request=req)

    @public
    def DELETE(self, req):
        """Delete the container (409 unless empty) or record an object delete."""
        drive, part, account, container, obj = self.split_request(
            req, 4, 5, rest_with_last=True)
        timestamp = self.required_timestamp(req)
        broker = self._broker(drive, part, account, container)
        if obj:
            try:
                live = broker.delete_object(obj, timestamp, only_if_live=True)
            except DatabaseConnectionError:
                live = None
            if live is None:
                return HTTPNotFound(request=req)
            return HTTPNoContent(request=req)
        self.account_targets(req)
        if broker.is_deleted():
            return HTTPNotFound(request=req)
        if not broker.empty():
            return text_response(HTTPConflict, 'Container not empty', req)
        broker.delete_db(timestamp)
        if not broker.is_deleted():
            # our delete was older than the container's latest PUT
            return HTTPConflict(request=req)
        resp = self.account_update(req, account, container, broker)
        if resp is not None:
            return resp
        return HTTPNoContent(request=req)

    @public
    def HEAD(self, req):
        drive, part, account, container = self.split_request(req, 4, 4)
        broker = self._broker(drive, part, account, container)
        if broker.is_deleted():
            return HTTPNotFound(request=req)
        return HTTPNoContent(request=req, headers=self._stat_headers(broker))

    @public
    def GET(self, req):
        """Object listing (plain, JSON or XML)."""
        drive, part, account, container = self.split_request(req, 4, 4)
        broker = self._broker(drive, part, account, container)
        if broker.is_deleted():
            return HTTPNotFound(request=req)
        limit, marker, end_marker, prefix, delimiter = listing_params(
            req, constraints.CONTAINER_LISTING_LIMIT)
        path = get_param(req, 'path')
        content_type = listing_format(req)
        rows = broker.list_objects_iter(limit, marker, end_marker, prefix,
                                        delimiter, path)
        entries = []
        json_body = None
        if content_type == JSON:
            json_body = json_object_listing(rows)
        elif content_type != PLAIN:  # a plain listing is just the names
            for name, created_at, size, obj_type, etag in rows:
                if obj_type is None:
                    entries.append({'subdir': name})
                else:
                    entries.append({
                        'name': name, 'hash': etag, 'bytes': size,
                        'content_type': obj_type,
                        'last_modified': iso_timestamp(created_at)})
        return listing_response(req, content_type, 'container', container,
                                entries, [r[0] for r in rows],
                                self._stat_headers(broker),
                                json_body=json_body)

    @public
    def POST(self, req):
        """Update X-Container-Meta-* and the ACL headers."""
        drive, part, account, container = self.split_request(req, 4, 4)
        timestamp = self.required_timestamp(req)
        error = constraints.check_metadata(req, 'container')
        if error:
            return error
        broker = self._broker(drive, part, account, container)
        if broker.is_deleted():
            return HTTPNotFound(request=req)
        broker.update_metadata(self.metadata_updates(
            req, (META_PREFIX,), timestamp, ACL_HEADERS))
        return HTTPNoContent(request=req)

    @public
    def REPLICATE(self, req):
        """DB replication RPC from a container replicator (JSON body; see
        swift.common.db_replicator)."""
        drive, part, name_hash = self.split_request(req, 3, 3)
        if self._replicator_rpc is None:
            self._replicator_rpc = ReplicatorRpc(
                self.devices, DATADIR, ContainerBroker, mount_check=False,
                logger=self.logger)  # split_request checked the mount
        return self._replicator_rpc.dispatch(req, drive, part, name_hash)


def app_factory(global_conf, **local_conf):
    """paste.deploy factory: ``paste.app_factory = swift.container.server:app_factory``."""
    conf = dict(global_conf)
    conf.update(local_conf)
    return ContainerController(conf)


__all__ = ['ContainerController', 'app_factory']
