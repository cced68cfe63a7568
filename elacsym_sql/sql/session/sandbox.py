"""What SQL may do with the host's files.

Two policies, one per kind of session:
- wire clients (a database served by the wire server): DuckDB's external access is off
  for the whole database (`lockdown.py`: a DuckDB setting is global and cannot be turned on
  again) and its configuration is locked; DuckDB still reads the disk cache (the views'
  segment files) and the directories an operator allowed. On top of that, each statement
  is checked before it runs: nothing is written (COPY TO, EXPORT, ATTACH), no extension is
  installed or loaded, no DuckDB setting changed, and a file is read only from the
  session's allowed directories (symlinks and `..` resolved), never from the cache.
- embedded connections keep DuckDB's ordinary file access (as DuckDB's Python API users
  expect) except that no statement may write into the storage root or the disk cache.

Statement kinds come from DuckDB's own parser (what runs is what was checked); paths and
function calls from sqlglot's tree of the same text.
"""

from __future__ import annotations

import functools
import glob
import itertools
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, TokenType

from ...errors import InsufficientPrivilege, NotSupportedError
from ..parse import DIALECT, Statement
from .lockdown import inside, resolve

# Table functions that read files (DuckDB 2.0 core and its bundled extensions).
FILE_FUNCTIONS = frozenset(
    {
        "read_csv", "read_csv_auto", "sniff_csv", "read_parquet", "parquet_scan",
        "parquet_metadata", "parquet_schema", "parquet_file_metadata", "parquet_kv_metadata",
        "parquet_bloom_probe", "read_json", "read_json_auto", "read_json_objects",
        "read_json_objects_auto", "read_ndjson", "read_ndjson_auto", "read_ndjson_objects",
        "read_text", "read_blob", "glob", "read_xlsx", "read_duckdb", "iceberg_scan",
        "delta_scan", "read_avro",
    }
)  # fmt: skip
# Table functions that run SQL given as text: nothing checks that text.
_SQL_TEXT_FUNCTIONS = frozenset({"query", "query_table", "json_execute_serialized_sql"})
_CALLS_TO_CHECK = FILE_FUNCTIONS | _SQL_TEXT_FUNCTIONS
_QUOTED_FILE_NAME = re.compile(r"""['"][^'"]*\.[A-Za-z]\w*['"]""")
# PRAGMAs that only describe the catalog (tools send them); others are refused on the wire.
_READ_ONLY_PRAGMAS = frozenset(
    {
        "table_info", "show_tables", "show_tables_expanded", "show_databases", "database_list",
        "database_size", "version", "platform", "show", "storage_info", "functions",
        "collations", "metadata_info", "user_agent",
    }
)  # fmt: skip
# DuckDB settings that name a file or directory DuckDB then writes to.
_PATH_SETTINGS = frozenset(
    {
        "temp_directory", "log_query_path", "profiling_output", "profile_output",
        "secret_directory", "extension_directory", "home_directory", "file_search_path",
    }
)  # fmt: skip
_REFUSED_KINDS = {
    duckdb.StatementType.ATTACH: "ATTACH",
    duckdb.StatementType.DETACH: "DETACH",
    duckdb.StatementType.EXPORT: "EXPORT DATABASE",
    duckdb.StatementType.COPY_DATABASE: "COPY FROM DATABASE",
}
_PREPARE = re.compile(r'\s*PREPARE\s+(?:"[^"]*"|\w+)\s*(?:\([^)]*\))?\s*AS\s(.*)', re.I | re.S)
# Whitespace and comments before a statement's first word.
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
_WRAPPERS = (duckdb.StatementType.EXPLAIN, duckdb.StatementType.PREPARE, duckdb.StatementType.CALL)
_QUOTED = (TokenType.STRING, TokenType.HEREDOC_STRING, TokenType.IDENTIFIER)
_WIRE = "file access is disabled for wire clients"


