"""Reading a CSV file as practices export it: the file's checks, its encoding, its delimiter and
its records, streamed line by line (a file of 100,000 charts is never held in memory).

- A file that is not CSV at all (a spreadsheet's binary: an .xlsx zip, an old OLE .xls; a PDF;
  binary data; an empty file) is refused in one line that says what it is and what to do.
- Encoding: UTF-8, with or without a byte-order mark, unless `encoding` names another. A file
  that is not UTF-8 is refused with the line, a guess of what it is and the exact option.
- Delimiter: comma, semicolon, tab or a vertical bar, found from the header line (the one that
  splits it into the most columns we know, then the most columns), unless `delimiter` names one.
- Records keep the line a record starts on (a quoted field may span lines); blank lines are
  skipped. Nothing here knows what the columns mean (see `import_header`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from frontdesk.core.errors import FrontDeskError
from frontdesk.core.text import single_line

MAX_FILE_BYTES = 50_000_000
MAX_ROWS = 100_000
HEAD_BYTES = 65_536
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
_DETECTED = (",", ";", "\t", "|")
_NEWLINE = re.compile(rb"\r\n|\r|\n")

# Encodings a person names, as we say them back.
_ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "cp1252": "Windows-1252",
    "mac-roman": "Mac Roman",
    "latin-1": "Latin-1",
    "iso8859-1": "Latin-1",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
}
_SAVE_AS_CSV = "in Excel use File › Save As › “CSV UTF-8 (Comma delimited)” and import that file"
_SIGNATURES = (
    (b"PK\x03\x04", f"it is an Excel workbook or another zip file (.xlsx); {_SAVE_AS_CSV}"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        f"it is an old Excel workbook (.xls) or another Office file; {_SAVE_AS_CSV}",
    ),
    (b"%PDF", "it is a PDF; export the charts from the EHR or spreadsheet as CSV instead"),
)


class ImportFileError(FrontDeskError):
    """The file cannot be imported at all (unreadable, not CSV, bad header); one line."""


@dataclass(frozen=True)
class FileFormat:
    """How the file was read."""

    encoding: str  # a Python codec name ("utf-8-sig" for UTF-8 with or without a BOM)
    delimiter: str

    @property
    def encoding_name(self) -> str:
        return encoding_label(self.encoding)

    @property
    def delimiter_name(self) -> str:
        return DELIMITERS.get(self.delimiter, repr(self.delimiter))


def encoding_label(codec: str) -> str:
    """ "UTF-8", "Windows-1252", ... for a codec name."""
    name = codecs.lookup(codec).name
    return _ENCODING_NAMES.get(name, name)


def check_encoding(name: str) -> str:
    """The codec name for `name` (UTF-8 always allows a byte-order mark), or ImportFileError."""
    try:
        codec = codecs.lookup(name.strip())
    except (LookupError, ValueError):
        raise ImportFileError(
            f"unknown encoding {single_line(name)!r} (for example: utf-8, cp1252, mac_roman, "
            "utf-16)"
        ) from None
    if not getattr(codec, "_is_text_encoding", True):  # "rot13", "zlib", "base64"
        raise ImportFileError(f"{single_line(name)!r} is not a text encoding") from None
    return "utf-8-sig" if codec.name == "utf-8" else codec.name


class CsvSource:
    """One CSV file: checked and its header read on opening; `records()` streams the rows
    (each call reads the file again from the start, for a transaction that is retried)."""

    def __init__(
        self,
        path: Path,
        *,
        encoding: str | None = None,
        delimiter: str | None = None,
        recognize: Callable[[str], bool] = lambda _name: False,
    ) -> None:
        self.path = path
        self.name = single_line(str(path))
        self.size = _check_file(path, self.name)
        with _open(path, self.name) as raw:
            head = raw.read(HEAD_BYTES)
        self._given_encoding = encoding is not None
        codec = check_encoding(encoding) if encoding is not None else "utf-8-sig"
        _check_head(head, self.name, codec, given=self._given_encoding)
        if codec == "utf-8-sig" and not self._given_encoding:
            self._check_utf8(head, complete=len(head) < HEAD_BYTES)
        self.bytes_read = 0
        header_text = self._first_line(codec)
        chosen = delimiter if delimiter is not None else _detect_delimiter(header_text, recognize)
        self.format = FileFormat(codec, chosen)
        self.header: list[str] = []
        self.header_line = 0
        records = self._records(skip_header=False)
        try:
            for line, cells in records:
                self.header, self.header_line = cells, line
                break
        finally:
            records.close()
        if not any(cell.strip() for cell in self.header):
            raise ImportFileError(f"{self.name} is empty; the first line must name the columns")

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(line, cells) of every non-blank row after the header; ImportFileError on a line
        that cannot be decoded, broken CSV or too many rows."""
        for count, (line, cells) in enumerate(self._records(skip_header=True), start=1):
            if count > MAX_ROWS:
                raise ImportFileError(
                    f"{self.name} has more than {MAX_ROWS:,} rows; split the file"
                )
            yield line, cells

    # ---------------------------------------------------------------- reading

    def _first_line(self, codec: str) -> str:
        """The first non-blank line, decoded (for finding the delimiter)."""
        lines = self._lines(codec)
        try:
            for text in lines:
                if text.strip():
                    return text
        finally:
            lines.close()
        raise ImportFileError(f"{self.name} is empty; the first line must name the columns")

    def _records(self, *, skip_header: bool) -> Generator[tuple[int, list[str]], None, None]:
        reader = csv.reader(
            self._lines(self.format.encoding), delimiter=self.format.delimiter, strict=True
        )
        previous_end = 0
        header_seen = False
        try:
            for record in reader:
                line = previous_end + 1
                previous_end = reader.line_num
                if not any(cell.strip() for cell in record):
                    continue
                if skip_header and not header_seen:
                    header_seen = True
                    continue
                yield line, record
        except csv.Error as exc:
            raise ImportFileError(
                f"{self.name} is not valid CSV (line {reader.line_num}): {exc}"
            ) from None

    def _lines(self, codec: str) -> Generator[str, None, None]:
        """The file's lines, decoded, each with its line ending (what csv.reader wants)."""
        self.bytes_read = 0
        with _open(self.path, self.name) as raw:
            if _ascii_compatible(codec):
                yield from self._decoded(raw, codec)
            else:
                yield from self._wide(raw, codec)

    def _decoded(self, raw: BinaryIO, codec: str) -> Iterator[str]:
        """Lines of an encoding where line ends and delimiters are single ASCII bytes: split
        on bytes, decoded one line at a time, so a bad byte is found at its own line."""
        decode = codecs.getdecoder("utf-8" if codec == "utf-8-sig" else codec)
        for number, chunk in enumerate(_physical_lines(raw), start=1):
            self.bytes_read += len(chunk)
            if number == 1 and codec == "utf-8-sig" and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8) :]
            try:
                yield decode(chunk)[0]
            except UnicodeError:
                raise ImportFileError(self._undecodable(number, chunk, codec)) from None

    def _wide(self, raw: BinaryIO, codec: str) -> Iterator[str]:
        """Lines of a wider encoding (UTF-16, UTF-32), decoded by a text stream."""
        text = io.TextIOWrapper(raw, encoding=codec, errors="strict", newline="")
        number = 0
        try:
            for line in text:
                number += 1
                self.bytes_read = raw.tell()
                yield line
        except UnicodeError:
            raise ImportFileError(
                f"{self.name} cannot be read as {encoding_label(codec)} (near line {number + 1}); "
                "check the --encoding"
            ) from None
        finally:
            text.detach()

    def _check_utf8(self, head: bytes, *, complete: bool) -> None:
        """Refuse a file that is not UTF-8 before anything else is said about it (its header
        would look wrong too): the first bytes are decoded at once."""
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
        except UnicodeDecodeError as exc:
            before = _NEWLINE.findall(head, 0, exc.start)
            start = max(head.rfind(b"\n", 0, exc.start), head.rfind(b"\r", 0, exc.start)) + 1
            found = _NEWLINE.search(head, exc.start)
            chunk = head[start : found.start() if found else len(head)]
            raise ImportFileError(self._undecodable(len(before) + 1, chunk, "utf-8")) from None

    def _undecodable(self, line: int, chunk: bytes, codec: str) -> str:
        if self._given_encoding:
            return (
                f"{self.name} cannot be read as {encoding_label(codec)} (line {line}); "
                "check the --encoding"
            )
        guess, option = guess_encoding(chunk)
        return (
            f"{self.name} is not UTF-8 text (line {line}); it looks like {guess}: import it "
            f"with --encoding {option}, or save it as “CSV UTF-8”"
        )


