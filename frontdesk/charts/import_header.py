"""Which column of a CSV file is which of our fields: header names as people write them.

A header cell is matched without regard to case, spaces, underscores, hyphens and dots
("Chart Number", "chart_number", "E-mail", "D.O.B."), with the common synonyms (DOB, Date of
Birth, MRN, Chart #, Given / Family name, ...). `--map SOURCE=FIELD` names the rest (it wins
over a synonym; `SOURCE=` ignores a column). Columns that are not ours are ignored and listed,
never silently dropped. Pure text: nothing here touches the file or the store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from frontdesk.charts.import_file import ImportFileError
from frontdesk.core.text import single_line

REQUIRED_COLUMNS = ("chart_number", "first_name", "last_name", "date_of_birth")
CHART_OPTIONAL_COLUMNS = ("preferred_name", "email", "phone")
CONTACT_COLUMNS = ("contact_name", "contact_relationship", "contact_email")
CONTACT_OPTIONAL_COLUMNS = ("contact_phone",)
OWNER_COLUMN = "owner"
KNOWN_COLUMNS = (
    REQUIRED_COLUMNS
    + CHART_OPTIONAL_COLUMNS
    + CONTACT_COLUMNS
    + CONTACT_OPTIONAL_COLUMNS
    + (OWNER_COLUMN,)
)
# The chart's own fields (a row with none of them filled only adds a contact).
CHART_FIELDS = ("first_name", "last_name", "preferred_name", "date_of_birth", "email", "phone")
ALL_CONTACT_COLUMNS = CONTACT_COLUMNS + CONTACT_OPTIONAL_COLUMNS

_FOLD = re.compile(r"[\s_.\-]+")

# Header spellings (folded by `header_key`) and the field each one means.
SYNONYMS: dict[str, str] = {
    **{name.replace("_", ""): name for name in KNOWN_COLUMNS},
    **dict.fromkeys(
        ("chart", "chart#", "chartno", "chartid", "mrn", "medicalrecordnumber", "recordnumber"),
        "chart_number",
    ),
    **dict.fromkeys(("first", "given", "givenname", "forename"), "first_name"),
    **dict.fromkeys(("last", "family", "familyname", "surname"), "last_name"),
    **dict.fromkeys(("preferred", "nickname"), "preferred_name"),
    **dict.fromkeys(("dob", "dateofbirth", "birthdate", "birthday", "birth"), "date_of_birth"),
    **dict.fromkeys(("emailaddress", "mail"), "email"),
    **dict.fromkeys(("phonenumber", "telephone", "tel"), "phone"),
    **dict.fromkeys(("guardian", "guardianname", "contact"), "contact_name"),
    **dict.fromkeys(("relationship", "guardianrelationship", "relation"), "contact_relationship"),
    **dict.fromkeys(("guardianemail", "contactemailaddress"), "contact_email"),
    **dict.fromkeys(("guardianphone",), "contact_phone"),
    **dict.fromkeys(("chartowner", "portalowner"), "owner"),
}


def header_key(text: str) -> str:
    """A header cell folded for matching: case, spaces, underscores, hyphens and dots gone."""
    return _FOLD.sub("", text.strip().lstrip("\ufeff")).casefold()


def field_of(text: str) -> str | None:
    """The field a header cell means by its spelling alone (None: not one of ours)."""
    return SYNONYMS.get(header_key(text))


def is_known(text: str) -> bool:
    return field_of(text) is not None


@dataclass(frozen=True)
class Columns:
    """The header's meaning: the cell index of each field found, the header text of each
    (for error lines), the columns ignored (their header text, in file order)."""

    index: dict[str, int]
    labels: dict[str, str]
    width: int
    ignored: tuple[str, ...] = ()
    unnamed: tuple[int, ...] = field(default=())  # indexes of columns without a name

    def has(self, name: str) -> bool:
        return name in self.index

    @property
    def has_contacts(self) -> bool:
        return all(c in self.index for c in CONTACT_COLUMNS)

    def label(self, name: str) -> str:
        """How an error line names a field: our name, with the file's header after it when
        that is spelled otherwise ("date_of_birth (DOB)")."""
        text = self.labels.get(name)
        if text is None or header_key(text) == header_key(name):
            return name
        return f"{name} ({single_line(text)})"


def parse_mapping(items: Iterable[str]) -> dict[str, str | None]:
    """`--map` values ("SOURCE=FIELD"; "SOURCE=" ignores a column) as {folded source: field or
    None}; ImportFileError naming the bad one."""
    mapping: dict[str, str | None] = {}
    for item in items:
        source, equals, target = item.partition("=")
        shown = single_line(item)
        if not equals or not source.strip():
            raise ImportFileError(
                f'--map {shown!r}: write SOURCE=FIELD, e.g. --map "Client ID=chart_number"'
            )
        name = target.strip()
        if name and name not in KNOWN_COLUMNS:
            raise ImportFileError(
                f"--map {shown!r}: {single_line(name)!r} is not a field; the fields are "
                f"{', '.join(KNOWN_COLUMNS)} (or nothing after '=' to ignore the column)"
            )
        mapping[header_key(source)] = name or None
    return mapping


def match_header(
    header: list[str],
    name: str,
    *,
    mapping: Mapping[str, str | None] | None = None,
    update: bool = False,
) -> Columns:
    """What each header cell means; ImportFileError when the header cannot be used (a field
    named twice, a required column missing, contact columns not together, a --map SOURCE not
    in the header). With `update`, only the chart number is required (a file may correct a
    few fields of existing charts)."""
    mapping = dict(mapping or {})
    keys = [header_key(cell) for cell in header]
    missing_sources = [source for source in mapping if source not in keys]
    if missing_sources:
        shown = ", ".join(repr(s) for s in missing_sources)
        raise ImportFileError(
            f"--map: no column {shown} in the header line of {name} (its columns are "
            f"{', '.join(single_line(c.strip()) for c in header if c.strip())})"
        )
    mapped_fields = {f for f in mapping.values() if f is not None}
    found: dict[str, list[int]] = {}
    ignored: list[str] = []
    unnamed: list[int] = []
    for position, (cell, key) in enumerate(zip(header, keys, strict=True)):
        if not key:
            unnamed.append(position)
            continue
        if key in mapping:
            target = mapping[key]
        else:
            target = SYNONYMS.get(key)
            if target in mapped_fields:
                target = None  # --map named another column for this field: it wins
        if target is None:
            ignored.append(single_line(cell.strip()))
            continue
        found.setdefault(target, []).append(position)

    twice = {f: cells for f, cells in found.items() if len(cells) > 1}
    if twice:
        parts = [
            f"{f} ({' and '.join(repr(single_line(header[i].strip())) for i in cells)})"
            for f, cells in twice.items()
        ]
        raise ImportFileError(
            f"{name}: column(s) named twice: {', '.join(parts)}; remove one, or ignore one "
            'with --map "SOURCE="'
        )
    index = {f: cells[0] for f, cells in found.items()}
    required = ("chart_number",) if update else REQUIRED_COLUMNS
    missing = [c for c in required if c not in index]
    if missing:
        hint = ""
        if ignored:
            hint = (
                f"; columns not recognised: {', '.join(ignored)} (name one with "
                f'--map "{ignored[0]}={missing[0]}")'
            )
        raise ImportFileError(
            f"{name}: missing column(s) {', '.join(missing)} in the header line "
            f"(required: {', '.join(required)}){hint}"
        )
    if 0 < sum(c in index for c in CONTACT_COLUMNS) < len(CONTACT_COLUMNS) or (
        "contact_phone" in index and not all(c in index for c in CONTACT_COLUMNS)
    ):
        raise ImportFileError(
            f"{name}: the contact columns go together: {', '.join(CONTACT_COLUMNS)}"
        )
    return Columns(
        index=index,
        labels={f: header[i].strip() for f, i in index.items()},
        width=len(header),
        ignored=tuple(ignored),
        unnamed=tuple(unnamed),
    )