@dataclass(frozen=True)
class FileAccess:
    protected: tuple[str, ...]  # never written: the storage root and the disk cache
    # None: DuckDB's ordinary access (embedded); else the wire policy, reading only these.
    read_dirs: tuple[str, ...] | None = None
    _global_settings: frozenset[str] = field(default=frozenset(), compare=False)
    # Whether a quoted name with a '.' is a namespace ("s.t", a table of schema s: decision
    # 0033), which DuckDB reads as such, never as a file.
    is_namespace: Callable[[str], bool] = field(default=lambda name: False, compare=False)

    @property
    def wire(self) -> bool:
        return self.read_dirs is not None

    def for_wire(self, read_dirs: Iterable[str], global_settings: Iterable[str]) -> FileAccess:
        """The wire policy reading `read_dirs` (resolved now)."""
        resolved = tuple(sorted({r for d in read_dirs if (r := resolve(d))}))
        return FileAccess(self.protected, resolved, frozenset(global_settings), self.is_namespace)

    def reading(self, read_dirs: Iterable[str]) -> FileAccess:
        """This wire policy, also reading `read_dirs` (a user's own)."""
        assert self.read_dirs is not None
        return self.for_wire([*self.read_dirs, *read_dirs], self._global_settings)

    def checked(self, stmt: Statement) -> Statement:
        """`stmt`, or InsufficientPrivilege (42501) naming what this policy refuses."""
        parts = _duck_statements(stmt.text)
        for kind, text in parts:
            same = _bare(text) == _bare(stmt.text)
            self._check(kind, text, stmt.tree if same else None)
        if not parts and self.wire:
            # DuckDB cannot parse it as written, but the router may still make it parse
            # (search calls rewritten, `column :=` quoted): check what sqlglot sees.
            self._check_reads(stmt.tree, stmt.text)
        return stmt

    def _check(self, kind: duckdb.StatementType | None, text: str, tree: object) -> None:
        if kind in _WRAPPERS:
            return self._check_inner(kind, text)
        if kind is None:  # a statement DuckDB's Python API cannot name (UPDATE EXTENSIONS)
            if self.wire:
                raise InsufficientPrivilege(f"{_WIRE}: {_head(text)}")
            return None
        if kind in _REFUSED_KINDS:
            if self.wire:
                raise InsufficientPrivilege(f"{_WIRE}: {_REFUSED_KINDS[kind]}")
            return self._check_writes(text, _parse(text) if tree is None else tree)
        if kind == duckdb.StatementType.LOAD:  # INSTALL and LOAD
            if self.wire:
                raise InsufficientPrivilege(f"{_WIRE}: {_head(text)}")
            return None
        writes = kind in (duckdb.StatementType.COPY, duckdb.StatementType.SET)
        if not (self.wire or writes or kind == duckdb.StatementType.PRAGMA):
            return None  # embedded: only statements that write files are checked
        if tree is None:
            tree = _parse(text)
        if kind == duckdb.StatementType.COPY:
            return self._check_copy(text, tree)
        if kind == duckdb.StatementType.SET:
            return self._check_set(tree, text)
        if kind == duckdb.StatementType.PRAGMA:
            return self._check_pragma(text, tree)
        return self._check_reads(tree, text)

    def _check_inner(self, kind: duckdb.StatementType, text: str) -> None:
        """EXPLAIN [ANALYZE] s, PREPARE p AS s and CALL f(...) are checked as what they run."""
        body = text[_LEADING.match(text).end() :]  # type: ignore[union-attr]
        if kind == duckdb.StatementType.CALL:
            inner = "SELECT * FROM " + body[4:]
        elif kind == duckdb.StatementType.EXPLAIN:
            inner = body[7:].lstrip()
            if inner[:7].upper() == "ANALYZE":
                inner = inner[7:]
        else:
            found = _PREPARE.match(body)
            inner = found.group(1) if found is not None else ""
        parts = _duck_statements(inner)
        if not parts:  # the inner statement was not found where expected: cannot judge
            if self.wire:
                raise InsufficientPrivilege(f"{_WIRE}: {_head(text)} of a statement not checked")
            return self._check_writes(text, None)
        for part_kind, part in parts:
            self._check(part_kind, part, None)
        return None

    # -- writing ----------------------------------------------------------------------------

    def _check_copy(self, text: str, tree: object) -> None:
        if not isinstance(tree, exp.Copy):
            if self.wire:
                raise InsufficientPrivilege(f"{_WIRE}: COPY")
            return self._check_writes(text, tree)
        files = tree.args.get("files") or []
        if not tree.args.get("kind"):  # COPY ... TO
            if self.wire:
                raise InsufficientPrivilege(f"{_WIRE}: COPY TO")
            return self._check_writes(text, tree, files)
        if self.wire:
            for file in files:
                self._check_read_path("COPY FROM", file)
        return None

    def _check_writes(
        self, text: str, tree: object, targets: list[exp.Expression] | None = None
    ) -> None:
        """Embedded: the file names a writing statement holds must lie outside the storage
        root and the cache; a name computed by an expression cannot be judged."""
        if targets is None and isinstance(tree, exp.Attach):
            targets = [tree.this.this if isinstance(tree.this, exp.Alias) else tree.this]
        if targets is not None:
            for target in targets:
                if not (isinstance(target, exp.Literal) and target.is_string):
                    raise NotSupportedError(
                        "a file name computed by an expression cannot be checked here: "
                        "write it as a string literal"
                    )
        for literal in _string_tokens(text):
            self._refuse_protected(literal)

    def _refuse_protected(self, path: str) -> None:
        where = resolve(path)
        target = where if where is not None else path
        if inside(target, self.protected):
            raise InsufficientPrivilege(
                f"the storage root and its cache cannot be written through SQL: {path}"
            )

    def _check_set(self, tree: object, text: str) -> None:
        item = tree.expressions[0] if isinstance(tree, exp.Set) and tree.expressions else None
        if isinstance(item, exp.SetItem) and (item.args.get("kind") or "").upper() == "VARIABLE":
            return
        if isinstance(item, exp.SetItem) and isinstance(item.this, exp.EQ):
            name = item.this.this.name.lower()
            value = item.this.expression
        else:  # RESET x, USE x and forms sqlglot reads as a command
            words = _words(text)
            rest = [w for w in words[1:] if w.upper() not in ("GLOBAL", "SESSION", "LOCAL")]
            name, value = (rest[0].lower() if rest else ""), None
        if self.wire:
            if name in self._global_settings or name in _PATH_SETTINGS:
                raise InsufficientPrivilege(
                    f"DuckDB setting {name} cannot be changed by wire clients"
                )
            return
        if name in _PATH_SETTINGS:
            if value is not None and not (isinstance(value, exp.Literal) and value.is_string):
                raise NotSupportedError(f"{name} takes a string literal here")
            if value is not None:
                self._refuse_protected(value.name)

    def _check_pragma(self, text: str, tree: object) -> None:
        if not self.wire:
            return self._check_writes(text, tree) if "DATABASE" in text.upper() else None
        name = ""
        if isinstance(tree, exp.Pragma):
            inner = tree.this
            name = (inner.name if isinstance(inner, exp.Expression) else str(inner)).lower()
        if name.split("=")[0].strip() not in _READ_ONLY_PRAGMAS:
            words = _words(text)
            raise InsufficientPrivilege(f"{_WIRE}: {' '.join(words[:2]).upper() or 'PRAGMA'}")
        return None

    # -- reading (wire) ---------------------------------------------------------------------

    def _check_reads(self, tree: object, text: str) -> None:
        lowered = text.lower()
        if not (
            "/" in text
            or any(n in lowered for n in _CALLS_TO_CHECK)
            or _QUOTED_FILE_NAME.search(text)
        ):
            return  # names no file: no function reading one, no path, no `FROM 'x.csv'`
        if not isinstance(tree, exp.Expression) or isinstance(tree, exp.Command):
            # sqlglot cannot read it: refuse it if it names a file function at all, or
            # quotes a path (`FROM '/x/y.parquet'`) that is not readable.
            for name in _called_names(text):
                if name in FILE_FUNCTIONS or name in _SQL_TEXT_FUNCTIONS:
                    raise InsufficientPrivilege(f"{_WIRE}: {name}")
            for quoted in _quoted_tokens(text):
                if "/" in quoted and not (self.read_dirs and self._readable(quoted)):
                    raise InsufficientPrivilege(f"{_WIRE}: {quoted!r} in a statement not checked")
            return
        for node in tree.walk():
            if isinstance(node, exp.Func):
                name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
                if name in _SQL_TEXT_FUNCTIONS:
                    raise InsufficientPrivilege(
                        f"{name}() runs SQL text that cannot be checked: not for wire clients"
                    )
                if name in FILE_FUNCTIONS:
                    self._check_read_path(name, _path_argument(node))
            elif (
                isinstance(node, exp.Table)
                and isinstance(node.this, exp.Identifier)
                and not _created_or_dropped(node)
            ):
                ident = node.this  # `FROM 'x.csv'`: DuckDB reads the file
                name = ident.name
                if ident.quoted and ("/" in name or ("." in name and not self.is_namespace(name))):
                    self._check_read_path(name, exp.Literal.string(name))
            elif isinstance(node, exp.Summarize | exp.Describe) and isinstance(
                node.this, exp.Literal
            ):
                self._check_read_path(node.this.name, node.this)  # SUMMARIZE 'x.csv'

    def _check_read_path(self, what: str, arg: exp.Expression | None) -> None:
        assert self.read_dirs is not None
        if not self.read_dirs:
            raise InsufficientPrivilege(f"{_WIRE}: {what}")
        names = arg.expressions if isinstance(arg, exp.Array) else [arg]
        for name in names:
            if not (isinstance(name, exp.Literal) and name.is_string):
                raise InsufficientPrivilege(
                    f"{_WIRE}: {what} (a file name must be a string literal to be checked)"
                )
            if not self._readable(name.name):
                raise InsufficientPrivilege(
                    f"{_WIRE}: {what} of {name.name!r} (not under an allowed directory)"
                )

    def _readable(self, path: str) -> bool:
        """Whether `path` (a file name or a glob pattern) and all it matches lie under an
        allowed directory once resolved."""
        assert self.read_dirs is not None
        where = resolve(path)
        if where is None:
            return False  # network access is off
        if not glob.has_magic(path):
            return inside(where, self.read_dirs)
        fixed = path[: min(path.index(c) for c in "*?[" if c in path)]
        base = resolve(fixed or ".")
        if base is None or not inside(base, self.read_dirs):
            return False
        matches = glob.glob(os.path.expanduser(path), recursive=True)
        return all(inside(os.path.realpath(m), self.read_dirs) for m in matches)


