"""Settings: one typed object, read from a TOML file and overridden by FRONTDESK_* variables.

This module owns every path FrontDesk uses (platformdirs), so nothing else guesses where files live.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

from frontdesk.core.errors import FrontDeskError

APP_NAME = "frontdesk"


class ConfigError(FrontDeskError):
    """The configuration cannot be used; the message is one line for a person."""


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_database_url() -> str:
    return f"sqlite:///{user_data_dir() / 'frontdesk.db'}"


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and addresses in 127.0.0.0/8 or ::1."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SMTP_SECURITY_CHOICES = ("starttls", "tls", "none")
IMAP_SECURITY_CHOICES = ("tls", "starttls")  # no plaintext IMAP, not even on loopback


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Defaults are the documented ones (README, DESIGN.md)."""

    database_url: str = field(default_factory=default_database_url)
    public_url: str = "http://127.0.0.1:8080"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_ca_file: str | None = None
    smtp_timeout: float = 30.0
    mail_from: str | None = None
    trusted_proxies: tuple[str, ...] = ()
    # Bounces read back (issue 16): the envelope sender and the mailbox it lands in.
    bounce_address: str | None = None  # default: mail_from
    # Tag each email's envelope sender (VERP). Off for a relay that refuses or rewrites a
    # sender other than the login's own address: bounces are then matched by Message-ID only.
    bounce_tags: bool = True
    imap_host: str | None = None  # unset: bounces are not read
    imap_port: int = 993
    imap_security: str = "tls"
    imap_username: str | None = None
    imap_password: str | None = field(default=None, repr=False)
    imap_ca_file: str | None = None
    imap_folder: str = "INBOX"

    def validated(self) -> Settings:
        """Check what can be checked without I/O; raise ConfigError on the first bad value."""
        parts = urlsplit(self.public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"FRONTDESK_PUBLIC_URL must be an http(s) URL, got {self.public_url!r}"
            )
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ConfigError(
                "FRONTDESK_PUBLIC_URL must use https:// unless its host is loopback "
                f"(got {self.public_url!r})"
            )
        if parts.query or parts.fragment:
            raise ConfigError("FRONTDESK_PUBLIC_URL must not carry a query or fragment")
        if self.smtp_security not in SMTP_SECURITY_CHOICES:
            raise ConfigError(
                "FRONTDESK_SMTP_SECURITY must be one of starttls, tls, none "
                f"(got {self.smtp_security!r})"
            )
        if self.smtp_security == "none" and not is_loopback_host(self.smtp_host):
            raise ConfigError(
                "FRONTDESK_SMTP_SECURITY=none is allowed only for a loopback mail server "
                f"(host is {self.smtp_host!r})"
            )
        if not 0 < self.smtp_port < 65536:
            raise ConfigError(f"FRONTDESK_SMTP_PORT must be 1-65535 (got {self.smtp_port})")
        self._validate_bounces()
        return self

    def _validate_bounces(self) -> None:
        bounce = self.bounce_address
        if bounce is not None and (
            bounce.count("@") != 1
            or not all(bounce.split("@"))
            or any(c.isspace() or c in '<>",' for c in bounce)
        ):
            raise ConfigError(
                f"FRONTDESK_BOUNCE_ADDRESS must be one email address (got {bounce!r})"
            )
        if self.imap_security not in IMAP_SECURITY_CHOICES:
            raise ConfigError(
                f"FRONTDESK_IMAP_SECURITY must be tls or starttls (got {self.imap_security!r})"
            )
        if not 0 < self.imap_port < 65536:
            raise ConfigError(f"FRONTDESK_IMAP_PORT must be 1-65535 (got {self.imap_port})")

    @property
    def bounce_mailbox(self) -> str | None:
        """The envelope sender bounces go to: FRONTDESK_BOUNCE_ADDRESS, else the From address."""
        return self.bounce_address or self.mail_from

    def envelope_tag(self, tag: str | None) -> str | None:
        """The tag an email's envelope sender carries (None when tags are off)."""
        return tag if self.bounce_tags else None

    @property
    def public_base(self) -> str:
        """The public URL without a trailing slash."""
        return self.public_url.rstrip("/")

    @property
    def public_is_https(self) -> bool:
        return urlsplit(self.public_url).scheme == "https"


_ENV_PREFIX = "FRONTDESK_"
_INT_FIELDS = {"smtp_port", "imap_port"}
_FLOAT_FIELDS = {"smtp_timeout"}
_TUPLE_FIELDS = {"trusted_proxies"}
_BOOL_FIELDS = {"bounce_tags"}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _coerce(name: str, value: object, origin: str) -> object:
    try:
        if name in _INT_FIELDS:
            return int(str(value))
        if name in _FLOAT_FIELDS:
            return float(str(value))
        if name in _BOOL_FIELDS:
            if isinstance(value, bool):
                return value
            word = str(value).strip().lower()
            if word not in _TRUE | _FALSE:
                raise ValueError(word)
            return word in _TRUE
        if name in _TUPLE_FIELDS:
            if isinstance(value, list | tuple):
                return tuple(str(v) for v in value)
            return tuple(p.strip() for p in str(value).split(",") if p.strip())
    except ValueError:
        raise ConfigError(f"{origin}: {value!r} is not a valid value") from None
    if value == "":
        return None if name != "public_url" else value
    return str(value)


def config_path(env: Mapping[str, str]) -> Path:
    explicit = env.get("FRONTDESK_CONFIG")
    return Path(explicit) if explicit else user_config_dir() / "config.toml"


def load_settings(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    validate: bool = True,
    **overrides: object,
) -> Settings:
    """Build Settings: defaults < TOML file < FRONTDESK_* environment < explicit overrides.

    The SMTP and IMAP passwords are never read from the file (they belong in the keyring or,
    headless, in FRONTDESK_SMTP_PASSWORD / FRONTDESK_IMAP_PASSWORD). `validate=False` skips
    `Settings.validated()` (for `frontdesk doctor`, which reports each bad value as a failed
    check instead).
    """
    env = os.environ if env is None else env
    path = path or config_path(env)
    values: dict[str, object] = {}
    names = {f.name for f in fields(Settings)}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from None
        for key, value in data.items():
            if key not in names:
                raise ConfigError(f"{path}: unknown setting {key!r}")
            if key == "smtp_password":
                raise ConfigError(
                    f"{path}: the SMTP password must not be stored in the config file; "
                    "use `frontdesk smtp set-password`"
                )
            if key == "imap_password":
                raise ConfigError(
                    f"{path}: the IMAP password must not be stored in the config file; "
                    "use `frontdesk imap set-password`"
                )
            values[key] = _coerce(key, value, f"{path}: {key}")
    for name in names:
        env_name = _ENV_PREFIX + name.upper()
        if env_name in env:
            values[name] = _coerce(name, env[env_name], env_name)
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = replace(Settings(), **values)  # type: ignore[arg-type]
    return settings.validated() if validate else settings
