"""nova-manage: the operator's command line.

    nova-manage [--flagfile=FILE] [--flag=value ...] CATEGORY ACTION [ARGS...]

Each category is a class whose public methods are its actions; the method's
signature is the action's usage and its docstring the help.  Categories and
actions may be abbreviated to any unique prefix.  Errors go to stderr with a
non-zero exit: 2 for wrong usage, 1 when the action itself failed.  Every
action validates its input before it writes, so nothing is half-written.

New categories register in CATEGORIES (later services add theirs there).
"""

import code
import inspect
import os
import sys

from nova import context
from nova import exception
from nova import flags
from nova import log as logging
from nova import version

FLAGS = flags.FLAGS


class UsageError(Exception):
    """Wrong command line: print usage and exit 2."""


def _admin_context():
    return context.get_admin_context()


def _auth():
    from nova.auth import manager
    return manager.AuthManager()


class DbCommands:
    """The database schema."""

    def sync(self, version=None):
        """Upgrade the database schema to the newest version (or VERSION)."""
        from nova.db import migration
        migration.db_sync(version)
        print(migration.db_version())

    def version(self):
        """Print the schema version of the database."""
        from nova.db import migration
        current = migration.db_version()
        if current is None:
            raise exception.NovaException(
                'the database has no schema yet; run: nova-manage db sync')
        print(current)


class UserCommands:
    """Users of the cloud and their keys."""

    @staticmethod
    def _print_export(user):
        print('export EC2_ACCESS_KEY=%s' % user.access)
        print('export EC2_SECRET_KEY=%s' % user.secret)

    def admin(self, name, access=None, secret=None):
        """Create an admin user; prints its keys."""
        self._print_export(_auth().create_user(name, access, secret, True))

    def create(self, name, access=None, secret=None):
        """Create a user; prints its keys."""
        self._print_export(_auth().create_user(name, access, secret, False))

    def delete(self, name):
        """Delete a user (and its key pairs)."""
        _auth().delete_user(name)

    def exports(self, name):
        """Print the keys of a user as shell exports."""
        user = _auth().get_user(name)
        if user is None:
            raise exception.UserNotFound(user_id=name)
        self._print_export(user)

    def list(self):
        """List users."""
        for user in _auth().get_users():
            print('%s%s' % (user.name, ' (admin)' if user.admin else ''))

    def modify(self, name, access_key, secret_key, is_admin):
        """Change keys or admin flag; '' keeps a value, admin is T/F or ''."""
        admin = None
        if is_admin != '':
            flag = is_admin.strip().upper()
            if flag not in ('T', 'TRUE', 'F', 'FALSE'):
                raise UsageError('is_admin must be T, F or empty, not %r'
                                 % is_admin)
            admin = flag in ('T', 'TRUE')
        _auth().modify_user(name, access_key or None, secret_key or None,
                            admin)


class ProjectCommands:
    """Projects: membership, quotas and credentials."""

    def create(self, name, project_manager, description=None):
        """Create a project managed by a user."""
        _auth().create_project(name, project_manager, description)

    def modify(self, name, project_manager, description=None):
        """Change a project's manager and description."""
        _auth().modify_project(name, project_manager, description)

    def delete(self, name):
        """Delete a project."""
        _auth().delete_project(name)

    def list(self):
        """List projects."""
        for project in _auth().get_projects():
            print('%s (manager %s)' % (project.id, project.project_manager_id))

    def add(self, project, user):
        """Add a user to a project."""
        _auth().add_to_project(user, project)

    def remove(self, project, user):
        """Remove a user from a project."""
        _auth().remove_from_project(user, project)

    def quota(self, project, key=None, value=None):
        """Print a project's quotas, or set KEY to VALUE ('default' resets)."""
        from nova import quota
        if key is not None and value is None:
            raise UsageError('quota needs a value for %s' % key, 'project')
        ctxt = _admin_context()
        if _auth().get_project(project) is None:
            raise exception.ProjectNotFound(project_id=project)
        if key is not None:
            quota.set_quota(ctxt, project, key,
                            None if value == 'default' else value)
        for name, limit in sorted(quota.get_quota(ctxt, project).items()):
            print('%s: %s' % (name, limit))

    def environment(self, project, user, filename='novarc'):
        """Write the rc file of USER in PROJECT to FILENAME."""
        rc = _auth().get_environment_rc(user, project)
        _write_new(filename, rc.encode('utf-8'))

    def zipfile(self, project, user, filename='nova.zip'):
        """Write the credentials zip of USER in PROJECT to FILENAME."""
        data = _auth().get_credentials(user, project)
        _write_new(filename, data)


def _write_new(filename, data):
    # Write beside and rename, so a failure leaves no truncated file behind.
    tmp = '%s.tmp%d' % (filename, os.getpid())
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
        os.chmod(tmp, 0o600)
        os.rename(tmp, filename)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class RoleCommands:
    """Global and per-project roles."""

    def add(self, user, role, project=None):
        """Give USER the ROLE, globally or in PROJECT."""
        _auth().add_role(user, role, project)

    def has(self, user, role, project=None):
        """Print True if USER has ROLE (globally or in PROJECT)."""
        auth = _auth()
        user_obj = auth.get_user(user)
        if user_obj is None:
            raise exception.UserNotFound(user_id=user)
        if project is not None and auth.get_project(project) is None:
            raise exception.ProjectNotFound(project_id=project)
        print(auth.has_role(user_obj, role, project))

    def remove(self, user, role, project=None):
        """Take ROLE from USER, globally or in PROJECT."""
        _auth().remove_role(user, role, project)


