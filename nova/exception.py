"""Nova's exception hierarchy.

Errors are raised where they are detected with a message for the user; each
API turns them into its own fault format in one place (EC2 XML error codes,
OpenStack JSON/XML faults).  ``code`` is the HTTP status an API should use and
``ec2_code`` the EC2 error code; subclasses override both.
"""


class NovaException(Exception):
    message = 'An unknown exception occurred.'
    code = 500
    ec2_code = 'InternalError'

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.message % kwargs
            except (KeyError, TypeError):
                message = self.message
        self.msg = message
        super().__init__(message)

    def __str__(self):
        return self.msg


Error = NovaException


class ProcessExecutionError(NovaException):
    def __init__(self, cmd, exit_code=None, stdout='', stderr='',
                 description=None):
        self.cmd = cmd
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        if description is None:
            description = 'Unexpected error while running command.'
        message = ('%s\nCommand: %s\nExit code: %s\nStdout: %r\nStderr: %r'
                   % (description, ' '.join(cmd) if isinstance(cmd, (list, tuple))
                      else cmd, exit_code, stdout, stderr))
        super().__init__(message)


class NotAuthorized(NovaException):
    message = 'Not authorized.'
    code = 403
    ec2_code = 'AuthFailure'


class NotAuthenticated(NotAuthorized):
    message = 'Authentication failed.'
    code = 401


class AdminRequired(NotAuthorized):
    message = 'User does not have admin privileges.'
    ec2_code = 'UnauthorizedOperation'


class PolicyNotAuthorized(NotAuthorized):
    message = 'Not authorized for %(action)s.'
    ec2_code = 'UnauthorizedOperation'


class SignatureError(NotAuthorized):
    message = 'The request signature does not match.'
    ec2_code = 'SignatureDoesNotMatch'


class RequestExpired(NotAuthorized):
    message = 'Request has expired.'
    ec2_code = 'RequestExpired'


class Invalid(NovaException):
    message = 'Unacceptable parameters.'
    code = 400
    ec2_code = 'InvalidParameterValue'


class InvalidInput(Invalid):
    message = 'Invalid input received: %(reason)s'


class InvalidParameterValue(Invalid):
    message = '%(reason)s'


class MissingParameter(Invalid):
    message = 'The request must contain the parameter %(name)s.'
    ec2_code = 'MissingParameter'


class InvalidState(Invalid):
    message = '%(reason)s'
    code = 409
    ec2_code = 'IncorrectState'


class InstanceLocked(InvalidState):
    message = 'Instance %(instance_id)s is locked.'


class Duplicate(NovaException):
    message = 'Resource already exists.'
    code = 409
    ec2_code = 'InvalidParameterValue'


class NotFound(NovaException):
    message = 'Resource could not be found.'
    code = 404
    ec2_code = 'NotFound'


class UserNotFound(NotFound):
    message = 'User %(user_id)s could not be found.'


class ProjectNotFound(NotFound):
    message = 'Project %(project_id)s could not be found.'


class RoleNotFound(NotFound):
    message = 'Role %(role)s is not a known role.'


class ServiceNotFound(NotFound):
    message = 'Service %(service_id)s could not be found.'


class HostNotFound(NotFound):
    message = 'Host %(host)s could not be found.'


class InstanceNotFound(NotFound):
    message = 'Instance %(instance_id)s could not be found.'
    ec2_code = 'InvalidInstanceID.NotFound'


class InstanceTypeNotFound(NotFound):
    message = 'Instance type %(instance_type)s could not be found.'
    ec2_code = 'InvalidInstanceType'


class VolumeNotFound(NotFound):
    message = 'Volume %(volume_id)s could not be found.'
    ec2_code = 'InvalidVolume.NotFound'


class ImageNotFound(NotFound):
    message = 'Image %(image_id)s could not be found.'
    ec2_code = 'InvalidAMIID.NotFound'


class KeypairNotFound(NotFound):
    message = 'Key pair %(name)s could not be found.'
    ec2_code = 'InvalidKeyPair.NotFound'


