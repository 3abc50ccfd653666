"""Alembic environment: always run programmatically by ``schema.store`` with an open connection."""

from alembic import context

from schema import server_models  # noqa: F401  (registers the sync tables in the metadata)
from schema.models import SQLModel

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations(role=config.attributes.get("role", "county"))
