"""Postgres SQL as DuckDB can run it: catalog rewrites, literals, text forms, keywords."""