def _created_or_dropped(table: exp.Table) -> bool:
    """Whether `table` is what a CREATE or DROP names, or a foreign key references: a
    catalog entry, never a file DuckDB reads."""
    parent = table.parent.parent if isinstance(table.parent, exp.Schema) else table.parent
    return isinstance(parent, exp.Create | exp.Drop | exp.Reference)


def _path_argument(node: exp.Func) -> exp.Expression | None:
    """The first positional argument of a call (the file name or list of names)."""
    args = [node.this] if isinstance(node.this, exp.Expression) else []
    args += [a for a in node.expressions if isinstance(a, exp.Expression)]
    positional = [a for a in args if not isinstance(a, exp.EQ | exp.PropertyEQ | exp.Kwarg)]
    return positional[0] if positional else None


_parser_lock = threading.Lock()
_CACHED_TEXT = 4096  # statements longer than this are parsed every time, not kept


@functools.cache
def _parser() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()  # only parses: nothing runs on it


def _duck_statements(text: str) -> tuple[tuple[duckdb.StatementType | None, str], ...]:
    """DuckDB's own reading of `text`: each statement's kind (None when the Python API
    cannot name it) and text. Text DuckDB cannot parse yields nothing: it will not run."""
    return _parsed(text) if len(text) <= _CACHED_TEXT else _parsed.__wrapped__(text)


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> tuple[tuple[duckdb.StatementType | None, str], ...]:
    try:
        with _parser_lock:
            statements = _parser().extract_statements(text)
    except duckdb.Error:
        return ()
    except ValueError:  # a statement type the Python API lacks
        return ((None, text),)
    return tuple((s.type, s.query) for s in statements)


