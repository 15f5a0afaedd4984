"""The SQLAlchemy implementation of every nova.db.api function.

Rules kept in one place here:

* Visibility: ``model_query(..., project_only=True)`` limits a non-admin
  context to its own project's rows; functions that take an explicit
  ``project_id`` or ``user_id`` check it with ``authorize_project_context``
  / ``authorize_user_context``; ``require_admin_context`` guards the
  functions only the cloud itself calls (users, projects, services...).
  A row of another project reads as not found, so its existence is not
  leaked.
* Soft delete: live rows have ``deleted == 0`` and every query filters on
  it unless the context (or the caller) asks for deleted rows.  Users,
  projects, their role links and auth tokens are removed outright, as in
  the original (a deleted user's secret key has no business staying).
* Each public function runs in its own transaction (``_session``), and
  translates database errors: unique violations become
  ``exception.Duplicate``, broken references ``exception.InvalidInput``,
  anything else ``exception.DBError``.  Internal helpers take the session
  so several steps share one transaction.
* Returned rows are detached, fully loaded (see the models' eager
  relationships) and safe to read after the transaction ends.
"""

import contextlib
import functools

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy import orm

from nova import exception
from nova import flags
from nova import utils
from nova.db.sqlalchemy import models
from nova.db.sqlalchemy import session as db_session

FLAGS = flags.FLAGS

# How often a pool allocation (fixed IP, floating IP, iSCSI target...) is
# retried when another process takes the row it picked.
_CLAIM_ATTEMPTS = 20


def _now():
    return utils.utcnow()


# -- contexts -----------------------------------------------------------------

def is_admin_context(context):
    return bool(context is not None and context.is_admin)


def is_user_context(context):
    return bool(context is not None and not context.is_admin)


def _check_context(context):
    if context is None:
        raise exception.NotAuthorized('A request context is required.')


def require_context(f):
    @functools.wraps(f)
    def wrapper(context, *args, **kwargs):
        _check_context(context)
        return f(context, *args, **kwargs)
    return wrapper


def require_admin_context(f):
    @functools.wraps(f)
    def wrapper(context, *args, **kwargs):
        _check_context(context)
        if not context.is_admin:
            raise exception.AdminRequired()
        return f(context, *args, **kwargs)
    return wrapper


def authorize_project_context(context, project_id):
    _check_context(context)
    if is_user_context(context) and context.project_id != project_id:
        raise exception.NotAuthorized(
            'Not authorized for project %s.' % project_id)


def authorize_user_context(context, user_id):
    _check_context(context)
    if is_user_context(context) and context.user_id != user_id:
        raise exception.NotAuthorized('Not authorized for user %s.' % user_id)


# -- sessions and errors ------------------------------------------------------

def _translate(error):
    orig = getattr(error, 'orig', None)
    text = str(orig if orig is not None else error)
    lowered = text.lower()
    if isinstance(error, sa_exc.IntegrityError):
        sqlstate = getattr(orig, 'sqlstate', None)
        errno = orig.args[0] if orig is not None and orig.args else None
        if (sqlstate == '23505' or errno == 1062
                or 'unique constraint' in lowered or 'duplicate' in lowered):
            return exception.Duplicate('Duplicate entry: %s'
                                       % text.splitlines()[0])
        if (sqlstate == '23503' or errno in (1451, 1452)
                or 'foreign key' in lowered):
            return exception.InvalidInput(
                reason='a referenced row does not exist or is still in use '
                       '(%s)' % text.splitlines()[0])
        return exception.InvalidInput(reason=text.splitlines()[0])
    return exception.DBError(reason=text.splitlines()[0] if text else
                             type(error).__name__)


@contextlib.contextmanager
def _session(session=None):
    """One transaction: commit on success, roll back and translate on error."""
    if session is not None:
        yield session
        return
    session = db_session.get_session()
    try:
        with session.begin():
            yield session
    except sa_exc.DBAPIError as e:
        raise _translate(e) from e
    finally:
        session.close()


def model_query(context, model, session, read_deleted=None,
                project_only=False):
    """A query of ``model`` with the soft-delete and project rules applied."""
    _check_context(context)
    if read_deleted is None:
        read_deleted = context.read_deleted
    query = session.query(model)
    if not read_deleted:
        query = query.filter(model.deleted == 0)
    if project_only and is_user_context(context):
        if context.project_id is None:
            query = query.filter(sa.false())
        else:
            query = query.filter(model.project_id == context.project_id)
    return query


def _soft_delete_where(session, model, *criteria):
    now = _now()
    return (session.query(model)
            .filter(model.deleted == 0, *criteria)
            .update({model.deleted: model.id, model.deleted_at: now,
                     model.updated_at: now}, synchronize_session=False))


def _claim(session, model, free, values, order_by=None):
    """Take the first row matching ``free`` and set ``values`` on it.

    Safe between processes: the UPDATE repeats the ``free`` criteria, so a
    row another transaction took in the meantime is not overwritten; we
    pick again (a bounded number of times).  Returns the row id or None.
    """
    for _attempt in range(_CLAIM_ATTEMPTS):
        query = session.query(model.id).filter(model.deleted == 0, *free)
        query = query.order_by(order_by if order_by is not None else model.id)
        row = query.limit(1).with_for_update().first()
        if row is None:
            return None
        taken = (session.query(model)
                 .filter(model.id == row.id, model.deleted == 0, *free)
                 .update(values, synchronize_session=False))
        if taken == 1:
            return row.id
    return None


def _forget(session):
    """Write pending changes and drop every object from the session.

    Rows read after this come fresh from the database with all their eager
    relationships (a row made or changed in this transaction would
    otherwise keep its stale, unloaded relationships).
    """
    session.flush()
    session.expunge_all()


def _create(session, model, values):
    row = model()
    row.update(values)
    row.save(session)
    return row


# -- services -----------------------------------------------------------------

def _service_get(context, service_id, session):
    row = (model_query(context, models.Service, session)
           .filter_by(id=service_id).first())
    if row is None:
        raise exception.ServiceNotFound(service_id=service_id)
    return row


@require_context
def service_get(context, service_id):
    with _session() as session:
        return _service_get(context, service_id, session)


@require_context
def service_get_all(context, disabled=None):
    with _session() as session:
        query = model_query(context, models.Service, session)
        if disabled is not None:
            query = query.filter_by(disabled=bool(disabled))
        return query.order_by(models.Service.id).all()


@require_context
def service_get_all_by_topic(context, topic):
    """Enabled services of a topic (what a scheduler may choose from)."""
    with _session() as session:
        return (model_query(context, models.Service, session)
                .filter_by(topic=topic, disabled=False)
                .order_by(models.Service.id).all())


@require_context
def service_get_by_host_and_topic(context, host, topic):
    with _session() as session:
        row = (model_query(context, models.Service, session)
               .filter_by(host=host, topic=topic).first())
        if row is None:
            raise exception.ServiceNotFound(
                'No %s service on host %s.' % (topic, host),
                service_id=None)
        return row


@require_context
def service_get_all_by_host(context, host):
    with _session() as session:
        return (model_query(context, models.Service, session)
                .filter_by(host=host).order_by(models.Service.id).all())


@require_context
def service_get_by_args(context, host, binary):
    """The service of ``binary`` on ``host`` (ServiceNotFound otherwise)."""
    with _session() as session:
        row = (model_query(context, models.Service, session)
               .filter_by(host=host, binary=binary).first())
        if row is None:
            raise exception.ServiceNotFound(
                'No service %s on host %s.' % (binary, host),
                service_id=None)
        return row


