"""Exceptions shared by the Swift servers and daemons."""

from eventlet import Timeout


class SwiftException(Exception):
    pass


class MessageTimeout(Timeout):
    """An eventlet.Timeout carrying a message for the logs."""

    def __init__(self, seconds=None, msg=None):
        super().__init__(seconds=seconds)
        self.msg = msg

    def __str__(self):
        return '%s: %s' % (super().__str__(), self.msg)


class ConnectionTimeout(Timeout):
    """Connecting to a storage node took longer than conn_timeout."""


class ChunkReadTimeout(Timeout):
    """Reading one chunk (from a client or a node) took too long."""


class ChunkWriteTimeout(Timeout):
    """Writing one chunk took too long."""


class DiskFileError(SwiftException):
    pass


class DiskFileNotExist(DiskFileError):
    pass


class DiskFileQuarantined(DiskFileError):
    pass


class DiskFileNoSpace(DiskFileError):
    pass


class ListingIterError(SwiftException):
    pass


class RingBuilderError(SwiftException):
    pass


class RingValidationError(RingBuilderError):
    pass


class EmptyRingError(RingBuilderError):
    pass


class DuplicateDeviceError(RingBuilderError):
    pass


class LockTimeout(SwiftException):
    """A file lock could not be taken within its timeout.

    A plain exception (the original armed an eventlet Timeout): our lock
    helpers poll with a deadline and raise this themselves.
    """

    def __init__(self, seconds=None, msg=None):
        super().__init__(seconds, msg)
        self.seconds = seconds
        self.msg = msg

    def __str__(self):
        return 'Lock timeout (%ss): %s' % (self.seconds, self.msg)


class DatabaseConnectionError(SwiftException):
    def __init__(self, path, msg, timeout=0):
        super().__init__(path, msg, timeout)
        self.path = path
        self.timeout = timeout
        self.msg = msg

    def __str__(self):
        return 'DB connection error (%s, %s):\n%s' % (
            self.path, self.timeout, self.msg)


class DatabaseAlreadyExists(SwiftException):
    def __init__(self, path):
        super().__init__(path)
        self.path = path

    def __str__(self):
        return 'DB %s already exists' % self.path
