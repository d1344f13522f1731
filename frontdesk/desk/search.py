"""The chart browser's search: one statement per keystroke (plus one probe on SQLite).

Each way a text can match (a prefix of last name, first name, email or chart number; a
substring, by the trigram index) takes its own best index and yields at most one page in
display order; the page is cut from their merge in the same statement. Statements are plain
Core over the tables, built once per shape and compiled ahead (`prepare_search`)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa

from frontdesk.access.status import CHART, EXPIRING_SOON, STATUS_FILTERS, charts_with_status
from frontdesk.core.clock import Clock
from frontdesk.core.text import search_key, single_line
from frontdesk.desk.views import ChartSummary, summary_of_row, summary_select
from store.db import Database
from store.models import INVITATION_LIVE, OUTBOX_BOUNCED

PAGE_SIZE = 50
_CHART = CHART


class ChartSearch:
    """Pages of charts for the browser, the worklists and the CLI's lists."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._page_statements: dict[tuple[str | None, _Shape | None], sa.Select[Any]] = {}

    # Substring matches above this many use an ordered scan instead of the trigram index:
    # a common fragment finds a page at once by walking the last-name index.
    _FTS_SCAN_THRESHOLD = 5000

    # A prefix matching more charts than this walks the name index instead of sorting them
    # (sorting reads the prefix's covering index; walking, the name index, see migration 0003).
    _SORT_LIMIT = 3000

    def prepare_search(self) -> int:
        """Build and compile every page statement a search without a status filter can use
        (a few dozen on SQLite, one on PostgreSQL), each run once with a zero limit (which
        reads nothing); returns how many. Call it on a reader thread when the browser opens, so no
        keystroke pays for building its statement (several milliseconds each)."""
        shapes: list[_Shape | None] = [None]
        if self.db.is_sqlite:
            for first, email, number in itertools.product((False, True), repeat=3):
                prefixes = (
                    _Branch("last"),
                    _Branch("first", walk=first),
                    _Branch("email", walk=email),
                    _Branch("number", walk=number),
                )
                shapes.append(prefixes)
                shapes.append((*prefixes, _Branch("trigram", walk=False)))
                shapes.append((*prefixes, _Branch("within")))
        else:  # one shape for short texts, one with the substring branch
            for text in ("pr", "prepare"):
                found = self._text_shape(None, text)
                shapes.append(found[0] if found else None)
        now = self.clock.now()
        # The same parameter names as a real search: SQLAlchemy's compiled-statement cache is
        # keyed by them too. A zero limit makes SQLite stop at once: nothing is read.
        params = _page_params(None, now, limit=0, offset=0)
        with self.db.read_connection() as conn:
            for shape in shapes:
                conn.execute(self._page_statement(None, shape), params).all()
        return len(shapes)

    def _text_shape(
        self, conn: sa.Connection | None, text: str, *, counting: bool = False
    ) -> tuple[_Shape, dict[str, Any]] | None:
        """The ways `text` can match a chart, each usable with an index: prefix of last name,
        first name, email or chart number, or (3+ characters) a substring of any of them
        (trigram index on SQLite, pg_trgm on PostgreSQL); with the parameters they bind.
        Each way is a `_Branch` naming how it reads (see `_branch_condition`). None when there
        is nothing to match. While not `counting`, one probe statement decides, per prefix,
        whether it matches so many charts that walking the name index in display order finds
        a page sooner than seeking the matches and sorting them."""
        raw = single_line(text).strip()
        key = search_key(raw)
        if not key:
            return None
        params = _text_params(raw, key)
        substring = len(key) >= 3
        if not self.db.is_sqlite:
            branches = [_Branch("last"), _Branch("first"), _Branch("email"), _Branch("number")]
            if substring:
                branches.append(_Branch("within"))
            return tuple(branches), params
        if counting:
            # A count ORs the branches: only index ranges keep that an index union.
            many = (0, 0, 0, 0)
        else:
            assert conn is not None, "SQLite probes need a connection"
            probe = _PROBE_WITH_FTS if substring else _PROBE
            found = conn.execute(
                probe,
                {
                    **params,
                    "probe_many": self._SORT_LIMIT + 1,
                    "probe_fts": self._FTS_SCAN_THRESHOLD + 1,
                },
            ).one()
            many = (found[0], found[1], found[2], found[3] if substring else 0)
        branches = [
            _Branch("last"),
            _Branch("first", walk=many[0] > self._SORT_LIMIT),
            _Branch("email", walk=many[1] > self._SORT_LIMIT),
            _Branch("number", walk=many[2] > self._SORT_LIMIT),
        ]
        if substring:
            branches.append(
                _Branch("within", walk=True)
                if many[3] > self._FTS_SCAN_THRESHOLD
                else _Branch("trigram", walk=False)
            )
        return tuple(branches), params

    def _page_statement(self, status: str | None, shape: _Shape | None) -> sa.Select[Any]:
        """The one statement that reads a page of the browser: built once per shape (status
        filter and ways of matching) and reused with new parameters, so a keystroke costs
        one probe and one query, without ORM objects."""
        cache_key = (status, shape)
        statement = self._page_statements.get(cache_key)
        if statement is None:
            statement = _build_page_statement(status, shape, sqlite=self.db.is_sqlite)
            self._page_statements[cache_key] = statement
        return statement

    @property
    def pages_read_in_place(self) -> bool:
        """Whether a page without a status filter may be read on the caller's own thread:
        on a local SQLite store it takes a few milliseconds and never waits for a writer
        (WAL), so a screen can show it in the same frame as the key that asked for it.
        On PostgreSQL a read is a network round trip: read it on a worker thread."""
        return self.db.is_sqlite

    def search_charts(
        self,
        text: str = "",
        *,
        status: str | None = None,
        limit: int = PAGE_SIZE,
        offset: int = 0,
    ) -> list[ChartSummary]:
        """One page of charts ordered by last name; never loads more than a page of rows.
        Each way of matching takes its own best index and yields at most one page (plus the
        offset) in display order; the page is cut from their merge, in the same statement."""
        now = self.clock.now()
        limit = max(1, min(limit, 500))
        offset = max(0, offset)
        status = status if status and status != "all" else None
        if status is not None and status not in STATUS_FILTERS:
            raise ValueError(f"unknown status {status!r}")
        with self.db.read_connection() as conn:
            found = self._text_shape(conn, text)
            shape, text_params = found if found is not None else (None, None)
            params = _page_params(text_params, now, limit=limit, offset=offset)
            rows = conn.execute(self._page_statement(status, shape), params).all()
        return [summary_of_row(row, now) for row in rows]

    def has_bounced_invitations(self) -> bool:
        """Whether some live invitation's email came back (the browser then shows its
        "Bounced" worklist). One probe of the outbox's state index: few emails ever bounce."""
        with self.db.read_connection() as conn:
            return conn.execute(_ANY_BOUNCED).first() is not None

    def count_charts(self, text: str = "", *, status: str | None = None) -> int:
        """How many charts match (for "N charts" in the browser)."""
        now = self.clock.now()
        inner = charts_with_status(
            sa.select(_CHART.c.id), status if status and status != "all" else None
        )
        with self.db.read_connection() as conn:
            found = self._text_shape(conn, text, counting=True)
            params = _page_params(found[1] if found else None, now, limit=0, offset=0)
            if found is not None:
                sqlite = self.db.is_sqlite
                inner = inner.where(
                    sa.or_(*(_branch_condition(b, sqlite=sqlite) for b in found[0]))
                )
            counted = sa.select(sa.func.count()).select_from(inner.subquery())
            return int(conn.execute(counted, params).scalar_one())