def _services_sorted_by(context, topic, load):
    """[(service, load)] of enabled services of a topic, least loaded first."""
    with _session() as session:
        load = load.subquery()
        total = sa.func.coalesce(load.c.total, 0)
        rows = (model_query(context, models.Service, session)
                .filter_by(topic=topic, disabled=False)
                .outerjoin(load, models.Service.host == load.c.host)
                .add_columns(total.label('total'))
                .order_by(total, models.Service.id).all())
        return [(service, int(value)) for service, value in rows]


def _host_totals(aggregate, model):
    return (sa.select(model.host.label('host'), aggregate.label('total'))
            .where(model.deleted == 0)
            .group_by(model.host))


@require_admin_context
def service_get_all_compute_sorted(context):
    """[(service, vcpus of its live instances)], least loaded first."""
    return _services_sorted_by(
        context, FLAGS.compute_topic,
        _host_totals(sa.func.sum(models.Instance.vcpus), models.Instance))


@require_admin_context
def service_get_all_volume_sorted(context):
    """[(service, gigabytes of its live volumes)], least loaded first."""
    return _services_sorted_by(
        context, FLAGS.volume_topic,
        _host_totals(sa.func.sum(models.Volume.size), models.Volume))


@require_admin_context
def service_get_all_network_sorted(context):
    """[(service, number of its networks)], least loaded first."""
    return _services_sorted_by(
        context, FLAGS.network_topic,
        _host_totals(sa.func.count(models.Network.id), models.Network))


@require_admin_context
def service_create(context, values):
    """A new service row, disabled unless ``enable_new_services``."""
    values = dict(values)
    if 'disabled' not in values and not FLAGS.enable_new_services:
        values['disabled'] = True
    with _session() as session:
        return _create(session, models.Service, values)


@require_admin_context
def service_update(context, service_id, values):
    with _session() as session:
        row = _service_get(context, service_id, session)
        row.update(values)
        row.save(session)
        return row


@require_admin_context
def service_destroy(context, service_id):
    with _session() as session:
        _service_get(context, service_id, session).soft_delete(session)


# -- users, projects and roles ------------------------------------------------

def _user_get(context, user_id, session):
    row = (model_query(context, models.User, session)
           .filter_by(id=user_id).first())
    if row is None:
        raise exception.UserNotFound(user_id=user_id)
    return row


def _project_get(context, project_id, session):
    query = (model_query(context, models.Project, session)
             .filter_by(id=project_id))
    row = query.first()
    if row is None:
        raise exception.ProjectNotFound(project_id=project_id)
    return row


@require_admin_context
def user_get(context, user_id):
    with _session() as session:
        return _user_get(context, user_id, session)


@require_admin_context
def user_get_by_access_key(context, access_key):
    with _session() as session:
        row = (model_query(context, models.User, session)
               .filter_by(access_key=access_key).first())
        if row is None:
            # The key is not echoed: it may end up in an API error.
            raise exception.UserNotFound('No user has that access key.',
                                         user_id=None)
        return row


@require_admin_context
def user_get_all(context):
    with _session() as session:
        return (model_query(context, models.User, session)
                .order_by(models.User.id).all())


@require_admin_context
def user_create(context, values):
    with _session() as session:
        return _create(session, models.User, values)


@require_admin_context
def user_update(context, user_id, values):
    with _session() as session:
        row = _user_get(context, user_id, session)
        row.update(values)
        row.save(session)
        return row


@require_admin_context
def user_delete(context, user_id):
    """Remove a user, its role and project links, and its key pairs.

    Projects it managed keep existing without a manager.
    """
    with _session() as session:
        _user_get(context, user_id, session)
        for model in (models.UserProjectRoleAssociation,
                      models.UserRoleAssociation,
                      models.UserProjectAssociation):
            (session.query(model).filter_by(user_id=user_id)
             .delete(synchronize_session=False))
        (session.query(models.Project).filter_by(project_manager=user_id)
         .update({'project_manager': None}, synchronize_session=False))
        _soft_delete_where(session, models.KeyPair,
                           models.KeyPair.user_id == user_id)
        (session.query(models.User).filter_by(id=user_id)
         .delete(synchronize_session=False))


@require_admin_context
def project_create(context, values):
    """Create a project; ``values['members']`` may list member user ids."""
    values = dict(values)
    members = values.pop('members', None) or []
    with _session() as session:
        if values.get('project_manager'):
            _user_get(context, values['project_manager'], session)
        row = _create(session, models.Project, values)
        for user_id in members:
            _project_add_member(context, row.id, user_id, session)
        _forget(session)
        return _project_get(context, row.id, session)


@require_admin_context
def project_get(context, project_id):
    with _session() as session:
        return _project_get(context, project_id, session)


@require_admin_context
def project_get_all(context):
    with _session() as session:
        return (model_query(context, models.Project, session)
                .order_by(models.Project.id).all())


@require_admin_context
def project_get_by_user(context, user_id):
    """Projects the user is a member of."""
    with _session() as session:
        _user_get(context, user_id, session)
        assoc = models.UserProjectAssociation
        return (model_query(context, models.Project, session)
                .join(assoc, assoc.project_id == models.Project.id)
                .filter(assoc.user_id == user_id)
                .order_by(models.Project.id).all())


@require_admin_context
def project_update(context, project_id, values):
    values = dict(values)
    with _session() as session:
        row = _project_get(context, project_id, session)
        if values.get('project_manager'):
            _user_get(context, values['project_manager'], session)
        row.update(values)
        row.save(session)
        _forget(session)
        return _project_get(context, project_id, session)


@require_admin_context
def project_delete(context, project_id):
    with _session() as session:
        _project_get(context, project_id, session)
        for model in (models.UserProjectRoleAssociation,
                      models.UserProjectAssociation):
            (session.query(model).filter_by(project_id=project_id)
             .delete(synchronize_session=False))
        (session.query(models.Project).filter_by(id=project_id)
         .delete(synchronize_session=False))


def _project_add_member(context, project_id, user_id, session):
    _user_get(context, user_id, session)
    _project_get(context, project_id, session)
    exists = (session.query(models.UserProjectAssociation)
              .filter_by(user_id=user_id, project_id=project_id).first())
    if exists is None:
        _create(session, models.UserProjectAssociation,
                {'user_id': user_id, 'project_id': project_id})


@require_admin_context
def project_add_member(context, project_id, user_id):
    with _session() as session:
        _project_add_member(context, project_id, user_id, session)


@require_admin_context
def project_remove_member(context, project_id, user_id):
    """Remove a member and the roles it held in the project."""
    with _session() as session:
        _user_get(context, user_id, session)
        _project_get(context, project_id, session)
        for model in (models.UserProjectRoleAssociation,
                      models.UserProjectAssociation):
            (session.query(model)
             .filter_by(user_id=user_id, project_id=project_id)
             .delete(synchronize_session=False))


@require_admin_context
def user_get_roles(context, user_id):
    with _session() as session:
        _user_get(context, user_id, session)
        rows = (session.query(models.UserRoleAssociation.role)
                .filter_by(user_id=user_id)
                .order_by(models.UserRoleAssociation.role).all())
        return [row.role for row in rows]


