"""Naive-UTC timestamps, the form the registry stores and sends."""

import datetime


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def isoformat(at):
    """``2011-04-14T10:00:00.123456`` (what nova's image client parses)."""
    if at is None:
        return None
    return at.strftime('%Y-%m-%dT%H:%M:%S.%f')
