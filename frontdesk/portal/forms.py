"""The practice's form library: versioned form definitions and packages of forms.

A form is data (`frontdesk.portal.form_definitions`). Importing a form with a key that exists
adds a new version; tasks already assigned keep the version they were assigned with. The
scored measures (PHQ-9, GAD-7) cannot be edited. Packages are ordered lists of form keys
(`new-client`: consent, intake, PHQ-9, GAD-7) that the practice can change.

The built-in forms and packages are added on first use (`ensure_builtins`), so they exist on
every database, fresh or migrated."""

from __future__ import annotations

import contextlib
import json
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.core.clock import Clock, as_utc
from frontdesk.core.errors import InvalidInput, NotAllowed, NotFound
from frontdesk.core.text import has_controls, single_line
from frontdesk.portal import builtin_forms
from frontdesk.portal.form_definitions import (
    KEY_RE,
    FormDefinition,
    InvalidDefinition,
    got,
    parse_definition,
)
from store.db import Database
from store.models import FormPackage, FormVersion
from store.states import FormKind

SYSTEM_ACTOR = "frontdesk"  # who added the built-in forms
MAX_PACKAGE_FORMS = 20
MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class FormInfo:
    """One version of a form, as lists show it."""

    key: str
    title: str
    version: int
    kind: FormKind
    version_id: int
    created_at: datetime
    created_by: str

    @property
    def scored(self) -> bool:
        return self.kind is FormKind.MEASURE

    @property
    def editable(self) -> bool:
        """Whether the practice may make a new version (not a scored measure)."""
        return not self.scored


@dataclass(frozen=True)
class FormSpec:
    """A form version with its whole definition (to show or fill it)."""

    info: FormInfo
    definition: FormDefinition


@dataclass(frozen=True)
class ImportResult:
    form: FormInfo
    created: bool  # False: the definition equals the current version; nothing was added


@dataclass(frozen=True)
class PackageInfo:
    key: str
    title: str
    forms: tuple[FormInfo, ...]  # in order: the current version of each form
    updated_at: datetime
    updated_by: str

    @property
    def form_keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.forms)


def info_of(row: FormVersion) -> FormInfo:
    assert row.id is not None
    return FormInfo(
        row.key,
        row.title,
        row.version,
        FormKind(row.kind),
        row.id,
        as_utc(row.created_at),
        row.created_by,
    )


def spec_of(row: FormVersion) -> FormSpec:
    return FormSpec(info_of(row), parse_definition(row.definition, builtin=True))


