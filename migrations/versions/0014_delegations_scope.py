"""the delegations scope: portals registered with the default scopes may also ask who may act for a person

Whether the `delegates` claim is given is the portal's profile's to decide (delegation=true); the scope only
lets a portal ask it. Portals registered with the old default set get the new default set.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 21:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

OLD = "openid profile email phone roles offline_access"
NEW = "openid profile email phone roles delegations offline_access"


def _replace(before: str, after: str) -> None:
    op.execute(sa.text("UPDATE client SET scope = :after WHERE scope = :before")
               .bindparams(before=before, after=after))


def upgrade():
    _replace(OLD, NEW)


def downgrade():
    _replace(NEW, OLD)
