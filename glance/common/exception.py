"""Glance's errors.

Each error carries the HTTP status the API answers with (``code``), so the
place that detects a problem raises it with a message for the user and the
WSGI layer turns it into a plain-text response in one place.
"""


class GlanceError(Exception):
    code = 500
    message = 'An unknown error occurred.'

    def __init__(self, message=None):
        self.msg = message or self.message
        super().__init__(self.msg)

    def __str__(self):
        return self.msg


class Invalid(GlanceError):
    """The request is malformed or names an unacceptable value (400)."""
    code = 400
    message = 'Invalid request.'


class NotAuthenticated(GlanceError):
    code = 401
    message = 'Authentication required.'


class Forbidden(GlanceError):
    """The caller is known but may not do this (403)."""
    code = 403
    message = 'Not allowed.'


NotAuthorized = Forbidden


class NotFound(GlanceError):
    code = 404
    message = 'Not found.'


class Conflict(GlanceError):
    """The resource is in a state that forbids the request (409)."""
    code = 409
    message = 'Conflict.'


Duplicate = Conflict


class TooLarge(GlanceError):
    """The image is over the size cap or the store is full (413)."""
    code = 413
    message = 'Request entity too large.'


class StoreError(GlanceError):
    """A store backend failed (500 unless a subclass says otherwise)."""
    code = 500
    message = 'The image store failed.'


class UploadIncomplete(Invalid):
    """The client sent fewer bytes than it declared, or broke the stream."""
    message = 'The upload ended before all image data arrived.'


class ServiceUnavailable(GlanceError):
    code = 503
    message = 'A backend service is unavailable.'


def from_status(status, message):
    """The exception for an HTTP status a glance service answered with."""
    for cls in (Invalid, NotAuthenticated, Forbidden, NotFound, Conflict,
                TooLarge, ServiceUnavailable):
        if cls.code == status:
            return cls(message)
    err = GlanceError(message)
    err.code = status
    return err
