"""Instance UUIDs, token expiry and token project.

instances.uuid (unique) came with Diablo; existing instances get a random
one.  auth_tokens.expires lets the API expire tokens in the database instead
of trusting created_at arithmetic in every caller, and auth_tokens.project_id
records the project the token was issued for.

Revision ID: 003
Revises: 002
"""

import uuid

from alembic import op
import sqlalchemy as sa

revision = '003'
down_revision = '002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('instances') as batch:
        batch.add_column(sa.Column('uuid', sa.String(36)))

    conn = op.get_bind()
    instances = sa.table('instances', sa.column('id', sa.Integer),
                         sa.column('uuid', sa.String))
    ids = [row.id for row in conn.execute(
        sa.select(instances.c.id).where(instances.c.uuid.is_(None)))]
    for ident in ids:
        conn.execute(instances.update()
                     .where(instances.c.id == ident)
                     .values(uuid=str(uuid.uuid4())))

    with op.batch_alter_table('instances') as batch:
        batch.create_unique_constraint('uq_instances_uuid', ['uuid'])

    op.add_column('auth_tokens', sa.Column('expires', sa.DateTime))
    op.add_column('auth_tokens', sa.Column('project_id', sa.String(255)))


def downgrade():
    with op.batch_alter_table('auth_tokens') as batch:
        batch.drop_column('expires')
        batch.drop_column('project_id')
    with op.batch_alter_table('instances') as batch:
        batch.drop_constraint('uq_instances_uuid', type_='unique')
        batch.drop_column('uuid')
