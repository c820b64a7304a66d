"""users: the seed's table plus the user's Sprite, proxy token hash and usage counters

Revision ID: 0001_users
Revises:
Create Date: 2025-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_users"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=255), primary_key=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("sprite_name", sa.String(length=63), nullable=True),
        sa.Column("sprite_status", sa.String(length=20), nullable=False, server_default="pending"),
        sa.Column("subscription_tier", sa.String(length=20), nullable=False, server_default="free"),
        sa.Column("anthropic_requests", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("anthropic_input_tokens", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("anthropic_output_tokens", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("mistral_requests", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("mistral_pages", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("proxy_token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "sprite_status IN ('pending','provisioning','active','suspended','deleted')",
            name="ck_users_sprite_status",
        ),
        sa.UniqueConstraint("sprite_name", name="uq_users_sprite_name"),
        sa.UniqueConstraint("proxy_token_hash", name="uq_users_proxy_token_hash"),
    )
    op.create_index("ix_users_email", "users", ["email"])


def downgrade() -> None:
    op.drop_index("ix_users_email", table_name="users")
    op.drop_table("users")