@require_admin_context
def user_get_roles_for_project(context, user_id, project_id):
    with _session() as session:
        _user_get(context, user_id, session)
        _project_get(context, project_id, session)
        model = models.UserProjectRoleAssociation
        rows = (session.query(model.role)
                .filter_by(user_id=user_id, project_id=project_id)
                .order_by(model.role).all())
        return [row.role for row in rows]


@require_admin_context
def user_add_role(context, user_id, role):
    with _session() as session:
        _user_get(context, user_id, session)
        exists = (session.query(models.UserRoleAssociation)
                  .filter_by(user_id=user_id, role=role).first())
        if exists is None:
            _create(session, models.UserRoleAssociation,
                    {'user_id': user_id, 'role': role})


@require_admin_context
def user_remove_role(context, user_id, role):
    with _session() as session:
        _user_get(context, user_id, session)
        (session.query(models.UserRoleAssociation)
         .filter_by(user_id=user_id, role=role)
         .delete(synchronize_session=False))


@require_admin_context
def user_add_project_role(context, user_id, project_id, role):
    with _session() as session:
        _user_get(context, user_id, session)
        _project_get(context, project_id, session)
        exists = (session.query(models.UserProjectRoleAssociation)
                  .filter_by(user_id=user_id, project_id=project_id,
                             role=role).first())
        if exists is None:
            _create(session, models.UserProjectRoleAssociation,
                    {'user_id': user_id, 'project_id': project_id,
                     'role': role})


@require_admin_context
def user_remove_project_role(context, user_id, project_id, role):
    with _session() as session:
        _user_get(context, user_id, session)
        _project_get(context, project_id, session)
        (session.query(models.UserProjectRoleAssociation)
         .filter_by(user_id=user_id, project_id=project_id, role=role)
         .delete(synchronize_session=False))


# -- auth tokens --------------------------------------------------------------

@require_context
def auth_token_create(context, values):
    with _session() as session:
        return _create(session, models.AuthToken, values)


@require_context
def auth_token_get(context, token_hash):
    """The token row (TokenNotFound otherwise); callers check ``expires``."""
    with _session() as session:
        row = (model_query(context, models.AuthToken, session)
               .filter_by(token_hash=token_hash).first())
        if row is None:
            raise exception.TokenNotFound()
        return row


@require_context
def auth_token_update(context, token_hash, values):
    with _session() as session:
        row = (model_query(context, models.AuthToken, session)
               .filter_by(token_hash=token_hash).first())
        if row is None:
            raise exception.TokenNotFound()
        row.update(values)
        row.save(session)
        return row


@require_context
def auth_token_destroy(context, token_hash):
    with _session() as session:
        gone = (session.query(models.AuthToken)
                .filter_by(token_hash=token_hash)
                .delete(synchronize_session=False))
        if not gone:
            raise exception.TokenNotFound()


@require_context
def auth_token_destroy_expired(context, before):
    """Remove tokens whose ``expires`` is earlier than ``before``."""
    with _session() as session:
        return (session.query(models.AuthToken)
                .filter(models.AuthToken.expires < before)
                .delete(synchronize_session=False))


# -- quotas and usage ---------------------------------------------------------

def _quota_get(context, project_id, session):
    row = (model_query(context, models.Quota, session)
           .filter_by(project_id=project_id).first())
    if row is None:
        raise exception.NotFound('Quota for project %s could not be found.'
                                 % project_id)
    return row


@require_admin_context
def quota_create(context, values):
    with _session() as session:
        return _create(session, models.Quota, values)


@require_context
def quota_get(context, project_id):
    """The project's quota row; NotFound means the flag defaults apply."""
    authorize_project_context(context, project_id)
    with _session() as session:
        return _quota_get(context, project_id, session)


@require_admin_context
def quota_update(context, project_id, values):
    with _session() as session:
        row = _quota_get(context, project_id, session)
        row.update(values)
        row.save(session)
        return row


@require_admin_context
def quota_destroy(context, project_id):
    with _session() as session:
        _quota_get(context, project_id, session).soft_delete(session)


def _count_and_sum(context, model, column, project_id):
    authorize_project_context(context, project_id)
    with _session() as session:
        count, total = (session.query(sa.func.count(model.id),
                                      sa.func.coalesce(sa.func.sum(column), 0))
                        .filter(model.deleted == 0,
                                model.project_id == project_id).one())
        return int(count), int(total)


@require_context
def instance_data_get_for_project(context, project_id):
    """(live instance count, their total vcpus) of a project."""
    return _count_and_sum(context, models.Instance, models.Instance.vcpus,
                          project_id)


@require_context
def volume_data_get_for_project(context, project_id):
    """(live volume count, their total gigabytes) of a project."""
    return _count_and_sum(context, models.Volume, models.Volume.size,
                          project_id)


@require_context
def floating_ip_count_by_project(context, project_id):
    authorize_project_context(context, project_id)
    with _session() as session:
        return (session.query(models.FloatingIp)
                .filter_by(deleted=0, project_id=project_id).count())


# -- certificates -------------------------------------------------------------

@require_admin_context
def certificate_create(context, values):
    """Record an issued certificate (user_id, project_id, file_name)."""
    with _session() as session:
        return _create(session, models.Certificate, values)


def _certificates(context, **criteria):
    with _session() as session:
        return (model_query(context, models.Certificate, session)
                .filter_by(**criteria)
                .order_by(models.Certificate.id).all())


@require_admin_context
def certificate_get_all_by_project(context, project_id):
    return _certificates(context, project_id=project_id)


@require_admin_context
def certificate_get_all_by_user(context, user_id):
    return _certificates(context, user_id=user_id)


@require_admin_context
def certificate_get_all_by_user_and_project(context, user_id, project_id):
    return _certificates(context, user_id=user_id, project_id=project_id)


@require_admin_context
def certificate_destroy(context, certificate_id):
    with _session() as session:
        row = (model_query(context, models.Certificate, session)
               .filter_by(id=certificate_id).first())
        if row is None:
            raise exception.CertificateNotFound(certificate_id=certificate_id)
        row.soft_delete(session)


# -- key pairs ----------------------------------------------------------------

def _key_pair_get(context, user_id, name, session):
    authorize_user_context(context, user_id)
    row = (model_query(context, models.KeyPair, session)
           .filter_by(user_id=user_id, name=name).first())
    if row is None:
        raise exception.KeypairNotFound(name=name)
    return row


@require_context
def key_pair_create(context, values):
    authorize_user_context(context, values.get('user_id'))
    with _session() as session:
        return _create(session, models.KeyPair, values)


@require_context
def key_pair_get(context, user_id, name):
    """A user's key pair by name (KeypairNotFound otherwise)."""
    with _session() as session:
        return _key_pair_get(context, user_id, name, session)


@require_context
def key_pair_get_all_by_user(context, user_id):
    authorize_user_context(context, user_id)
    with _session() as session:
        return (model_query(context, models.KeyPair, session)
                .filter_by(user_id=user_id)
                .order_by(models.KeyPair.name).all())


@require_context
def key_pair_destroy(context, user_id, name):
    with _session() as session:
        _key_pair_get(context, user_id, name, session).soft_delete(session)


@require_context
def key_pair_destroy_all_by_user(context, user_id):
    authorize_user_context(context, user_id)
    with _session() as session:
        _soft_delete_where(session, models.KeyPair,
                           models.KeyPair.user_id == user_id)


# -- instance types -----------------------------------------------------------

def _instance_type_by(context, session, what, read_deleted=None, **criteria):
    row = (model_query(context, models.InstanceType, session,
                       read_deleted=read_deleted)
           .filter_by(**criteria).first())
    if row is None:
        raise exception.InstanceTypeNotFound(instance_type=what)
    return row


