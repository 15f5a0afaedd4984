"""``Filter.N.Name`` / ``Filter.N.Value.M`` of the Describe actions.

A filter list arrives (after apirequest) as
``[{'name': 'instance-state-name', 'value': ['running', 'pending']}]``.
An item matches when, for every filter, one of its values matches one of
the filter's values; ``*`` and ``?`` are wildcards as in EC2.  Filter names
an action does not know are an InvalidParameterValue (EC2 says so rather
than silently matching everything).
"""

import fnmatch

from nova import exception


def parse(filters, known):
    """[(name, [values])] from the parsed parameter; validates names."""
    if filters in (None, ''):
        return []
    if not isinstance(filters, list):
        raise exception.InvalidParameterValue(
            reason='Filter must be given as Filter.N.Name and '
                   'Filter.N.Value.M.')
    parsed = []
    for item in filters:
        if not isinstance(item, dict) or not isinstance(item.get('name'), str):
            raise exception.InvalidParameterValue(
                reason='Each Filter.N needs a Name.')
        name = item['name']
        if name not in known:
            raise exception.InvalidParameterValue(
                reason='The filter %r is invalid; known filters: %s.'
                % (name, ', '.join(sorted(known))))
        values = item.get('value', [])
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not values or \
                not all(isinstance(v, str) for v in values):
            raise exception.InvalidParameterValue(
                reason='Filter %s needs Value.1 (and more) as text.' % name)
        parsed.append((name, values))
    return parsed


def _as_texts(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return [_text(v) for v in value if v is not None]
    return [_text(value)]


def _text(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def matches(parsed, attributes):
    """True when ``attributes`` ({filter name: value or values}) pass."""
    for name, patterns in parsed:
        values = _as_texts(attributes.get(name))
        if not any(fnmatch.fnmatchcase(v, p) for v in values
                   for p in patterns):
            return False
    return True