def load_definition_file(path: Path) -> dict[str, object]:
    """A form definition file (.toml or .json) as data; InvalidDefinition naming the file's
    problem in one line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidDefinition(f"{path.name}: larger than {MAX_FILE_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidDefinition(f"{path.name}: not UTF-8 text") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: object = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise InvalidDefinition(f"{path.name}: give a .toml or .json file")
    except tomllib.TOMLDecodeError as exc:
        raise InvalidDefinition(f"{path.name}: not valid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InvalidDefinition(
            f"{path.name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:  # lists in lists thousands deep: no form is shaped like that
        raise InvalidDefinition(f"{path.name}: nested too deeply to be a form definition") from None
    if not isinstance(data, dict):
        raise InvalidDefinition(
            f"{path.name}: a form definition must be a table/object, got {got(data)}"
        )
    return data


class FormLibrary:
    """The forms and packages of the practice, acting as one staff member."""

    def __init__(self, db: Database, clock: Clock, actor: str) -> None:
        self.db = db
        self.clock = clock
        self.actor = actor
        self._seeded = False

    # ---------------------------------------------------------------- entry methods

    def forms(self) -> list[FormInfo]:
        """The current version of every form, by title."""
        self.ensure_builtins()
        with self.db.read() as session:
            return sorted(
                (info_of(row) for row in current_versions(session)),
                key=lambda f: (f.title.casefold(), f.key),
            )

    def form(self, key: str, *, version: int | None = None) -> FormSpec:
        """A form's current version (or `version`) with its definition; NotFound otherwise."""
        self.ensure_builtins()
        with self.db.read() as session:
            if version is None:
                return spec_of(current_version(session, key))
            row = session.exec(
                select(FormVersion).where(
                    FormVersion.key == key.strip(), FormVersion.version == version
                )
            ).first()
            if row is None:
                raise NotFound(f"Form {single_line(key)!r} has no version {version}.")
            return spec_of(row)

    def versions(self, key: str) -> list[FormInfo]:
        """Every version of a form, newest first."""
        self.ensure_builtins()
        with self.db.read() as session:
            rows = session.exec(
                select(FormVersion)
                .where(FormVersion.key == key.strip())
                .order_by(col(FormVersion.version).desc())
            ).all()
            if not rows:
                raise NotFound(f"No form with key {single_line(key)!r}.")
            return [info_of(row) for row in rows]

    def import_form(self, data: object) -> ImportResult:
        """Add a form, or a new version of one (not of a scored measure)."""
        self.ensure_builtins()
        key = data.get("key") if isinstance(data, dict) else None
        if isinstance(key, str):
            with self.db.read() as session:
                _refuse_measure(newest_version(session, key))
        definition = parse_definition(data)

        def work(session: Session) -> ImportResult:
            existing = newest_version(session, definition.key)
            if existing is not None:
                _refuse_measure(existing)
                if existing.kind != definition.kind.value:
                    raise NotAllowed(
                        f"Form {definition.key!r} is a {existing.kind}; a new version cannot make "
                        f"it a {definition.kind.value} (import it under another key)."
                    )
                if existing.definition == definition.to_json():
                    return ImportResult(info_of(existing), created=False)
            row = self.add_version(session, definition, actor=self.actor)
            self._audit(session, "form imported", f"{row.key} version {row.version}")
            return ImportResult(info_of(row), created=True)

        return self.db.transact(work)

    def packages(self) -> list[PackageInfo]:
        """Every package, by title."""
        self.ensure_builtins()
        with self.db.read() as session:
            rows = session.exec(select(FormPackage)).all()
            packages = [self._package_info(session, row) for row in rows]
        return sorted(packages, key=lambda p: (p.title.casefold(), p.key))

    def package(self, key: str) -> PackageInfo:
        self.ensure_builtins()
        with self.db.read() as session:
            return self._package_info(session, package_row(session, key))

    def set_package(self, key: str, *, title: str, form_keys: list[str]) -> PackageInfo:
        """Create or change a package: its title and its ordered forms."""
        key = key.strip()
        if not KEY_RE.fullmatch(key):
            raise InvalidInput(
                f"Package key {single_line(key)!r}: use lowercase letters, digits and hyphens.",
                "key",
            )
        title = " ".join(title.split())
        if not title or has_controls(title) or len(title) > 200:
            raise InvalidInput(
                "Package title is required (one line, up to 200 characters).", "title"
            )
        keys = [k.strip() for k in form_keys if k.strip()]
        if not keys:
            raise InvalidInput("A package needs at least one form.", "forms")
        if len(keys) > MAX_PACKAGE_FORMS:
            raise InvalidInput(f"A package holds at most {MAX_PACKAGE_FORMS} forms.", "forms")
        if len(set(keys)) != len(keys):
            raise InvalidInput("A form is listed twice in the package.", "forms")
        self.ensure_builtins()

        def work(session: Session) -> PackageInfo:
            for form_key in keys:
                if newest_version(session, form_key) is None:
                    raise InvalidInput(f"No form with key {single_line(form_key)!r}.", "forms")
            row = session.get(FormPackage, key)
            created = row is None
            now = self.clock.now()
            if row is None:
                row = FormPackage(
                    key=key, title=title, form_keys=keys, updated_at=now, updated_by=self.actor
                )
            else:
                row.title, row.form_keys = title, list(keys)
                row.updated_at, row.updated_by = now, self.actor
            session.add(row)
            session.flush()
            action = "package created" if created else "package changed"
            self._audit(session, action, f"{key}: {', '.join(keys)}")
            return self._package_info(session, row)

        return self.db.transact(work)

    # ---------------------------------------------------------------- the built-ins

    def ensure_builtins(self) -> None:
        """Add the built-in forms and packages a database does not have yet (once per
        process; two processes adding them at once leave one copy)."""
        if self._seeded:
            return
        with self.db.read() as session:
            missing = builtins_missing(session)
        if missing:
            # IntegrityError: another process added them at the same moment
            with contextlib.suppress(IntegrityError):
                self.db.transact(lambda s: seed_builtins(s, self.clock.now()))
        self._seeded = True

    # ---------------------------------------------------------------- steps

    def add_version(
        self, session: Session, definition: FormDefinition, *, actor: str
    ) -> FormVersion:
        """Step: store `definition` as the next version of its key."""
        return add_version(session, definition, now=self.clock.now(), actor=actor)

    def _package_info(self, session: Session, row: FormPackage) -> PackageInfo:
        forms = []
        for key in row.form_keys:
            version = newest_version(session, key)
            if version is not None:
                forms.append(info_of(version))
        return PackageInfo(row.key, row.title, tuple(forms), as_utc(row.updated_at), row.updated_by)

    def _audit(self, session: Session, action: str, detail: str) -> None:
        audit.record(
            session,
            at=self.clock.now(),
            actor=self.actor,
            action=action,
            detail=detail,
            source=f"os:{self.actor}",
        )