@require_admin_context
def instance_type_create(context, values):
    with _session() as session:
        return _create(session, models.InstanceType, values)


@require_context
def instance_type_get_by_name(context, name):
    with _session() as session:
        return _instance_type_by(context, session, name, name=name)


@require_context
def instance_type_get_by_flavor_id(context, flavor_id):
    """A live type by its flavorid (an int, or a string of one)."""
    try:
        flavor_id = int(flavor_id)
    except (TypeError, ValueError):
        raise exception.InstanceTypeNotFound(instance_type=flavor_id) \
            from None
    with _session() as session:
        return _instance_type_by(context, session, flavor_id,
                                 flavorid=flavor_id)


@require_context
def instance_type_get_by_id(context, instance_type_id):
    # Instances keep pointing at a type after it was deleted.
    with _session() as session:
        return _instance_type_by(context, session, instance_type_id,
                                 read_deleted=True, id=instance_type_id)


@require_context
def instance_type_get_all(context, inactive=False):
    """Every type, ordered by flavorid; ``inactive`` adds deleted ones."""
    with _session() as session:
        return (model_query(context, models.InstanceType, session,
                            read_deleted=bool(inactive) or None)
                .order_by(models.InstanceType.flavorid,
                          models.InstanceType.id).all())


@require_admin_context
def instance_type_destroy(context, name):
    """Soft-delete, so instances of that type still know their size."""
    with _session() as session:
        _instance_type_by(context, session, name,
                          name=name).soft_delete(session)


@require_admin_context
def instance_type_purge(context, name):
    """Remove a type row for good (it must not be used by any instance)."""
    with _session() as session:
        row = _instance_type_by(context, session, name, read_deleted=True,
                                name=name)
        session.delete(row)
        session.flush()


# -- instances ----------------------------------------------------------------

def _instance_get(context, instance_id, session):
    query = (model_query(context, models.Instance, session,
                         project_only=True).filter_by(id=instance_id))
    row = query.first()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_id)
    return row


def _resolve_instance_type(context, values, session):
    """Accept ``instance_type`` as a name, a row or a dict with an id."""
    if 'instance_type' not in values:
        return
    itype = values.pop('instance_type')
    if itype is None:
        values['instance_type_id'] = None
    elif isinstance(itype, str):
        values['instance_type_id'] = _instance_type_by(
            context, session, itype, name=itype).id
    else:
        values['instance_type_id'] = itype['id']


def _instance_metadata_update(context, instance_id, metadata, delete,
                              session):
    model = models.InstanceMetadata
    current = {row.key: row for row in session.query(model)
               .filter_by(instance_id=instance_id, deleted=0)}
    for key, value in metadata.items():
        if key in current:
            current[key].value = value
            current[key].save(session)
        else:
            _create(session, model, {'instance_id': instance_id,
                                     'key': key, 'value': value})
    if delete:
        for key, row in current.items():
            if key not in metadata:
                row.soft_delete(session)


@require_context
def instance_create(context, values):
    """Create an instance.

    Besides columns, ``values`` may hold ``instance_type`` (name, row or
    dict), ``metadata`` (a dict) and ``security_groups`` (group ids).
    """
    values = dict(values)
    if 'project_id' in values:
        authorize_project_context(context, values['project_id'])
    metadata = values.pop('metadata', None) or {}
    groups = values.pop('security_groups', None) or []
    values.setdefault('uuid', utils.generate_uuid())
    with _session() as session:
        _resolve_instance_type(context, values, session)
        row = _create(session, models.Instance, values)
        _instance_metadata_update(context, row.id, metadata, False, session)
        for group in groups:
            _instance_add_security_group(context, row.id,
                                         getattr(group, 'id', group), session)
        _forget(session)
        return _instance_get(context, row.id, session)


@require_context
def instance_get(context, instance_id):
    """An instance the context may see (InstanceNotFound otherwise)."""
    with _session() as session:
        return _instance_get(context, instance_id, session)


@require_context
def instance_get_by_uuid(context, uuid):
    with _session() as session:
        row = (model_query(context, models.Instance, session,
                           project_only=True).filter_by(uuid=uuid).first())
        if row is None:
            raise exception.InstanceNotFound(instance_id=uuid)
        return row


@require_context
def instance_update(context, instance_id, values):
    """Update fields (``metadata`` and ``instance_type`` as in create)."""
    values = dict(values)
    metadata = values.pop('metadata', None)
    with _session() as session:
        row = _instance_get(context, instance_id, session)
        _resolve_instance_type(context, values, session)
        row.update(values)
        row.save(session)
        if metadata is not None:
            _instance_metadata_update(context, instance_id, metadata, True,
                                      session)
        _forget(session)
        return _instance_get(context, instance_id, session)


@require_context
def instance_destroy(context, instance_id):
    """Soft-delete an instance with its group links and metadata."""
    with _session() as session:
        row = _instance_get(context, instance_id, session)
        row.soft_delete(session)
        assoc = models.SecurityGroupInstanceAssociation
        _soft_delete_where(session, assoc, assoc.instance_id == instance_id)
        meta = models.InstanceMetadata
        _soft_delete_where(session, meta, meta.instance_id == instance_id)


def _instances(context, **criteria):
    with _session() as session:
        return (model_query(context, models.Instance, session,
                            project_only=True)
                .filter_by(**criteria).order_by(models.Instance.id).all())


@require_context
def instance_get_all(context):
    """Every instance an admin may see; a user's project's otherwise."""
    return _instances(context)


@require_context
def instance_get_all_by_user(context, user_id):
    authorize_user_context(context, user_id)
    return _instances(context, user_id=user_id)


@require_context
def instance_get_all_by_project(context, project_id):
    authorize_project_context(context, project_id)
    return _instances(context, project_id=project_id)


@require_context
def instance_get_all_by_host(context, host):
    """Instances on a host (a user context sees its project's only)."""
    return _instances(context, host=host)


@require_context
def instance_get_all_by_reservation(context, reservation_id):
    return _instances(context, reservation_id=reservation_id)


@require_context
def instance_get_fixed_address(context, instance_id):
    instance = instance_get(context, instance_id)
    return instance.fixed_ip.address if instance.fixed_ip else None


@require_context
def instance_get_floating_address(context, instance_id):
    instance = instance_get(context, instance_id)
    fixed = instance.fixed_ip
    if fixed is None or not fixed.floating_ips:
        return None
    return fixed.floating_ips[0].address


@require_context
def instance_set_state(context, instance_id, state, description=None):
    values = {'state': state}
    if description is not None:
        values['state_description'] = description
    return instance_update(context, instance_id, values)


def _instance_add_security_group(context, instance_id, security_group_id,
                                 session):
    _instance_get(context, instance_id, session)
    _security_group_get(context, security_group_id, session)
    assoc = models.SecurityGroupInstanceAssociation
    exists = (session.query(assoc)
              .filter_by(instance_id=instance_id,
                         security_group_id=security_group_id,
                         deleted=0).first())
    if exists is None:
        _create(session, assoc, {'instance_id': instance_id,
                                 'security_group_id': security_group_id})


@require_context
def instance_add_security_group(context, instance_id, security_group_id):
    with _session() as session:
        _instance_add_security_group(context, instance_id,
                                     security_group_id, session)