class SecurityGroupNotFound(NotFound):
    message = 'Security group %(group_id)s could not be found.'
    ec2_code = 'InvalidGroup.NotFound'


class NetworkNotFound(NotFound):
    message = 'Network %(network_id)s could not be found.'


class FixedIpNotFound(NotFound):
    message = 'Fixed IP %(address)s could not be found.'


class FloatingIpNotFound(NotFound):
    message = 'Floating IP %(address)s could not be found.'
    ec2_code = 'InvalidAddress.NotFound'


class CertificateNotFound(NotFound):
    message = 'Certificate %(certificate_id)s could not be found.'


class TokenNotFound(NotFound):
    message = 'Auth token could not be found.'


class NoMoreNetworks(NotFound):
    message = 'There are no networks left to give out.'


class NoMoreFixedIps(NotFound):
    message = 'No fixed IP addresses are left in the network.'


class NoMoreFloatingIps(NotFound):
    message = 'No floating IP addresses are left.'
    ec2_code = 'AddressLimitExceeded'


class NoMoreTargets(NotFound):
    message = 'No iSCSI targets are left on this host.'


class QuotaNotFound(NotFound):
    message = 'No quota for project %(project_id)s.'


class SecurityGroupRuleNotFound(NotFound):
    message = 'Security group rule %(rule_id)s could not be found.'
    ec2_code = 'InvalidPermission.NotFound'


class SecurityGroupExists(Duplicate):
    message = ('Security group %(name)s already exists in project '
               '%(project_id)s.')
    ec2_code = 'InvalidGroup.Duplicate'


class SecurityGroupRuleExists(Duplicate):
    message = 'Security group %(name)s already has the rule %(rule)s.'
    ec2_code = 'InvalidPermission.Duplicate'


class SecurityGroupInUse(InvalidState):
    message = 'Security group %(name)s is used by %(count)s instance(s).'
    ec2_code = 'InvalidGroup.InUse'


class SecurityGroupReserved(Invalid):
    message = ('Security group %(name)s belongs to every project; it cannot '
               'be deleted.')
    ec2_code = 'InvalidGroup.Reserved'


class InstanceMetadataNotFound(NotFound):
    message = 'Instance %(instance_id)s has no metadata key %(key)s.'


class ConsolePoolNotFound(NotFound):
    message = 'Console pool %(pool_id)s could not be found.'


class ConsoleNotFound(NotFound):
    message = 'Console %(console_id)s could not be found.'


class MigrationNotFound(NotFound):
    message = 'Migration %(migration_id)s could not be found.'


class ZoneNotFound(NotFound):
    message = 'Zone %(zone_id)s could not be found.'


class HostBinaryNotFound(ServiceNotFound):
    message = 'No service %(binary)s on host %(host)s.'


class QuotaError(NovaException):
    message = 'Quota exceeded: %(reason)s'
    code = 413
    ec2_code = 'QuotaExceeded'


class InstanceLimitExceeded(QuotaError):
    ec2_code = 'InstanceLimitExceeded'


class VolumeLimitExceeded(QuotaError):
    ec2_code = 'VolumeLimitExceeded'


class AddressLimitExceeded(QuotaError):
    ec2_code = 'AddressLimitExceeded'


class NoValidHost(NovaException):
    message = 'No valid host was found: %(reason)s'
    code = 503
    ec2_code = 'InsufficientInstanceCapacity'


class DBError(NovaException):
    message = 'Database error: %(reason)s'


class RPCError(NovaException):
    message = 'Messaging error: %(reason)s'


class RPCTimeout(RPCError):
    message = ('Timed out after %(timeout)ss waiting for a reply to '
               '%(method)s on topic %(topic)s')
    code = 504
    ec2_code = 'Unavailable'


class RemoteError(RPCError):
    """An exception raised by the other side of an RPC call.

    ``exc_type`` is the remote class name; when nova knows that class the
    caller gets an instance of it instead (see ``nova.rpc.common``).
    """

    def __init__(self, exc_type, value, traceback=''):
        self.exc_type = exc_type
        self.value = value
        self.traceback = traceback
        NovaException.__init__(self, '%s: %s' % (exc_type, value))
