"""Fixtures: glance-registry + glance-api processes on loopback ports."""

import pytest

from tests.functional.glance.servers import GlanceServers


@pytest.fixture(scope='module')
def glance_file_store():
    """glance on the file store, shared by one module's tests."""
    servers = GlanceServers().start()
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture
def glance(glance_file_store):
    """The module's glance, emptied of images before the test."""
    glance_file_store.clear()
    return glance_file_store