@require_context
def instance_remove_security_group(context, instance_id, security_group_id):
    with _session() as session:
        _instance_get(context, instance_id, session)
        assoc = models.SecurityGroupInstanceAssociation
        _soft_delete_where(session, assoc,
                           assoc.instance_id == instance_id,
                           assoc.security_group_id == security_group_id)


@require_context
def instance_action_create(context, values):
    with _session() as session:
        _instance_get(context, values.get('instance_id'), session)
        return _create(session, models.InstanceActions, values)


@require_context
def instance_get_actions(context, instance_id):
    with _session() as session:
        _instance_get(context, instance_id, session)
        return (model_query(context, models.InstanceActions, session)
                .filter_by(instance_id=instance_id)
                .order_by(models.InstanceActions.id).all())


@require_context
def instance_metadata_get(context, instance_id):
    """The instance's metadata as a plain dict."""
    with _session() as session:
        _instance_get(context, instance_id, session)
        rows = (model_query(context, models.InstanceMetadata, session)
                .filter_by(instance_id=instance_id)
                .order_by(models.InstanceMetadata.id))
        return {row.key: row.value for row in rows}


@require_context
def instance_metadata_delete(context, instance_id, key):
    with _session() as session:
        _instance_get(context, instance_id, session)
        row = (model_query(context, models.InstanceMetadata, session)
               .filter_by(instance_id=instance_id, key=key).first())
        if row is None:
            raise exception.NotFound(
                'Instance %s has no metadata with key %s.'
                % (instance_id, key))
        row.soft_delete(session)


@require_context
def instance_metadata_update(context, instance_id, metadata, delete=False):
    """Set keys (``delete``: and drop keys not given); returns the dict."""
    with _session() as session:
        _instance_get(context, instance_id, session)
        _instance_metadata_update(context, instance_id, metadata, delete,
                                  session)
    return instance_metadata_get(context, instance_id)


# -- security groups ----------------------------------------------------------

def _security_group_get(context, group_id, session):
    row = (model_query(context, models.SecurityGroup, session,
                       project_only=True)
           .filter_by(id=group_id)
           .options(orm.selectinload(models.SecurityGroup.instances))
           .first())
    if row is None:
        raise exception.SecurityGroupNotFound(group_id=group_id)
    return row


def _security_groups(context, session, *criteria, **by):
    return (model_query(context, models.SecurityGroup, session,
                        project_only=True)
            .filter(*criteria).filter_by(**by)
            .options(orm.selectinload(models.SecurityGroup.instances))
            .order_by(models.SecurityGroup.id).all())


@require_context
def security_group_get_all(context):
    with _session() as session:
        return _security_groups(context, session)


@require_context
def security_group_get(context, security_group_id):
    """A group with its ``rules`` and member ``instances`` loaded."""
    with _session() as session:
        return _security_group_get(context, security_group_id, session)


@require_context
def security_group_get_by_name(context, project_id, group_name):
    authorize_project_context(context, project_id)
    with _session() as session:
        rows = _security_groups(context, session, project_id=project_id,
                                name=group_name)
        if not rows:
            raise exception.SecurityGroupNotFound(
                'Security group %s not found in project %s.'
                % (group_name, project_id), group_id=group_name)
        return rows[0]


@require_context
def security_group_get_by_project(context, project_id):
    authorize_project_context(context, project_id)
    with _session() as session:
        return _security_groups(context, session, project_id=project_id)


@require_context
def security_group_get_by_instance(context, instance_id):
    with _session() as session:
        _instance_get(context, instance_id, session)
        assoc = models.SecurityGroupInstanceAssociation
        member = (sa.select(assoc.security_group_id)
                  .where(assoc.instance_id == instance_id,
                         assoc.deleted == 0))
        return _security_groups(context, session,
                                models.SecurityGroup.id.in_(member))


@require_context
def security_group_exists(context, project_id, group_name):
    try:
        security_group_get_by_name(context, project_id, group_name)
        return True
    except exception.SecurityGroupNotFound:
        return False


@require_context
def security_group_in_use(context, security_group_id):
    """True while a live instance is a member of the group."""
    return bool(security_group_get(context, security_group_id).instances)


@require_context
def security_group_create(context, values):
    authorize_project_context(context, values.get('project_id'))
    with _session() as session:
        row = _create(session, models.SecurityGroup, values)
        _forget(session)
        return _security_group_get(context, row.id, session)


@require_context
def security_group_destroy(context, security_group_id):
    """Soft-delete a group, its rules, rules naming it as source, links."""
    with _session() as session:
        _security_group_get(context, security_group_id, session) \
            .soft_delete(session)
        rule = models.SecurityGroupIngressRule
        _soft_delete_where(session, rule,
                           sa.or_(rule.parent_group_id == security_group_id,
                                  rule.group_id == security_group_id))
        assoc = models.SecurityGroupInstanceAssociation
        _soft_delete_where(session, assoc,
                           assoc.security_group_id == security_group_id)


def _rule_get(context, rule_id, session):
    row = (model_query(context, models.SecurityGroupIngressRule, session)
           .filter_by(id=rule_id).first())
    if row is not None and is_user_context(context):
        if row.parent_group.project_id != context.project_id:
            row = None
    if row is None:
        raise exception.NotFound('Security group rule %s could not be found.'
                                 % rule_id)
    return row


@require_context
def security_group_rule_create(context, values):
    with _session() as session:
        _security_group_get(context, values.get('parent_group_id'), session)
        if values.get('group_id') is not None:
            # A source group may belong to another project (EC2 allows
            # naming another user's group), so only its existence matters.
            source = (model_query(context, models.SecurityGroup, session)
                      .filter_by(id=values['group_id']).first())
            if source is None:
                raise exception.SecurityGroupNotFound(
                    group_id=values['group_id'])
        row = _create(session, models.SecurityGroupIngressRule, values)
        _forget(session)
        return session.get(models.SecurityGroupIngressRule, row.id)


@require_context
def security_group_rule_get(context, security_group_rule_id):
    with _session() as session:
        return _rule_get(context, security_group_rule_id, session)


@require_context
def security_group_rule_destroy(context, security_group_rule_id):
    with _session() as session:
        _rule_get(context, security_group_rule_id, session) \
            .soft_delete(session)


@require_context
def security_group_rule_get_by_security_group(context, security_group_id):
    with _session() as session:
        _security_group_get(context, security_group_id, session)
        rule = models.SecurityGroupIngressRule
        return (model_query(context, rule, session)
                .filter_by(parent_group_id=security_group_id)
                .order_by(rule.id).all())


@require_admin_context
def security_group_rule_get_by_security_group_grantee(context,
                                                      security_group_id):
    """Rules of any group that admit traffic from this group."""
    with _session() as session:
        rule = models.SecurityGroupIngressRule
        return (model_query(context, rule, session)
                .filter_by(group_id=security_group_id)
                .order_by(rule.id).all())


# -- networks -----------------------------------------------------------------

def _network_get(context, network_id, session):
    row = (model_query(context, models.Network, session, project_only=True)
           .filter_by(id=network_id).first())
    if row is None:
        raise exception.NetworkNotFound(network_id=network_id)
    return row


def _network_by(context, session, what, **criteria):
    row = (model_query(context, models.Network, session, project_only=True)
           .filter_by(**criteria).first())
    if row is None:
        raise exception.NetworkNotFound('No network with %s.' % what,
                                        network_id=None)
    return row


@require_admin_context
def network_create(context, values):
    with _session() as session:
        return _create(session, models.Network, values)


