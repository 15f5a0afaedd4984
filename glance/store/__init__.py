"""Image stores, chosen by name for writes and by URI scheme for reads."""

import urllib.parse

from glance.common import exception
from glance.store import base
from glance.store import filesystem
from glance.store import http as http_store
from glance.store import s3
from glance.store import swift

STORE_CLASSES = {
    'file': filesystem.FilesystemStore,
    'swift': swift.SwiftStore,
    's3': s3.S3Store,
    'http': http_store.HttpStore,
}

SCHEMES = {scheme: name for name, cls in STORE_CLASSES.items()
           for scheme in cls.schemes}


class Stores:
    """The stores one glance-api configures (each built on first use)."""

    def __init__(self, conf=None):
        self.conf = dict(conf or {})
        self.default = (self.conf.get('default_store') or 'file').strip()
        if self.default not in STORE_CLASSES or self.default == 'http':
            raise exception.Invalid('default_store must be file, swift or s3, '
                                    'not %r' % self.default)
        self._stores = {}

    def get(self, name=None):
        name = name or self.default
        if name not in STORE_CLASSES:
            raise exception.Invalid('Unknown store %r; expected one of %s'
                                    % (name, ', '.join(sorted(STORE_CLASSES))))
        if name not in self._stores:
            self._stores[name] = STORE_CLASSES[name](self.conf)
        return self._stores[name]

    def for_location(self, location):
        scheme = urllib.parse.urlsplit(location or '').scheme
        if scheme not in SCHEMES:
            raise exception.Invalid('Unknown location scheme %r in %r; '
                                    'expected one of %s'
                                    % (scheme, base.redact(location),
                                       ', '.join(sorted(SCHEMES))))
        return self.get(SCHEMES[scheme])
