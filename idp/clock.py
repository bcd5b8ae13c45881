"""The one source of the current time; tests move it with time-machine."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """Datetimes read back from SQLite lose their zone; they were stored as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def timestamp(value: datetime) -> int:
    return int(aware(value).timestamp())


def datetime_from_timestamp(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)