@require_admin_context
def network_create_safe(context, values):
    """Like network_create, but None instead of Duplicate."""
    try:
        return network_create(context, values)
    except exception.Duplicate:
        return None


@require_context
def network_get(context, network_id):
    with _session() as session:
        return _network_get(context, network_id, session)


@require_context
def network_get_all(context):
    with _session() as session:
        return (model_query(context, models.Network, session,
                            project_only=True)
                .order_by(models.Network.id).all())


@require_admin_context
def network_get_all_by_host(context, host):
    with _session() as session:
        return (model_query(context, models.Network, session)
                .filter_by(host=host).order_by(models.Network.id).all())


@require_context
def network_get_by_bridge(context, bridge):
    with _session() as session:
        return _network_by(context, session, 'bridge %s' % bridge,
                           bridge=bridge)


@require_context
def network_get_by_cidr(context, cidr):
    with _session() as session:
        return _network_by(context, session, 'cidr %s' % cidr, cidr=cidr)


@require_context
def network_get_by_instance(context, instance_id):
    with _session() as session:
        instance = _instance_get(context, instance_id, session)
        if instance.fixed_ip is None or instance.fixed_ip.network is None:
            raise exception.NetworkNotFound(
                'Instance %s has no network.' % instance_id,
                network_id=None)
        return instance.fixed_ip.network


@require_admin_context
def network_get_associated_fixed_ips(context, network_id):
    """Fixed IPs of a network bound to an instance (the DHCP hosts list)."""
    with _session() as session:
        return (model_query(context, models.FixedIp, session)
                .filter_by(network_id=network_id)
                .filter(models.FixedIp.instance_id.isnot(None))
                .order_by(models.FixedIp.id).all())


@require_admin_context
def network_update(context, network_id, values):
    with _session() as session:
        row = _network_get(context, network_id, session)
        row.update(values)
        row.save(session)
        return row


@require_admin_context
def network_delete_safe(context, network_id):
    """Delete a network and its addresses unless an address is in use."""
    with _session() as session:
        row = _network_get(context, network_id, session)
        fixed = models.FixedIp
        busy = (session.query(fixed)
                .filter(fixed.network_id == network_id, fixed.deleted == 0,
                        sa.or_(fixed.instance_id.isnot(None),
                               fixed.allocated.is_(True))).count())
        if busy:
            raise exception.InvalidState(
                reason='network %s still has %d address(es) in use'
                % (network_id, busy))
        _soft_delete_where(session, fixed, fixed.network_id == network_id)
        row.soft_delete(session)


@require_admin_context
def network_associate(context, project_id):
    """Give the project the first free network; returns it."""
    with _session() as session:
        net = models.Network
        network_id = _claim(session, net, [net.project_id.is_(None)],
                            {'project_id': project_id})
        if network_id is None:
            raise exception.NetworkNotFound(
                'No more networks available for project %s.' % project_id,
                network_id=None)
        return _network_get(context, network_id, session)


@require_admin_context
def network_disassociate(context, network_id):
    return network_update(context, network_id, {'project_id': None})


@require_admin_context
def network_disassociate_all(context):
    with _session() as session:
        (session.query(models.Network).filter_by(deleted=0)
         .update({'project_id': None}, synchronize_session=False))


@require_context
def project_get_network(context, project_id, associate=True):
    """The project's network, associating a free one if it has none."""
    authorize_project_context(context, project_id)
    with _session() as session:
        row = (model_query(context, models.Network, session)
               .filter_by(project_id=project_id)
               .order_by(models.Network.id).first())
    if row is not None:
        return row
    if not associate:
        raise exception.NetworkNotFound(
            'Project %s has no network.' % project_id, network_id=None)
    return network_associate(context.elevated(), project_id)


@require_admin_context
def network_set_host(context, network_id, host):
    """Claim a network for ``host`` unless one has; returns the owner."""
    with _session() as session:
        _network_get(context, network_id, session)
        (session.query(models.Network)
         .filter_by(id=network_id, host=None)
         .update({'host': host}, synchronize_session=False))
        return (session.query(models.Network.host)
                .filter_by(id=network_id).scalar())


@require_admin_context
def network_count(context):
    with _session() as session:
        return model_query(context, models.Network, session).count()


def _fixed_ip_count(context, network_id, *criteria):
    with _session() as session:
        return (model_query(context, models.FixedIp, session)
                .filter_by(network_id=network_id)
                .filter(*criteria).count())


@require_admin_context
def network_count_allocated_ips(context, network_id):
    return _fixed_ip_count(context, network_id,
                           models.FixedIp.allocated.is_(True))


@require_admin_context
def network_count_available_ips(context, network_id):
    fixed = models.FixedIp
    return _fixed_ip_count(context, network_id,
                           fixed.allocated.is_(False),
                           fixed.reserved.is_(False),
                           fixed.instance_id.is_(None))


@require_admin_context
def network_count_reserved_ips(context, network_id):
    return _fixed_ip_count(context, network_id,
                           models.FixedIp.reserved.is_(True))


# -- fixed IPs ----------------------------------------------------------------

def _fixed_ip_get(context, address, session):
    row = (model_query(context, models.FixedIp, session)
           .filter_by(address=address).first())
    if row is not None and is_user_context(context):
        if row.instance is None or \
                row.instance.project_id != context.project_id:
            row = None
    if row is None:
        raise exception.FixedIpNotFound(address=address)
    return row


@require_admin_context
def fixed_ip_create(context, values):
    """Add one address to a network; returns the row."""
    with _session() as session:
        return _create(session, models.FixedIp, values)


@require_admin_context
def fixed_ip_bulk_create(context, ips):
    """Insert many addresses in one transaction (a network's range)."""
    with _session() as session:
        for values in ips:
            row = models.FixedIp()
            row.update(values)
            session.add(row)
        session.flush()
        return len(ips)


@require_context
def fixed_ip_get_by_address(context, address):
    with _session() as session:
        return _fixed_ip_get(context, address, session)


@require_admin_context
def fixed_ip_get_all(context):
    with _session() as session:
        return (model_query(context, models.FixedIp, session)
                .order_by(models.FixedIp.id).all())


@require_context
def fixed_ip_get_all_by_instance(context, instance_id):
    with _session() as session:
        _instance_get(context, instance_id, session)
        return (model_query(context, models.FixedIp, session)
                .filter_by(instance_id=instance_id)
                .order_by(models.FixedIp.id).all())


@require_context
def fixed_ip_get_instance(context, address):
    return fixed_ip_get_by_address(context, address).instance


@require_context
def fixed_ip_get_network(context, address):
    return fixed_ip_get_by_address(context, address).network


@require_admin_context
def fixed_ip_associate(context, address, instance_id):
    """Bind a given (possibly reserved, e.g. VPN) address to an instance."""
    with _session() as session:
        _instance_get(context, instance_id, session)
        fixed = models.FixedIp
        taken = (session.query(fixed)
                 .filter(fixed.address == address, fixed.deleted == 0,
                         fixed.instance_id.is_(None))
                 .update({'instance_id': instance_id},
                         synchronize_session=False))
        if not taken:
            _fixed_ip_get(context, address, session)
            raise exception.InvalidState(
                reason='fixed ip %s is already in use' % address)
        return _fixed_ip_get(context, address, session)


