"""The registry's datastore: every read and write of image records.

Records leave this module as plain dicts (``properties`` a dict of the
live custom properties), never as ORM objects, so the HTTP layer cannot
lazily touch the database after the session is gone.
"""

import sqlalchemy
from sqlalchemy import and_, case, or_
from sqlalchemy.orm import sessionmaker

from glance.common import exception
from glance.common import image_meta
from glance.common import timeutils
from glance.registry.db import models

SORT_KEYS = ('name', 'status', 'container_format', 'disk_format', 'size',
             'id', 'created_at', 'updated_at')
# Columns a registry caller may write; timestamps and ``deleted`` are the
# registry's own.
WRITABLE = ('id', 'name', 'disk_format', 'container_format', 'size',
            'status', 'is_public', 'location', 'checksum', 'owner')


def image_to_dict(image):
    values = {}
    for column in ('id', 'name', 'disk_format', 'container_format', 'size',
                   'checksum', 'status', 'is_public', 'location', 'owner',
                   'deleted'):
        values[column] = getattr(image, column)
    for column in ('created_at', 'updated_at', 'deleted_at'):
        values[column] = timeutils.isoformat(getattr(image, column))
    values['properties'] = {p.name: p.value for p in image.properties
                            if not p.deleted}
    return values


def _visible(query, context):
    """Only what the caller may see (no context: the registry itself)."""
    if context is not None and not context.is_admin:
        project = getattr(context, 'project_id', None)
        if project is None:
            query = query.where(models.Image.is_public.is_(True))
        else:
            query = query.where(or_(models.Image.is_public.is_(True),
                                    models.Image.owner == project))
    return query


