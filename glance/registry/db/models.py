"""The registry's tables: images and their custom properties.

Rows are deleted softly (``deleted`` plus ``deleted_at``) so an id is never
reused and a delete can be audited.  The schema itself is owned by the
alembic migrations in ``migrations/``; these classes only map it.
"""

from sqlalchemy import (BigInteger, Boolean, Column, DateTime, ForeignKey,
                        Index, Integer, String, Text, UniqueConstraint)
from sqlalchemy.orm import declarative_base, relationship

from glance.common import timeutils

Base = declarative_base()


class Image(Base):
    __tablename__ = 'images'
    __table_args__ = {'sqlite_autoincrement': True}

    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(255))
    disk_format = Column(String(20))
    container_format = Column(String(20))
    size = Column(BigInteger)
    status = Column(String(30), nullable=False)
    is_public = Column(Boolean, nullable=False, default=False, index=True)
    location = Column(Text)
    checksum = Column(String(32))
    owner = Column(String(255), index=True)
    created_at = Column(DateTime, nullable=False, default=timeutils.utcnow)
    updated_at = Column(DateTime, onupdate=timeutils.utcnow)
    deleted_at = Column(DateTime)
    deleted = Column(Boolean, nullable=False, default=False, index=True)

    properties = relationship('ImageProperty', back_populates='image',
                              lazy='selectin', cascade='all')


class ImageProperty(Base):
    __tablename__ = 'image_properties'
    __table_args__ = (UniqueConstraint('image_id', 'name'),
                      Index('ix_image_properties_image_id_name',
                            'image_id', 'name'),
                      {'sqlite_autoincrement': True})

    id = Column(Integer, primary_key=True, autoincrement=True)
    image_id = Column(Integer, ForeignKey('images.id'), nullable=False,
                      index=True)
    name = Column(String(255), nullable=False)
    value = Column(Text)
    created_at = Column(DateTime, nullable=False, default=timeutils.utcnow)
    updated_at = Column(DateTime, onupdate=timeutils.utcnow)
    deleted_at = Column(DateTime)
    deleted = Column(Boolean, nullable=False, default=False, index=True)

    image = relationship('Image', back_populates='properties')
