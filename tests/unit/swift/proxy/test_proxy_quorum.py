"""best_response quorum rules and node error limiting."""

import time

from webob import Request

from swift.proxy.controllers.base import best_response
from tests.unit.swift.proxy.conftest import make_app


def answer(statuses, replicas=3):
    req = Request.blank('/v1/a/c')
    n = len(statuses)
    return best_response(req, list(statuses), [''] * n, [b''] * n, 'test',
                         replicas).status_int


def test_majority_of_successes_wins_with_highest_status():
    assert answer([201, 202, 201]) == 202
    assert answer([201, 201, 503]) == 201
    assert answer([201, 404, 201]) == 201


def test_no_class_with_majority_is_503():
    assert answer([201, 404, 503]) == 503
    assert answer([201]) == 503           # two replicas never answered
    assert answer([]) == 503


def test_client_errors_with_majority():
    assert answer([404, 404, 201]) == 404
    assert answer([409, 404, 503]) == 409
    assert answer([404, 409, 409]) == 409


def test_quorum_depends_on_replica_count():
    assert answer([201, 201], replicas=4) == 503   # needs 3 of 4
    assert answer([201, 201, 201], replicas=4) == 201
    assert answer([201], replicas=1) == 201
    assert answer([201, 201, 201], replicas=5) == 201


def test_error_limiting_after_limit(cluster):
    app = make_app(cluster, error_suppression_limit='2',
                   error_suppression_interval='60')
    node = cluster.object_ring.devs[0]
    for _ in range(2):
        app.error_occurred(node, 'test')
    assert not app.error_limited(node)
    app.error_occurred(node, 'test')
    assert app.error_limited(node)
    assert not app.error_limited(cluster.object_ring.devs[1])


def test_error_limit_expires_after_interval(cluster):
    app = make_app(cluster, error_suppression_limit='0',
                   error_suppression_interval='30')
    node = cluster.object_ring.devs[0]
    app.error_occurred(node, 'test')
    assert app.error_limited(node)
    app.node_errors[app.node_key(node)]['last_error'] = time.time() - 31
    assert not app.error_limited(node)


def test_507_error_limits_at_once(cluster):
    app = make_app(cluster)
    node = cluster.object_ring.devs[2]
    app.error_limit(node)
    assert app.error_limited(node)