class ImageRepo:
    """Image records in one SQL database."""

    def __init__(self, engine):
        self.engine = engine
        self._session = sessionmaker(bind=engine, expire_on_commit=False)

    # -- reads --------------------------------------------------------------

    def get(self, image_id, context=None):
        """The image, or NotFound when missing, deleted or not visible."""
        with self._session() as session:
            image = self._get(session, image_id, context)
            return image_to_dict(image)

    def _get(self, session, image_id, context=None):
        try:
            image_id = int(image_id)
        except (TypeError, ValueError):
            raise exception.NotFound('Image %s not found' % image_id) from None
        query = sqlalchemy.select(models.Image).where(
            models.Image.id == image_id,
            models.Image.deleted.is_(False))
        query = _visible(query, context)
        image = session.scalars(query).first()
        if image is None:
            raise exception.NotFound('Image %s not found' % image_id)
        return image

    def list(self, context=None, filters=None, marker=None, limit=None,
             sort_key='created_at', sort_dir='desc'):
        """Visible images matching ``filters``, one page in the sort order.

        ``filters`` keys: name, status, disk_format, container_format,
        checksum, owner, is_public (True/False/None), size_min, size_max and
        ``property-<key>``.  ``marker`` is the id of the last image of the
        previous page; it must itself be visible.
        """
        if sort_key not in SORT_KEYS:
            raise exception.Invalid('Invalid sort_key %r; expected one of %s'
                                    % (sort_key, ', '.join(SORT_KEYS)))
        if sort_dir not in ('asc', 'desc'):
            raise exception.Invalid("Invalid sort_dir %r; expected 'asc' or "
                                    "'desc'" % sort_dir)
        filters = dict(filters or {})
        M = models.Image
        with self._session() as session:
            query = sqlalchemy.select(M).where(M.deleted.is_(False))
            query = _visible(query, context)
            query = self._apply_filters(query, filters)
            column = getattr(M, sort_key)
            if marker is not None:
                try:
                    mark = self._get(session, marker, context)
                except exception.NotFound:
                    raise exception.Invalid('Marker image %s not found'
                                            % marker) from None
                query = query.where(_after(column, M.id,
                                           getattr(mark, sort_key), mark.id,
                                           sort_dir))
            nulls_last = case((column.is_(None), 1), else_=0)
            if sort_dir == 'asc':
                query = query.order_by(nulls_last.asc(), column.asc(),
                                       M.id.asc())
            else:
                query = query.order_by(nulls_last.desc(), column.desc(),
                                       M.id.desc())
            if limit is not None:
                query = query.limit(limit)
            return [image_to_dict(i) for i in session.scalars(query)]

    @staticmethod
    def _apply_filters(query, filters):
        M = models.Image
        for field in ('name', 'status', 'disk_format', 'container_format',
                      'checksum', 'owner'):
            if filters.get(field) is not None:
                query = query.where(getattr(M, field) == filters[field])
        if filters.get('is_public') is not None:
            query = query.where(M.is_public.is_(bool(filters['is_public'])))
        if filters.get('size_min') is not None:
            query = query.where(M.size >= filters['size_min'])
        if filters.get('size_max') is not None:
            query = query.where(M.size <= filters['size_max'])
        for key, value in filters.items():
            if not key.startswith('property-'):
                continue
            P = models.ImageProperty
            query = query.where(sqlalchemy.exists().where(
                P.image_id == M.id, P.name == key[len('property-'):],
                P.value == value, P.deleted.is_(False)))
        return query

    # -- writes -------------------------------------------------------------

    def create(self, values, properties=None):
        values = _writable(values)
        values.setdefault('status', 'queued')
        values['is_public'] = bool(values.get('is_public') or False)
        _validate(values)
        with self._session() as session, session.begin():
            if values.get('id') is not None:
                exists = session.get(models.Image, values['id'])
                if exists is not None:
                    raise exception.Conflict('An image with id %s already '
                                             'exists' % values['id'])
            image = models.Image(**values)
            session.add(image)
            for key, value in (properties or {}).items():
                image.properties.append(models.ImageProperty(
                    name=image_meta.validate_property_key(key), value=value))
            try:
                session.flush()
            except sqlalchemy.exc.IntegrityError:
                raise exception.Conflict('An image with id %s already exists'
                                         % values.get('id')) from None
            session.refresh(image)
            return image_to_dict(image)

    def update(self, image_id, values, properties=None, purge_props=False,
               expected_status=None):
        """Change an image; ``expected_status`` makes it a compare-and-set.

        A status transition such as queued -> saving must happen once even
        when two uploads race, so the caller names the status it saw and
        gets Conflict when another request changed it first.
        """
        values = _writable(values)
        values.pop('id', None)
        with self._session() as session, session.begin():
            image = self._get(session, image_id)
            if expected_status is not None and image.status != expected_status:
                raise exception.Conflict(
                    'Image %s is %s, not %s' % (image_id, image.status,
                                                expected_status))
            merged = {c: getattr(image, c) for c in WRITABLE}
            merged.update(values)
            _validate(merged)
            if expected_status is not None:
                # Lock in the transition before anything else is flushed:
                # the UPDATE matches only while the row still has the
                # status this request saw.
                result = session.execute(
                    sqlalchemy.update(models.Image)
                    .where(models.Image.id == image.id,
                           models.Image.status == expected_status)
                    .values(status=merged['status'],
                            updated_at=timeutils.utcnow())
                    .execution_options(synchronize_session=False))
                if result.rowcount != 1:
                    raise exception.Conflict('Image %s changed state while '
                                             'this request ran' % image_id)
            for key, value in values.items():
                setattr(image, key, value)
            self._set_properties(image, properties or {}, purge_props)
            image.updated_at = timeutils.utcnow()
            session.flush()
            session.refresh(image)
            return image_to_dict(image)

    @staticmethod
    def _set_properties(image, properties, purge):
        now = timeutils.utcnow()
        existing = {p.name: p for p in image.properties}
        for key, value in properties.items():
            image_meta.validate_property_key(key)
            prop = existing.get(key)
            if prop is None:
                image.properties.append(models.ImageProperty(name=key,
                                                             value=value))
            else:
                prop.value = value
                prop.deleted = False
                prop.deleted_at = None
                prop.updated_at = now
        if purge:
            for key, prop in existing.items():
                if key not in properties and not prop.deleted:
                    prop.deleted = True
                    prop.deleted_at = now

    def destroy(self, image_id):
        """Soft-delete the image and its properties; return the old record."""
        with self._session() as session, session.begin():
            image = self._get(session, image_id)
            before = image_to_dict(image)
            now = timeutils.utcnow()
            image.deleted = True
            image.deleted_at = now
            image.status = 'deleted'
            for prop in image.properties:
                if not prop.deleted:
                    prop.deleted = True
                    prop.deleted_at = now
            return before


def _after(column, id_column, mark_value, mark_id, sort_dir):
    """Rows that come after the marker row in the (nulls-last) sort order."""
    if sort_dir == 'asc':
        if mark_value is None:
            return and_(column.is_(None), id_column > mark_id)
        return or_(column > mark_value,
                   and_(column == mark_value, id_column > mark_id),
                   column.is_(None))
    if mark_value is None:
        return or_(column.is_not(None),
                   and_(column.is_(None), id_column < mark_id))
    return and_(column.is_not(None),
                or_(column < mark_value,
                    and_(column == mark_value, id_column < mark_id)))


def _writable(values):
    unknown = set(values) - set(WRITABLE)
    unknown -= {'created_at', 'updated_at', 'deleted_at', 'deleted',
                'properties'}
    if unknown:
        raise exception.Invalid('Unknown image attribute(s): %s'
                                % ', '.join(sorted(unknown)))
    return {k: v for k, v in values.items() if k in WRITABLE}


def _validate(values):
    image_meta.validate_status(values.get('status'))
    image_meta.validate_formats(values.get('disk_format'),
                                values.get('container_format'))
    size = values.get('size')
    if size is not None and (not isinstance(size, int) or size < 0):
        raise exception.Invalid('Invalid size %r' % (size,))
    name = values.get('name')
    if name is not None and len(name) > image_meta.MAX_NAME:
        raise exception.Invalid('name is longer than %d characters'
                                % image_meta.MAX_NAME)