class ServiceCommands:
    """Services and their heartbeats."""

    def list(self, host=None, binary=None):
        """List services: host, binary, zone, enabled, alive and last heartbeat."""
        from nova import service
        from nova.db import api as db
        rows = db.service_get_all(_admin_context())
        print('%-20s %-18s %-10s %-9s %-5s %s' % ('Host', 'Binary', 'Zone',
                                                  'Status', 'State',
                                                  'Updated_At'))
        for row in sorted(rows, key=lambda r: (r['host'], r['binary'])):
            if host and row['host'] != host:
                continue
            if binary and row['binary'] != binary:
                continue
            alive = ':-)' if service.service_is_up(row) else 'XXX'
            status = 'disabled' if row['disabled'] else 'enabled'
            print('%-20s %-18s %-10s %-9s %-5s %s'
                  % (row['host'], row['binary'], row['availability_zone'],
                     status, alive, row['updated_at'] or row['created_at']))

    def enable(self, host, binary):
        """Let the schedulers use a service again."""
        self._set_disabled(host, binary, False)

    def disable(self, host, binary):
        """Keep the schedulers from choosing a service."""
        self._set_disabled(host, binary, True)

    @staticmethod
    def _set_disabled(host, binary, disabled):
        from nova.db import api as db
        ctxt = _admin_context()
        row = db.service_get_by_args(ctxt, host, binary)
        db.service_update(ctxt, row['id'], {'disabled': disabled})


class ShellCommands:
    """An interactive Python shell, or a script, with nova's flags loaded."""

    def python(self):
        """Start a Python shell."""
        code.interact(banner='nova %s shell' % version.version_string(),
                      local={'FLAGS': FLAGS, 'context': context})

    def run(self, shell='python'):
        """Start SHELL (python or ipython)."""
        if shell == 'ipython':
            try:
                import IPython
            except ImportError:
                raise exception.NovaException('IPython is not installed')
            IPython.embed()
        elif shell == 'python':
            self.python()
        else:
            raise UsageError('unknown shell %r (python or ipython)' % shell)

    def script(self, path):
        """Run the Python script PATH with nova's flags loaded."""
        if not os.path.exists(path):
            raise UsageError('no such script: %s' % path)
        with open(path) as f:
            source = f.read()
        exec(compile(source, path, 'exec'), {'__name__': '__main__',
                                            'FLAGS': FLAGS})


class VersionCommands:
    """The version of this nova."""

    def list(self):
        """Print the version."""
        print('%s (%s)' % (version.version_string(),
                           version.version_string_with_codename()))


CATEGORIES = {
    'db': DbCommands,
    'user': UserCommands,
    'project': ProjectCommands,
    'role': RoleCommands,
    'service': ServiceCommands,
    'shell': ShellCommands,
    'version': VersionCommands,
}


def register(name, cls):
    """Add a category (used by modules of later services)."""
    CATEGORIES[name] = cls


def _actions(cls):
    return sorted(name for name, member in inspect.getmembers(cls)
                  if callable(member) and not name.startswith('_'))


def _match(word, choices, kind):
    word_l = word.lower()
    if word_l in choices:
        return word_l
    found = [c for c in choices if c.startswith(word_l)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise UsageError('unknown %s %r' % (kind, word))
    raise UsageError('ambiguous %s %r: %s' % (kind, word, ', '.join(found)))


def _signature(method):
    params = list(inspect.signature(method).parameters.values())
    words = []
    for p in params:
        words.append(p.name.upper() if p.default is inspect.Parameter.empty
                     else '[%s]' % p.name.upper())
    return ' '.join(words)


def usage(category=None):
    lines = ['usage: nova-manage [--flagfile=FILE] [--flag=value ...] '
             'CATEGORY ACTION [ARGS...]', '']
    names = [category] if category else sorted(CATEGORIES)
    for name in names:
        cls = CATEGORIES[name]
        lines.append('%s: %s' % (name, (cls.__doc__ or '').strip()))
        for action in _actions(cls):
            method = getattr(cls(), action)
            doc = (method.__doc__ or '').strip().splitlines()
            lines.append('    %s %s %s' % (name, action, _signature(method)))
            if doc:
                lines.append('        %s' % doc[0])
    return '\n'.join(lines) + '\n'


def dispatch(args):
    """Run ``CATEGORY ACTION ARGS``; raises UsageError on a wrong command line."""
    if not args:
        raise UsageError('no category given')
    category = _match(args[0], CATEGORIES, 'category')
    cls = CATEGORIES[category]
    if len(args) < 2:
        if category == 'version':
            args = args + ['list']
        elif category == 'shell':
            args = args + ['run']
        else:
            raise UsageError('no action given for %s' % category, category)
    action = _match(args[1], _actions(cls), 'action')
    method = getattr(cls(), action)
    try:
        inspect.signature(method).bind(*args[2:])
    except TypeError:
        raise UsageError('%s %s takes: %s' % (category, action,
                                              _signature(method) or 'nothing'),
                         category) from None
    return method(*args[2:])


def main(argv=None):
    from nova import service
    argv = list(sys.argv if argv is None else argv)
    rest = service.parse_args(argv, usage())
    service.verify_flags(argv[0])
    logging.setup('nova-manage')
    try:
        dispatch(rest[1:])
    except UsageError as e:
        category = e.args[1] if len(e.args) > 1 else None
        sys.stderr.write('nova-manage: %s\n\n%s' % (e.args[0],
                                                    usage(category)))
        return 2
    except flags.FlagfileError as e:
        sys.stderr.write('nova-manage: %s\n' % e)
        return 2
    except exception.NovaException as e:
        sys.stderr.write('nova-manage: %s\n' % e)
        return 1
    return 0


# Categories of the services built on the foundation register themselves.
from nova.cli import manage_compute  # noqa: E402,F401
