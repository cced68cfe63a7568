"""Transaction-control statements are recognised by their grammar, with Postgres's rules
for savepoint names (unquoted fold to lower case, quoted keep case and punctuation)."""

import pytest

from elacsym_sql.sql.session.txn_control import Control, parse_control


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("BEGIN", Control("begin")),
        ("begin work;", Control("begin")),
        ("START TRANSACTION ISOLATION LEVEL SERIALIZABLE", Control("begin")),
        ("BEGIN READ ONLY", Control("begin")),
        ("COMMIT", Control("commit")),
        ("end transaction", Control("commit")),
        ("ROLLBACK", Control("rollback")),
        ("abort", Control("rollback")),
        ("/* c /* nested */ */ ROLLBACK -- done\n", Control("rollback")),
        ('SAVEPOINT "_pg3_1"', Control("savepoint", "_pg3_1")),
        ("SAVEPOINT Foo", Control("savepoint", "foo")),
        ('SAVEPOINT "Foo Bar"', Control("savepoint", "Foo Bar")),
        ('SAVEPOINT "a""b"', Control("savepoint", 'a"b')),
        ('ROLLBACK TO SAVEPOINT "_pg3_1"', Control("rollback_to", "_pg3_1")),
        ("ROLLBACK WORK TO foo", Control("rollback_to", "foo")),
        ("rollback transaction to savepoint FOO", Control("rollback_to", "foo")),
        ('RELEASE SAVEPOINT "_pg3_1"', Control("release", "_pg3_1")),
        ("RELEASE savepoint", Control("release", "savepoint")),  # a savepoint named so
        ("release x;", Control("release", "x")),
    ],
)
def test_control_statements(sql: str, expected: Control) -> None:
    assert parse_control(sql) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'beginning'",
        "END_DATE",  # a word that only starts like END
        "COMMIT PREPARED 'tx1'",  # a literal: not ours, DuckDB answers
        "SAVEPOINT",
        "SAVEPOINT a b",
        "BEGIN; SELECT 1",
        "RELEASE",
        '"begin"',
    ],
)
def test_other_statements_are_not_control(sql: str) -> None:
    assert parse_control(sql) is None


def test_savepoint_names_match_however_they_are_quoted() -> None:
    set_name = parse_control('SAVEPOINT "_pg3_1"')
    back = parse_control('ROLLBACK TO SAVEPOINT "_pg3_1"')
    release = parse_control("RELEASE _PG3_1")
    assert set_name is not None and back is not None and release is not None
    assert set_name.savepoint == back.savepoint == release.savepoint == "_pg3_1"