@require_admin_context
def fixed_ip_associate_pool(context, network_id, instance_id):
    """Bind the first free address of the network; returns the address."""
    with _session() as session:
        _instance_get(context, instance_id, session)
        fixed = models.FixedIp
        free = [fixed.reserved.is_(False), fixed.instance_id.is_(None),
                sa.or_(fixed.network_id == network_id,
                       fixed.network_id.is_(None))]
        ip_id = _claim(session, fixed, free, {'instance_id': instance_id})
        if ip_id is None:
            raise exception.FixedIpNotFound(
                'No free fixed IP in network %s.' % network_id,
                address=None)
        _forget(session)
        row = session.get(fixed, ip_id)
        if row.network_id is None:
            row.network_id = network_id
            row.save(session)
        return row.address


@require_admin_context
def fixed_ip_disassociate(context, address):
    with _session() as session:
        row = _fixed_ip_get(context, address, session)
        row.instance_id = None
        row.save(session)


@require_admin_context
def fixed_ip_disassociate_all_by_timeout(context, host, time):
    """Release addresses left bound but unallocated since before ``time``."""
    with _session() as session:
        fixed = models.FixedIp
        on_host = (sa.select(models.Network.id)
                   .where(models.Network.host == host))
        return (session.query(fixed)
                .filter(fixed.deleted == 0,
                        fixed.allocated.is_(False),
                        fixed.instance_id.isnot(None),
                        fixed.updated_at < time,
                        fixed.network_id.in_(on_host))
                .update({'instance_id': None, 'leased': False},
                        synchronize_session=False))


@require_admin_context
def fixed_ip_update(context, address, values):
    with _session() as session:
        row = _fixed_ip_get(context, address, session)
        row.update(values)
        _forget(session)
        return session.get(models.FixedIp, row.id)


# -- floating IPs -------------------------------------------------------------

def _floating_ip_get(context, address, session):
    row = (model_query(context, models.FloatingIp, session,
                       project_only=True)
           .filter_by(address=address).first())
    if row is None:
        raise exception.FloatingIpNotFound(address=address)
    return row


@require_admin_context
def floating_ip_create(context, values):
    """Add an address to a network host's pool; returns the row."""
    with _session() as session:
        return _create(session, models.FloatingIp, values)


@require_context
def floating_ip_get_by_address(context, address):
    with _session() as session:
        return _floating_ip_get(context, address, session)


@require_context
def floating_ip_get_all(context):
    with _session() as session:
        return (model_query(context, models.FloatingIp, session,
                            project_only=True)
                .order_by(models.FloatingIp.id).all())


@require_admin_context
def floating_ip_get_all_by_host(context, host):
    with _session() as session:
        return (model_query(context, models.FloatingIp, session)
                .filter_by(host=host).order_by(models.FloatingIp.id).all())


@require_context
def floating_ip_get_all_by_project(context, project_id):
    authorize_project_context(context, project_id)
    with _session() as session:
        return (model_query(context, models.FloatingIp, session)
                .filter_by(project_id=project_id)
                .order_by(models.FloatingIp.id).all())


@require_context
def floating_ip_allocate_address(context, host, project_id):
    """Give the project a free address of ``host``'s pool; returns it."""
    authorize_project_context(context, project_id)
    with _session() as session:
        ip = models.FloatingIp
        ip_id = _claim(session, ip,
                       [ip.host == host, ip.project_id.is_(None),
                        ip.fixed_ip_id.is_(None)],
                       {'project_id': project_id})
        if ip_id is None:
            raise exception.FloatingIpNotFound(
                'No more floating IPs available on host %s.' % host,
                address=None)
        return session.query(ip.address).filter_by(id=ip_id).scalar()


@require_context
def floating_ip_deallocate(context, address):
    """Return an address to the pool; it must not be associated.

    The original released associated addresses too, leaving NAT rules
    that pointed the next owner's address at someone else's instance.
    """
    with _session() as session:
        row = _floating_ip_get(context, address, session)
        if row.fixed_ip_id is not None:
            raise exception.InvalidState(
                reason='floating ip %s is still associated' % address)
        row.project_id = None
        row.save(session)


@require_admin_context
def floating_ip_destroy(context, address):
    with _session() as session:
        _floating_ip_get(context, address, session).soft_delete(session)


@require_context
def floating_ip_fixed_ip_associate(context, floating_address, fixed_address):
    with _session() as session:
        floating = _floating_ip_get(context, floating_address, session)
        fixed = _fixed_ip_get(context, fixed_address, session)
        floating.fixed_ip_id = fixed.id
        floating.save(session)


@require_context
def floating_ip_disassociate(context, address):
    """Unbind; returns the fixed address it was bound to, or None."""
    with _session() as session:
        row = _floating_ip_get(context, address, session)
        fixed = row.fixed_ip.address if row.fixed_ip is not None else None
        row.fixed_ip_id = None
        row.save(session)
        return fixed


@require_admin_context
def floating_ip_update(context, address, values):
    with _session() as session:
        row = _floating_ip_get(context, address, session)
        row.update(values)
        _forget(session)
        return session.get(models.FloatingIp, row.id)


# -- volumes ------------------------------------------------------------------

def _volume_get(context, volume_id, session):
    query = (model_query(context, models.Volume, session, project_only=True)
             .filter_by(id=volume_id))
    row = query.first()
    if row is None:
        raise exception.VolumeNotFound(volume_id=volume_id)
    return row


@require_context
def volume_create(context, values):
    if 'project_id' in values:
        authorize_project_context(context, values['project_id'])
    with _session() as session:
        row = _create(session, models.Volume, values)
        _forget(session)
        return _volume_get(context, row.id, session)


@require_context
def volume_get(context, volume_id):
    """A volume the context may see (VolumeNotFound otherwise)."""
    with _session() as session:
        return _volume_get(context, volume_id, session)


def _volumes(context, **criteria):
    with _session() as session:
        return (model_query(context, models.Volume, session,
                            project_only=True)
                .filter_by(**criteria).order_by(models.Volume.id).all())


@require_context
def volume_get_all(context):
    return _volumes(context)


@require_context
def volume_get_all_by_host(context, host):
    return _volumes(context, host=host)


@require_context
def volume_get_all_by_instance(context, instance_id):
    return _volumes(context, instance_id=instance_id)


@require_context
def volume_get_all_by_project(context, project_id):
    authorize_project_context(context, project_id)
    return _volumes(context, project_id=project_id)


@require_context
def volume_get_instance(context, volume_id):
    return volume_get(context, volume_id).instance


@require_context
def volume_update(context, volume_id, values):
    with _session() as session:
        row = _volume_get(context, volume_id, session)
        row.update(values)
        row.save(session)
        _forget(session)
        return _volume_get(context, volume_id, session)


@require_context
def volume_destroy(context, volume_id):
    """Soft-delete a volume and free its iSCSI target / AoE blade."""
    with _session() as session:
        _volume_get(context, volume_id, session).soft_delete(session)
        for model in (models.IscsiTarget, models.ExportDevice):
            (session.query(model).filter_by(volume_id=volume_id)
             .update({'volume_id': None}, synchronize_session=False))


@require_context
def volume_attached(context, volume_id, instance_id, mountpoint):
    with _session() as session:
        _instance_get(context, instance_id, session)
        row = _volume_get(context, volume_id, session)
        row.update({'status': 'in-use', 'attach_status': 'attached',
                    'instance_id': instance_id, 'mountpoint': mountpoint,
                    'attach_time': _now()})
        row.save(session)
        _forget(session)
        return _volume_get(context, volume_id, session)