_OUTBOX = CHART.metadata.tables["outbox_email"]
_INVITATION = CHART.metadata.tables["invitation"]
_ANY_BOUNCED = (
    sa.select(sa.literal(1))
    .select_from(_OUTBOX.join(_INVITATION, _INVITATION.c.id == _OUTBOX.c.invitation_id))
    .where(_OUTBOX.c.state == OUTBOX_BOUNCED, _INVITATION.c.state == INVITATION_LIVE)
    .limit(1)
)


@dataclass(frozen=True)
class _Branch:
    """One way a search text matches a chart: `kind` is last | first | email | number (a
    prefix), trigram (a substring, by the FTS5 trigram index) or within (a substring, by
    LIKE: pg_trgm on PostgreSQL; on SQLite a fragment so common that walking the name index
    finds a page at once). `walk`: read the name index in display order and filter, rather
    than seek the matches on their own index and sort them."""

    kind: str
    walk: bool = True


_Shape = tuple[_Branch, ...]

# Per prefix, whether more than :probe_many charts match (index range counts that stop early);
# the FTS form also counts the charts the trigram phrase matches (up to :probe_fts).
_PROBE_PREFIXES = (
    "SELECT"
    " (SELECT count(*) FROM (SELECT 1 FROM chart"
    "   WHERE first_key >= :key AND first_key < :key_end LIMIT :probe_many)),"
    " (SELECT count(*) FROM (SELECT 1 FROM chart"
    "   WHERE email_key >= :key AND email_key < :key_end LIMIT :probe_many)),"
    " (SELECT count(*) FROM (SELECT 1 FROM chart"
    "   WHERE chart_number >= :raw AND chart_number < :raw_end LIMIT :probe_many))"
)
_PROBE = sa.text(_PROBE_PREFIXES)
_PROBE_WITH_FTS = sa.text(
    _PROBE_PREFIXES  # noqa: S608 - constant SQL; every value is bound
    + ", (SELECT count(*) FROM (SELECT 1 FROM chart_fts"
    "   WHERE chart_fts MATCH :phrase LIMIT :probe_fts))"
)

