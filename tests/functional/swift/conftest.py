"""The `swift_cluster` fixture: one real Swift cluster per test session.

Use it as a test argument::

    def test_put(swift_cluster):
        url, token = swift_cluster.get_auth('test:tester')
        ...

`swift_cluster` is function-scoped but hands out the one session-wide
cluster (see cluster.py for what it holds), after making sure every server
runs and no device is "unmounted"; it heals the cluster again after the test,
so a test may stop servers or unmount devices freely.  Module- or
session-scoped fixtures that need the cluster use `swift_cluster_session`
(the same object, without the healing).

When a test that used the cluster fails, the tail of every server log is added
to its report ("swift cluster logs").
"""

import pytest

from tests.functional.swift.cluster import SwiftCluster


@pytest.fixture(scope='session')
def swift_cluster_session():
    cluster = SwiftCluster()
    try:
        cluster.setup()
    except BaseException:
        logs = cluster.logs()
        cluster.teardown()
        pytest.fail('the swift cluster did not start:\n' + logs,
                    pytrace=False)
    try:
        yield cluster
    finally:
        cluster.teardown()


@pytest.fixture
def swift_cluster(swift_cluster_session):
    swift_cluster_session.heal()
    yield swift_cluster_session
    swift_cluster_session.heal()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        cluster = (getattr(item, 'funcargs', {}).get('swift_cluster')
                   or getattr(item, 'funcargs', {}).get('swift_cluster_session'))
        if cluster is not None:
            report.sections.append(('swift cluster logs', cluster.logs()))
