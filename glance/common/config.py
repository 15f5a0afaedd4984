"""Reading options out of the paste.deploy configuration.

paste.deploy hands each factory the ``[DEFAULT]`` section (global_conf) and
the factory's own section (local_conf) as dicts of strings; ``merge`` joins
them (local wins) and the ``get_*`` helpers turn values into the right type
with an error that names the option.
"""

from glance.common import exception

_TRUE = ('true', '1', 'yes', 'on', 't', 'y')
_FALSE = ('false', '0', 'no', 'off', 'f', 'n', '')


def merge(global_conf, local_conf):
    conf = dict(global_conf or {})
    conf.update(local_conf or {})
    conf.pop('__file__', None)
    conf.pop('here', None)
    return conf


def parse_bool(text, what='value'):
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise exception.Invalid('%s must be true or false, not %r' % (what, text))


def get_bool(conf, key, default=False):
    if conf.get(key) is None:
        return default
    return parse_bool(conf[key], 'option %s' % key)


def get_int(conf, key, default=None):
    value = conf.get(key)
    if value is None or str(value).strip() == '':
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        raise exception.Invalid('option %s must be an integer, not %r'
                                % (key, value)) from None


def get_str(conf, key, default=None):
    value = conf.get(key)
    if value is None:
        return default
    return str(value).strip()
