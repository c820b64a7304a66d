"""The platform DB's tables (SQLModel, the ORM Reflex builds on). Schema changes go through
Alembic revisions in ``bridge/migrations/versions`` — never ``create_all``.

``users`` is the seed's table, keyed by the token subject, extended with the user's Sprite and
the usage the key-injecting proxy counts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

SPRITE_STATUSES = ("pending", "provisioning", "active", "suspended", "deleted")


def utcnow() -> datetime:
    return datetime.now(UTC)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "sprite_status IN ('pending','provisioning','active','suspended','deleted')",
            name="ck_users_sprite_status",
        ),
        UniqueConstraint("sprite_name", name="uq_users_sprite_name"),
        UniqueConstraint("proxy_token_hash", name="uq_users_proxy_token_hash"),
    )

    id: str = Field(primary_key=True, max_length=255)  # the verified token subject
    email: str | None = Field(default=None, max_length=320, index=True)
    sprite_name: str | None = Field(default=None, max_length=63)
    sprite_status: str = Field(default="pending", max_length=20)
    subscription_tier: str = Field(default="free", max_length=20)
    # Usage counted by the proxy (requests and what the upstream reported).
    anthropic_requests: int = Field(default=0, sa_type=BigInteger)
    anthropic_input_tokens: int = Field(default=0, sa_type=BigInteger)
    anthropic_output_tokens: int = Field(default=0, sa_type=BigInteger)
    mistral_requests: int = Field(default=0, sa_type=BigInteger)
    mistral_pages: int = Field(default=0, sa_type=BigInteger)
    # SHA-256 of the Sprite's current proxy token (the token itself is never stored).
    proxy_token_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime | None = Field(default=None)
