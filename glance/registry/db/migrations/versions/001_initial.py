"""The images and image_properties tables (the Cactus schema plus owner).

Revision ID: 001
Revises:
"""

from alembic import op
import sqlalchemy as sa

revision = '001'
down_revision = None
branch_labels = None
depends_on = None


def _timestamps():
    return [sa.Column('created_at', sa.DateTime, nullable=False),
            sa.Column('updated_at', sa.DateTime),
            sa.Column('deleted_at', sa.DateTime),
            sa.Column('deleted', sa.Boolean, nullable=False,
                      server_default=sa.false())]


def upgrade():
    op.create_table(
        'images',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('name', sa.String(255)),
        sa.Column('disk_format', sa.String(20)),
        sa.Column('container_format', sa.String(20)),
        sa.Column('size', sa.BigInteger),
        sa.Column('status', sa.String(30), nullable=False),
        sa.Column('is_public', sa.Boolean, nullable=False,
                  server_default=sa.false()),
        sa.Column('location', sa.Text),
        sa.Column('checksum', sa.String(32)),
        sa.Column('owner', sa.String(255)),
        *_timestamps(),
        sqlite_autoincrement=True,
        mysql_engine='InnoDB',
        mysql_charset='utf8mb4',
    )
    op.create_index('ix_images_is_public', 'images', ['is_public'])
    op.create_index('ix_images_deleted', 'images', ['deleted'])
    op.create_index('ix_images_owner', 'images', ['owner'])
    op.create_table(
        'image_properties',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('image_id', sa.Integer, sa.ForeignKey('images.id'),
                  nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('value', sa.Text),
        *_timestamps(),
        sa.UniqueConstraint('image_id', 'name'),
        sqlite_autoincrement=True,
        mysql_engine='InnoDB',
        mysql_charset='utf8mb4',
    )
    op.create_index('ix_image_properties_image_id', 'image_properties',
                    ['image_id'])
    op.create_index('ix_image_properties_image_id_name', 'image_properties',
                    ['image_id', 'name'])
    op.create_index('ix_image_properties_deleted', 'image_properties',
                    ['deleted'])


def downgrade():
    op.drop_table('image_properties')
    op.drop_table('images')