# -------------------------------------------------------------------- steps (take a Session)


def _refuse_measure(existing: FormVersion | None) -> None:
    if existing is not None and FormKind(existing.kind) is FormKind.MEASURE:
        raise NotAllowed(
            f"{existing.title} is a scored measure and cannot be edited; its items, scale and "
            "scoring are fixed by its instruction manual."
        )


def newest_version(session: Session, key: str) -> FormVersion | None:
    return session.exec(
        select(FormVersion)
        .where(FormVersion.key == key.strip())
        .order_by(col(FormVersion.version).desc())
        .limit(1)
    ).first()


def current_version(session: Session, key: str) -> FormVersion:
    """A form's current (newest) version, or NotFound."""
    row = newest_version(session, key)
    if row is None:
        raise NotFound(f"No form with key {single_line(key)!r}.")
    return row


def current_versions(session: Session) -> list[FormVersion]:
    """The newest version of every form key."""
    newest = (
        select(FormVersion.key, sa.func.max(FormVersion.version).label("version"))
        .group_by(FormVersion.key)
        .subquery()
    )
    return list(
        session.exec(
            select(FormVersion).join(
                newest,
                sa.and_(
                    col(FormVersion.key) == newest.c.key,
                    col(FormVersion.version) == newest.c.version,
                ),
            )
        ).all()
    )


def package_row(session: Session, key: str) -> FormPackage:
    row = session.get(FormPackage, key.strip())
    if row is None:
        raise NotFound(f"No form package with key {single_line(key)!r}.")
    return row


def add_version(
    session: Session, definition: FormDefinition, *, now: datetime, actor: str
) -> FormVersion:
    newest = newest_version(session, definition.key)
    row = FormVersion(
        key=definition.key,
        version=(newest.version + 1) if newest is not None else 1,
        kind=definition.kind.value,
        title=definition.title,
        definition=definition.to_json(),
        created_at=now,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return row


def builtins_missing(session: Session) -> bool:
    keys = [d["key"] for d in builtin_forms.BUILTIN_FORMS]
    present = set(
        session.exec(select(FormVersion.key).where(col(FormVersion.key).in_(keys)).distinct()).all()
    )
    if len(present) < len(keys):
        return True
    packages = [key for key, _, _ in builtin_forms.BUILTIN_PACKAGES]
    found = session.exec(select(FormPackage.key).where(col(FormPackage.key).in_(packages))).all()
    return len(found) < len(packages)


def seed_builtins(session: Session, now: datetime) -> None:
    """Step: add each built-in form and package the database does not have."""
    added = []
    for data in builtin_forms.BUILTIN_FORMS:
        if newest_version(session, str(data["key"])) is None:
            definition = parse_definition(data, builtin=True)
            add_version(session, definition, now=now, actor=SYSTEM_ACTOR)
            added.append(definition.key)
    for key, title, keys in builtin_forms.BUILTIN_PACKAGES:
        if session.get(FormPackage, key) is None:
            session.add(
                FormPackage(
                    key=key,
                    title=title,
                    form_keys=list(keys),
                    updated_at=now,
                    updated_by=SYSTEM_ACTOR,
                )
            )
            session.flush()
            added.append(f"package {key}")
    if added:
        audit.record(
            session,
            at=now,
            actor=SYSTEM_ACTOR,
            action="built-in forms added",
            detail=", ".join(added),
            source="system",
        )
