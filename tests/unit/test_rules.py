"""Small rules with no I/O: tokens, identity normalisation, text hygiene, settings, addresses."""

from __future__ import annotations

import inspect
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.core import tokens
from frontdesk.core.config import ConfigError, Settings, load_settings
from frontdesk.core.emails import InvalidEmail, likely_typo, mask_email, normalize_email
from frontdesk.core.identity import last_names_match, normalize_last_name, parse_date_strict
from frontdesk.core.text import has_controls, search_key, single_line, strip_controls


def test_tokens_are_256_bit_url_safe_and_unique() -> None:
    batch = [tokens.new_token() for _ in range(100_000)]
    assert len(set(batch)) == len(batch)
    assert all(tokens.looks_like_token(t) for t in batch[:1000])
    assert len(batch[0]) == 43
    source = inspect.getsource(tokens)
    assert "import random" not in source and "uuid" not in source
    assert "secrets.token_urlsafe" in source


def test_token_digest_and_constant_time_compare() -> None:
    token = tokens.new_token()
    assert tokens.digest(token) != token and len(tokens.digest(token)) == 64
    assert tokens.same(token, token) and not tokens.same(token, token[:-1] + "x")
    assert not tokens.looks_like_token("../../etc/passwd")
    assert not tokens.looks_like_token("a" * 42 + "\u00e9")


@pytest.mark.parametrize(
    ("typed", "chart", "match"),
    [
        ("O'Brien", "O’Brien", True),
        ("GARCÍA", "García", True),
        ("Ng ", "ng", True),
        ("  van   der Berg ", "Van der Berg", True),
        ("Smith-Jones", "Smith‐Jones", True),  # U+2010 hyphen
        ("Smith – Jones", "Smith-Jones", True),
        ("ＯＢｒｉｅｎ", "OBrien", True),  # NFKC full-width
        ("", "", False),
        # SECURITY.md R3: Latin letters fold to their plain base (phones, US keyboards)
        ("garcia", "García", True),
        ("Muller", "Müller", True),
        ("Walesa", "Wałęsa", True),  # ł has a stroke, ę a mark
        ("Yildiz", "Yıldız", True),  # dotless ı
        ("Oster", "Øster", True),
        ("Nguyen", "Nguyễn", True),  # two marks on one letter
        ("Strasse", "Straße", True),
        ("Aesir", "Æsir", True),
        ("Dvorak", "Dvořák", True),
        ("Sanchez-Nunez", "Sánchez-Núñez", True),
        # ... and what must still differ: letters are never guessed, other scripts keep marks
        ("Garza", "García", False),
        ("Muler", "Müller", False),
        ("Mueller", "Müller", False),  # no transliteration, only marks dropped
        ("Garcia", "Garcias", False),
        ("Иванов", "Іванов", False),  # Cyrillic и vs Ukrainian і
        ("и", "й", False),  # a Cyrillic letter keeps its mark
        ("αθηνα", "αθήνα", False),  # Greek keeps its tonos
        ("O Brien", "OBrien", False),
    ],
)
def test_last_name_normalisation_table(typed: str, chart: str, match: bool) -> None:
    assert last_names_match(typed, chart) is match


@given(st.text())
def test_normalisation_never_crashes_and_is_idempotent(value: str) -> None:
    once = normalize_last_name(value)
    assert normalize_last_name(once) == once
    assert once == once.strip()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1985-03-04", date(1985, 3, 4)),
        (" 1985-03-04 ", date(1985, 3, 4)),
        ("1985-02-30", None),
        ("03/04/1985", None),
        ("19850304", None),
        ("1985-3-4", None),
        ("١٩٨٥-٠٣-٠٤", None),  # non-ASCII digits
        ("", None),
    ],
)
def test_strict_dates(text: str, expected: date | None) -> None:
    assert parse_date_strict(text) == expected


def test_control_characters_are_removed() -> None:
    hostile = "Doe\x1b]52;c;RVZJTA==\x1b\\ \x9b31m\u202eevil\x07"
    cleaned = strip_controls(hostile)
    assert "\x1b" not in cleaned and "\x9b" not in cleaned and "\u202e" not in cleaned
    assert cleaned == "Doe]52;c;RVZJTA==\\ 31mevil"
    assert has_controls("a\nb") and not has_controls("a\nb", allow_newlines=True)
    assert single_line("a\r\nb") == "a  b"
    assert search_key("  GARCÍA  López ") == "garcia lopez"


@given(st.text())
def test_no_control_character_survives(value: str) -> None:
    cleaned = single_line(value)
    assert not has_controls(cleaned)


def test_email_addresses() -> None:
    assert normalize_email(" Ana@Example.COM ") == "Ana@example.com"
    for bad in ["", "ana", "ana@", "a@b.test\r\nBcc: x@evil.test", "a b@example.com"]:
        with pytest.raises(InvalidEmail):
            normalize_email(bad)
    assert likely_typo("ana@gmial.com") == "ana@gmail.com"
    assert likely_typo("ana@yahooo.com") == "ana@yahoo.com"
    assert likely_typo("ana@example.con") == "ana@example.com"
    assert likely_typo("ana@example.com") is None
    assert mask_email("ana@example.com") == "a…@example.com"


def test_settings_rules(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="https"):
        Settings(public_url="http://portal.example.com").validated()
    Settings(public_url="http://127.0.0.1:8080").validated()
    Settings(public_url="https://portal.example.com").validated()
    with pytest.raises(ConfigError, match="loopback"):
        Settings(smtp_security="none", smtp_host="mail.example.com").validated()
    config = tmp_path / "config.toml"
    config.write_text('smtp_password = "hunter2"\n')
    with pytest.raises(ConfigError, match="must not be stored"):
        load_settings(config, env={})
    config.write_text('smtp_host = "mail.example.com"\nsmtp_port = 465\n')
    loaded = load_settings(config, env={"FRONTDESK_SMTP_PORT": "2525"})
    assert loaded.smtp_host == "mail.example.com" and loaded.smtp_port == 2525
    config.write_text("nonsense = 1\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(config, env={})
    config.write_text("not toml [")
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(config, env={})
    with pytest.raises(ConfigError, match="not a valid value"):
        load_settings(tmp_path / "none.toml", env={"FRONTDESK_SMTP_PORT": "abc"})


@pytest.mark.parametrize(
    ("seconds_left", "shown"),
    [
        (7 * 86400 - 5, "expires in 7 days"),  # a link sent a moment ago (real clock)
        (6 * 86400, "expires in 6 days"),
        (2 * 86400 + 3600, "expires in 2 days"),
    ],
)
def test_invited_detail_rounds_to_the_nearest_day(seconds_left: float, shown: str) -> None:
    from frontdesk.access.status import PortalStatus, StatusInfo

    assert StatusInfo(PortalStatus.INVITED, seconds_left=seconds_left).detail == shown
