"""The release this tree reimplements, and its own version."""

RELEASE = '2011.1'
CODENAME = 'bexar'
VERSION = '2011.1.0'


def version_string():
    return VERSION


def version_string_with_codename():
    return '%s (%s)' % (VERSION, CODENAME)
