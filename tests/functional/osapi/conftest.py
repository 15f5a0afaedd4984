"""One cloud + nova-api for the whole module (starting it takes a while)."""

import pytest

from tests.conftest import require_service
from tests.functional.osapi import osapi_env


@pytest.fixture(scope='module')
def env():
    require_service('rabbit')
    cloud = osapi_env.Env()
    try:
        cloud.start()
        yield cloud
    finally:
        cloud.stop()
