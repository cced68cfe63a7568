"""Search in SQL: the table functions, the direct path, pgvector's operators, admin functions."""