def guess_encoding(data: bytes) -> tuple[str, str]:
    """What non-UTF-8 text most likely is: (words for people, the --encoding value)."""
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "Mac Roman (an older Mac export)", "mac_roman"
    return "Windows-1252 (what Excel's plain “CSV” writes on Windows)", "cp1252"


def _check_file(path: Path, name: str) -> int:
    try:
        if path.is_dir():
            raise ImportFileError(f"{name} is a folder, not a CSV file")
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImportFileError(f"cannot read {name}: no such file") from None
    except PermissionError:
        raise ImportFileError(f"cannot read {name}: permission denied") from None
    except OSError as exc:
        raise ImportFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    if size > MAX_FILE_BYTES:
        raise ImportFileError(
            f"{name} is {size / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES // 10**6} MB "
            "(split the file)"
        )
    return size


def _open(path: Path, name: str) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise ImportFileError(f"cannot read {name}: no such file") from None
    except PermissionError:
        raise ImportFileError(f"cannot read {name}: permission denied") from None
    except OSError as exc:
        raise ImportFileError(f"cannot read {name}: {exc.strerror or exc}") from None


def _check_head(head: bytes, name: str, codec: str, *, given: bool) -> None:
    """Refuse, in one line, what is not CSV text at all."""
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise ImportFileError(f"{name} does not look like a CSV file: {what}")
    wide = codecs.lookup(codec).name.startswith(("utf-16", "utf-32"))
    if not given:
        for bom, option in (
            (codecs.BOM_UTF32_LE, "utf-32"),
            (codecs.BOM_UTF32_BE, "utf-32"),
            (codecs.BOM_UTF16_LE, "utf-16"),
            (codecs.BOM_UTF16_BE, "utf-16"),
        ):
            if head.startswith(bom):
                raise ImportFileError(
                    f"{name} is not UTF-8 text (line 1); it is {option.upper()} (Excel's "
                    f"“Unicode Text”): import it with --encoding {option}, or save it as "
                    "“CSV UTF-8”"
                )
    if not wide and b"\x00" in head:
        if not given and _looks_utf16(head):
            raise ImportFileError(
                f"{name} is not UTF-8 text (line 1); it looks like UTF-16: import it with "
                "--encoding utf-16, or save it as “CSV UTF-8”"
            )
        raise ImportFileError(f"{name} does not look like a CSV file (it holds binary data)")
    if not head.removeprefix(codecs.BOM_UTF8).strip():
        raise ImportFileError(f"{name} is empty; the first line must name the columns")