# A trigram phrase's matches in name order (SQLite): their name keys come from the narrow
# covering index of migration 0003, not from each chart row.
_TRIGRAM_KEYS = sa.text(
    "SELECT c.last_key AS last_key, c.first_key AS first_key, c.id AS id"
    " FROM chart_fts JOIN chart AS c INDEXED BY ix_chart_id_names ON c.id = chart_fts.rowid"
    " WHERE chart_fts MATCH :phrase ORDER BY c.last_key || '', c.first_key, c.id LIMIT :take"
).columns(
    sa.column("last_key", sa.String), sa.column("first_key", sa.String), sa.column("id", sa.Integer)
)

_PREFIX_COLUMNS: dict[str, tuple[Any, str, str, str]] = {
    # kind: (column, low bound, high bound, LIKE prefix pattern) as parameter names
    "last": (_CHART.c.last_key, "key", "key_end", "key_prefix"),
    "first": (_CHART.c.first_key, "key", "key_end", "key_prefix"),
    "email": (_CHART.c.email_key, "key", "key_end", "key_prefix"),
    "number": (_CHART.c.chart_number, "raw", "raw_end", "raw_prefix"),
}


def _text_params(raw: str, key: str) -> dict[str, Any]:
    """What the ways of matching bind, for the raw text and its folded search key."""
    return {
        "key": key,
        "key_end": key + "\U0010ffff",
        "raw": raw,
        "raw_end": raw + "\U0010ffff",
        "key_prefix": _like_escape(key) + "%",
        "raw_prefix": _like_escape(raw) + "%",
        "key_within": "%" + _like_escape(key) + "%",
        "phrase": '"' + key.replace('"', '""') + '"',
    }


def _page_params(
    text_params: dict[str, Any] | None, now: datetime, *, limit: int, offset: int
) -> dict[str, Any]:
    """Every parameter of a page statement. Always the same names, with or without a text:
    SQLAlchemy caches a compiled statement under its parameter names as well, so a different
    set would compile it again (milliseconds, in the middle of a keystroke)."""
    nothing = "\U0010fffe" * 3
    return {
        **(text_params if text_params is not None else _text_params(nothing, nothing)),
        "now": now,
        "soon": now + EXPIRING_SOON,
        "limit": limit,
        "offset": offset,
        "take": offset + limit,
    }


def _like_escape(value: str) -> str:
    return value.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _branch_condition(branch: _Branch, *, sqlite: bool) -> sa.ColumnElement[bool]:
    """The WHERE condition of one way of matching, with bound parameters (see _text_shape)."""
    chart = _CHART.c
    if branch.kind in ("trigram", "within"):
        if branch.kind == "trigram":
            fts = sa.text("SELECT rowid FROM chart_fts WHERE chart_fts MATCH :phrase")
            return chart.id.in_(fts)
        return chart.search_text.like(sa.bindparam("key_within"), escape="/")
    column, low, high, prefix = _PREFIX_COLUMNS[branch.kind]
    if not sqlite:
        return cast(sa.ColumnElement[bool], column.like(sa.bindparam(prefix), escape="/"))
    # A range on the column. When walking the name index, `column || ''` keeps SQLite from
    # choosing the column's own index (the last name's range is on the name index itself).
    target = column + "" if branch.walk and branch.kind != "last" else column
    return sa.and_(target >= sa.bindparam(low), target < sa.bindparam(high))


def _build_page_statement(status: str | None, shape: _Shape | None, *, sqlite: bool) -> Any:
    chart = _CHART.c
    order = (chart.last_key, chart.first_key, chart.id)
    # The same order as an expression no index provides, so SQLite seeks the matches first
    # and sorts them instead of walking the whole name index.
    seek_order = (chart.last_key + "", chart.first_key, chart.id)

    def keys(*columns: Any) -> Any:
        return charts_with_status(sa.select(*columns), status)

    if shape is None:
        page = keys(chart.id.label("id")).order_by(*order)
    else:
        parts = [
            _TRIGRAM_KEYS.subquery(f"way{n}")
            if branch.kind == "trigram" and status is None
            else keys(
                chart.last_key.label("last_key"),
                chart.first_key.label("first_key"),
                chart.id.label("id"),
            )
            .where(_branch_condition(branch, sqlite=sqlite))
            .order_by(*(order if branch.walk else seek_order))
            .limit(sa.bindparam("take"))
            .subquery(f"way{n}")
            for n, branch in enumerate(shape)
        ]
        merged = sa.union(
            *(sa.select(part.c.last_key, part.c.first_key, part.c.id) for part in parts)
        )
        matched = merged.subquery("matched")
        page = sa.select(matched.c.id).order_by(
            matched.c.last_key, matched.c.first_key, matched.c.id
        )
    page_ids = page.limit(sa.bindparam("limit")).offset(sa.bindparam("offset")).subquery("page")
    return summary_select(page_ids.join(_CHART, chart.id == page_ids.c.id)).order_by(*order)
