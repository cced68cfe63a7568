"""Statements that change namespaces: CREATE/DROP/ALTER, INSERT/UPDATE/DELETE, TRUNCATE, indexes."""
