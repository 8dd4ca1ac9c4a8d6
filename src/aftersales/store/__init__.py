"""Persistence: SQLAlchemy models (``models``), connections (``db``), Alembic migrations
(``migrate``, scripts in ``migrations/``) and the read side of cases (``cases``)."""