def _looks_utf16(head: bytes) -> bool:
    """Mostly ASCII text written two bytes a character (every other byte zero)."""
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return False
    zeros_even = sample[0::2].count(0)
    zeros_odd = sample[1::2].count(0)
    half = len(sample) // 2
    return max(zeros_even, zeros_odd) > 0.7 * half and min(zeros_even, zeros_odd) < 0.1 * half


def _ascii_compatible(codec: str) -> bool:
    """Whether line ends, quotes and delimiters are the ASCII bytes themselves, never part of
    another character (UTF-8, the Windows and ISO code pages; not UTF-16)."""
    if codec == "utf-8-sig":
        return True
    probe = '\r\n",;\t|'
    try:
        return probe.encode(codec) == probe.encode("ascii")
    except (UnicodeError, LookupError):
        return False


def _physical_lines(raw: BinaryIO) -> Iterator[bytes]:
    """Lines as bytes, each with its ending: CRLF, LF or a lone CR (old Mac files)."""
    pending = b""
    while True:
        block = raw.read(1 << 20)
        if not block:
            break
        data = pending + block
        start = 0
        for match in _NEWLINE.finditer(data):
            if match.group() == b"\r" and match.end() == len(data):
                break  # a CR at the end of the block: its LF may come in the next one
            yield data[start : match.end()]
            start = match.end()
        pending = data[start:]
    if pending:
        yield pending


def _detect_delimiter(line: str, recognize: Callable[[str], bool]) -> str:
    """The delimiter that splits the header line into the most recognised columns, then into
    the most columns; a comma when nothing tells them apart."""

    def score(delimiter: str) -> tuple[int, int, int]:
        try:
            cells = next(csv.reader([line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            return (0, 0, 0)
        known = sum(1 for cell in cells if recognize(cell))
        return (known, len(cells), -_DETECTED.index(delimiter))

    return max(_DETECTED, key=score)