@require_context
def volume_detached(context, volume_id):
    with _session() as session:
        row = _volume_get(context, volume_id, session)
        row.update({'status': 'available', 'attach_status': 'detached',
                    'instance_id': None, 'mountpoint': None,
                    'attach_time': None})
        row.save(session)
        _forget(session)
        return _volume_get(context, volume_id, session)


@require_admin_context
def iscsi_target_create_safe(context, values):
    """Add a target number for a host; None if it already exists."""
    try:
        with _session() as session:
            return _create(session, models.IscsiTarget, values)
    except exception.Duplicate:
        return None


@require_admin_context
def iscsi_target_count_by_host(context, host):
    with _session() as session:
        return (model_query(context, models.IscsiTarget, session)
                .filter_by(host=host).count())


@require_admin_context
def volume_allocate_iscsi_target(context, volume_id, host):
    """Give the volume a free target number of ``host``; returns it."""
    with _session() as session:
        target = models.IscsiTarget
        target_id = _claim(session, target,
                           [target.host == host, target.volume_id.is_(None)],
                           {'volume_id': volume_id},
                           order_by=target.target_num)
        if target_id is None:
            raise exception.NotFound('No free iSCSI target on host %s.'
                                     % host)
        return (session.query(target.target_num)
                .filter_by(id=target_id).scalar())


@require_admin_context
def volume_get_iscsi_target_num(context, volume_id):
    with _session() as session:
        num = (session.query(models.IscsiTarget.target_num)
               .filter_by(volume_id=volume_id, deleted=0).scalar())
        if num is None:
            raise exception.NotFound('Volume %s has no iSCSI target.'
                                     % volume_id)
        return num


@require_admin_context
def export_device_create_safe(context, values):
    """Add an AoE shelf/blade pair; None if it already exists."""
    try:
        with _session() as session:
            return _create(session, models.ExportDevice, values)
    except exception.Duplicate:
        return None


@require_admin_context
def export_device_count(context):
    with _session() as session:
        return model_query(context, models.ExportDevice, session).count()


@require_admin_context
def volume_allocate_shelf_and_blade(context, volume_id):
    with _session() as session:
        dev = models.ExportDevice
        dev_id = _claim(session, dev, [dev.volume_id.is_(None)],
                        {'volume_id': volume_id},
                        order_by=(dev.shelf_id * 100000 + dev.blade_id))
        if dev_id is None:
            raise exception.NotFound('No free AoE shelf and blade.')
        row = session.query(dev.shelf_id, dev.blade_id).filter_by(
            id=dev_id).one()
        return row.shelf_id, row.blade_id


@require_admin_context
def volume_get_shelf_and_blade(context, volume_id):
    with _session() as session:
        row = (session.query(models.ExportDevice.shelf_id,
                             models.ExportDevice.blade_id)
               .filter_by(volume_id=volume_id, deleted=0).first())
        if row is None:
            raise exception.NotFound('Volume %s has no AoE export.'
                                     % volume_id)
        return row.shelf_id, row.blade_id


# -- consoles -----------------------------------------------------------------

@require_admin_context
def console_pool_create(context, values):
    with _session() as session:
        return _create(session, models.ConsolePool, values)


@require_admin_context
def console_pool_get(context, pool_id):
    with _session() as session:
        row = (model_query(context, models.ConsolePool, session)
               .filter_by(id=pool_id).first())
        if row is None:
            raise exception.NotFound('Console pool %s could not be found.'
                                     % pool_id)
        return row


@require_admin_context
def console_pool_get_by_host_type(context, compute_host, host,
                                  console_type):
    with _session() as session:
        row = (model_query(context, models.ConsolePool, session)
               .filter_by(host=host, console_type=console_type,
                          compute_host=compute_host).first())
        if row is None:
            raise exception.NotFound(
                'No %s console pool on %s for compute host %s.'
                % (console_type, host, compute_host))
        return row


@require_admin_context
def console_pool_get_all_by_host_type(context, host, console_type):
    with _session() as session:
        return (model_query(context, models.ConsolePool, session)
                .filter_by(host=host, console_type=console_type)
                .order_by(models.ConsolePool.id).all())


@require_admin_context
def console_create(context, values):
    with _session() as session:
        row = _create(session, models.Console, values)
        _forget(session)
        return session.get(models.Console, row.id)


@require_admin_context
def console_delete(context, console_id):
    with _session() as session:
        (session.query(models.Console).filter_by(id=console_id)
         .delete(synchronize_session=False))


@require_admin_context
def console_get_by_pool_instance(context, pool_id, instance_id):
    with _session() as session:
        row = (model_query(context, models.Console, session)
               .filter_by(pool_id=pool_id, instance_id=instance_id).first())
        if row is None:
            raise exception.NotFound(
                'No console for instance %s in pool %s.'
                % (instance_id, pool_id))
        return row


@require_admin_context
def console_get_all_by_instance(context, instance_id):
    with _session() as session:
        return (model_query(context, models.Console, session)
                .filter_by(instance_id=instance_id)
                .order_by(models.Console.id).all())


@require_admin_context
def console_get(context, console_id, instance_id=None):
    with _session() as session:
        query = (model_query(context, models.Console, session)
                 .filter_by(id=console_id))
        if instance_id is not None:
            query = query.filter_by(instance_id=instance_id)
        row = query.first()
        if row is None:
            raise exception.NotFound('Console %s could not be found.'
                                     % console_id)
        return row


# -- resize migrations --------------------------------------------------------

def _migration_get(context, migration_id, session):
    row = (model_query(context, models.Migration, session)
           .filter_by(id=migration_id).first())
    if row is None:
        raise exception.NotFound('Migration %s could not be found.'
                                 % migration_id)
    return row


@require_admin_context
def migration_create(context, values):
    with _session() as session:
        return _create(session, models.Migration, values)


@require_admin_context
def migration_get(context, migration_id):
    with _session() as session:
        return _migration_get(context, migration_id, session)


@require_admin_context
def migration_update(context, migration_id, values):
    with _session() as session:
        row = _migration_get(context, migration_id, session)
        row.update(values)
        row.save(session)
        return row


@require_admin_context
def migration_get_by_instance_and_status(context, instance_id, status):
    with _session() as session:
        row = (model_query(context, models.Migration, session)
               .filter_by(instance_id=instance_id, status=status)
               .order_by(models.Migration.id.desc()).first())
        if row is None:
            raise exception.NotFound(
                'No migration of instance %s in status %s.'
                % (instance_id, status))
        return row


# -- zones --------------------------------------------------------------------

def _zone_get(context, zone_id, session):
    row = (model_query(context, models.Zone, session)
           .filter_by(id=zone_id).first())
    if row is None:
        raise exception.NotFound('Zone %s could not be found.' % zone_id)
    return row


@require_admin_context
def zone_create(context, values):
    with _session() as session:
        return _create(session, models.Zone, values)


@require_admin_context
def zone_update(context, zone_id, values):
    with _session() as session:
        row = _zone_get(context, zone_id, session)
        row.update(values)
        row.save(session)
        return row


@require_admin_context
def zone_delete(context, zone_id):
    with _session() as session:
        _zone_get(context, zone_id, session).soft_delete(session)


@require_admin_context
def zone_get(context, zone_id):
    with _session() as session:
        return _zone_get(context, zone_id, session)


@require_admin_context
def zone_get_all(context):
    with _session() as session:
        return (model_query(context, models.Zone, session)
                .order_by(models.Zone.id).all())