def _words(text: str) -> list[str]:
    """The words of a statement, after the comments before it."""
    return re.findall(r"\w+", text[_LEADING.match(text).end() :])  # type: ignore[union-attr]


def _head(text: str) -> str:
    """The statement's first word (INSTALL, LOAD, ...)."""
    words = _words(text)
    return words[0].upper() if words else "statement"


def _bare(text: str) -> str:
    return text.strip().rstrip(";").strip()


def _parse(text: str) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(text, read=DIALECT)
    except SqlglotError:
        return None


def _tokens(text: str) -> list[Token]:
    try:
        return sqlglot.tokenize(text, read=DIALECT)
    except SqlglotError:
        return []


def _quoted_tokens(text: str) -> list[str]:
    """String literals and quoted names: where a file name can hide."""
    return [t.text for t in _tokens(text) if t.token_type in _QUOTED]


def _string_tokens(text: str) -> list[str]:
    return [
        t.text
        for t in _tokens(text)
        if t.token_type in (TokenType.STRING, TokenType.HEREDOC_STRING)
    ]


def _called_names(text: str) -> Iterator[str]:
    tokens = _tokens(text)
    for tok, nxt in itertools.pairwise(tokens):
        if nxt.token_type == TokenType.L_PAREN:
            yield tok.text.lower()
