"""Postgres's catalog as clients read it: pg_* relations and functions, types, schemas, enums."""
