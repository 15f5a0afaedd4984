"""paste.deploy entry points of glance-api."""

from glance.api.v1 import images
from glance.common import config
from glance.registry import client as registry_client
from glance import store


def build_app(conf, registry=None):
    """The v1 API app from an options dict (tests pass their registry)."""
    if registry is None:
        registry = registry_client.RegistryClient(
            config.get_str(conf, 'registry_host', '127.0.0.1'),
            config.get_int(conf, 'registry_port', 9191),
            timeout=config.get_int(conf, 'registry_timeout', 60))
    stores = store.Stores(conf)
    # Build the default store now so a bad configuration stops start-up.
    stores.get()
    controller = images.ImagesController(
        registry, stores,
        image_size_cap=config.get_int(conf, 'image_size_cap',
                                      1024 ** 4))
    return images.API(controller)


def app_factory(global_conf, **local_conf):
    """``[app:apiv1app]``: the image API without authentication."""
    return build_app(config.merge(global_conf, local_conf))
