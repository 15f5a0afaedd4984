"""The account server: one SQLite database per account replica.

Paths: ``/<device>/<partition>/<account>`` for the account itself and
``/<device>/<partition>/<account>/<container>`` for the container reports
container servers send (X-Put-Timestamp, X-Delete-Timestamp, X-Object-Count,
X-Bytes-Used).
"""

import os

from webob.exc import (HTTPAccepted, HTTPBadRequest, HTTPConflict,
                       HTTPCreated, HTTPForbidden, HTTPNoContent,
                       HTTPNotFound)

from swift.common import constraints
from swift.common.db import AccountBroker, DatabaseAlreadyExists
from swift.common.db_replicator import ReplicatorRpc
from swift.common.storage_server import (StorageServer, listing_format,
                                         listing_params,
                                         listing_response, text_response,
                                         visible_metadata)
from swift.common.utils import (hash_path, normalize_timestamp, public,
                                storage_directory)

DATADIR = 'accounts'
META_PREFIX = 'x-account-meta-'


class AccountController(StorageServer):
    server_type = 'account'
    _replicator_rpc = None  # made on the first REPLICATE

    def _broker(self, drive, part, account):
        name_hash = hash_path(account)
        db_dir = storage_directory(os.path.join(self.devices, drive, DATADIR),
                                   part, name_hash)
        return AccountBroker(os.path.join(db_dir, name_hash + '.db'),
                             account=account, logger=self.logger)

    def _stat_headers(self, broker):
        info = broker.get_info()
        headers = {
            'X-Account-Container-Count': str(info['container_count']),
            'X-Account-Object-Count': str(info['object_count']),
            'X-Account-Bytes-Used': str(info['bytes_used']),
            'X-Timestamp': info['created_at'],
            'X-PUT-Timestamp': info['put_timestamp'],
        }
        headers.update(visible_metadata(broker.metadata))
        return headers

    @public
    def PUT(self, req):
        """Create/update the account, or record a container report."""
        drive, part, account, container = self.split_request(req, 3, 4)
        broker = self._broker(drive, part, account)
        if container:
            # A container server telling us about one of our containers.
            if not broker.exists() or broker.is_deleted():
                return HTTPNotFound(request=req)
            put_ts = req.headers.get('x-put-timestamp', '0')
            delete_ts = req.headers.get('x-delete-timestamp', '0')
            for value in (put_ts, delete_ts,
                          req.headers.get('x-object-count', '0'),
                          req.headers.get('x-bytes-used', '0')):
                if not constraints.check_float(value):
                    return text_response(HTTPBadRequest,
                                         'Invalid container report', req)
            try:
                object_count = int(req.headers.get('x-object-count', 0))
                bytes_used = int(req.headers.get('x-bytes-used', 0))
            except ValueError:
                return text_response(HTTPBadRequest,
                                     'Invalid container report', req)
            broker.put_container(container, put_ts, delete_ts, object_count,
                                 bytes_used)
            if normalize_timestamp(delete_ts) > normalize_timestamp(put_ts):
                return HTTPNoContent(request=req)
            return HTTPCreated(request=req)
        timestamp = self.required_timestamp(req)
        error = constraints.check_metadata(req, 'account')
        if error:
            return error
        created = False
        if not broker.exists():
            try:
                broker.initialize(timestamp)
                created = True
            except DatabaseAlreadyExists:
                pass
        if not created:
            if broker.is_status_deleted():
                return text_response(HTTPForbidden, 'Recently deleted', req)
            created = broker.is_deleted()
            broker.update_put_timestamp(timestamp)
            if broker.is_deleted():
                return HTTPConflict(request=req)
        broker.update_metadata(self.metadata_updates(
            req, (META_PREFIX,), timestamp))
        if created:
            return HTTPCreated(request=req)
        return HTTPAccepted(request=req)

    @public
    def DELETE(self, req):
        """Mark the account deleted (the reaper empties it later)."""
        drive, part, account = self.split_request(req, 3, 3)
        timestamp = self.required_timestamp(req)
        broker = self._broker(drive, part, account)
        if broker.is_deleted():
            return HTTPNotFound(request=req)
        broker.delete_db(timestamp)
        return HTTPNoContent(request=req)

    @public
    def HEAD(self, req):
        drive, part, account = self.split_request(req, 3, 3)
        broker = self._broker(drive, part, account)
        if broker.is_deleted():
            return HTTPNotFound(request=req)
        return HTTPNoContent(request=req, headers=self._stat_headers(broker))

    @public
    def GET(self, req):
        """Container listing (plain, JSON or XML)."""
        drive, part, account = self.split_request(req, 3, 3)
        broker = self._broker(drive, part, account)
        if broker.is_deleted():
            return HTTPNotFound(request=req)
        limit, marker, end_marker, prefix, delimiter = listing_params(
            req, constraints.ACCOUNT_LISTING_LIMIT)
        content_type = listing_format(req)
        rows = broker.list_containers_iter(limit, marker, end_marker, prefix,
                                           delimiter)
        entries = []
        for name, count, bytes_used, is_subdir in rows:
            if is_subdir:
                entries.append({'subdir': name})
            else:
                entries.append({'name': name, 'count': count,
                                'bytes': bytes_used})
        return listing_response(req, content_type, 'account', account,
                                entries, [r[0] for r in rows],
                                self._stat_headers(broker))

    @public
    def POST(self, req):
        """Update X-Account-Meta-* (empty value removes a key)."""
        drive, part, account = self.split_request(req, 3, 3)
        timestamp = self.required_timestamp(req)
        error = constraints.check_metadata(req, 'account')
        if error:
            return error
        broker = self._broker(drive, part, account)
        if broker.is_deleted():
            return HTTPNotFound(request=req)
        broker.update_metadata(self.metadata_updates(
            req, (META_PREFIX,), timestamp))
        return HTTPNoContent(request=req)

    @public
    def REPLICATE(self, req):
        """DB replication RPC from an account replicator (JSON body; see
        swift.common.db_replicator)."""
        drive, part, name_hash = self.split_request(req, 3, 3)
        if self._replicator_rpc is None:
            self._replicator_rpc = ReplicatorRpc(
                self.devices, DATADIR, AccountBroker, mount_check=False,
                logger=self.logger)  # split_request checked the mount
        return self._replicator_rpc.dispatch(req, drive, part, name_hash)


def app_factory(global_conf, **local_conf):
    """paste.deploy factory: ``paste.app_factory = swift.account.server:app_factory``."""
    conf = dict(global_conf)
    conf.update(local_conf)
    return AccountController(conf)


__all__ = ['AccountController', 'app_factory']
