"""One page of a bucket listing: S3's prefix, marker, delimiter, max-keys.

Pure functions over sorted keys, so the paging rules can be tested alone.
"""

import dataclasses

MAX_KEYS = 1000


@dataclasses.dataclass
class Page:
    contents: list          # the objects (or keys) listed, in order
    common_prefixes: list   # rolled-up prefixes, in order
    truncated: bool
    next_marker: str        # last key or prefix listed when truncated


def list_page(objects, prefix='', marker='', max_keys=MAX_KEYS,
              delimiter='', key=lambda o: o):
    """The page of ``objects`` (sorted by ``key``) after ``marker``.

    Keys that contain ``delimiter`` after ``prefix`` roll up into one
    common prefix that counts once against ``max_keys``; a marker that
    is, or lies inside, a common prefix already listed skips the rest of
    that prefix, so paging with NextMarker never repeats an entry.
    """
    prefix = prefix or ''
    marker = marker or ''
    contents, prefixes = [], []
    truncated = False
    last = None
    for obj in objects:
        name = key(obj)
        if not name.startswith(prefix) or name <= marker:
            continue
        rolled = None
        if delimiter:
            index = name.find(delimiter, len(prefix))
            if index >= 0:
                rolled = name[:index + len(delimiter)]
                if rolled <= marker or (prefixes and prefixes[-1] == rolled):
                    continue
                if marker.startswith(rolled):
                    continue
        if len(contents) + len(prefixes) >= max_keys:
            truncated = True
            break
        if rolled is not None:
            prefixes.append(rolled)
            last = rolled
        else:
            contents.append(obj)
            last = name
    return Page(contents, prefixes, truncated, last if truncated else None)
