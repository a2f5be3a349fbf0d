"""The add-user and delete-user forms: what each field must hold, and what a person reads when it does not."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

NAME_MAX = 100
"""Characters in a first or last name; longer is refused rather than cut."""
EMAIL_MAX = 254
"""Characters in an email address: the longest one SMTP can carry (RFC 5321 path limit)."""
PASSWORD_MIN = 8
PASSWORD_MAX = 128
"""Characters; the cap bounds the work one request can ask of the password hash."""

# Deliberately loose: one @, no spaces, a dot in the domain. Only sending mail proves an address.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


@dataclass(frozen=True, slots=True)
class NewUser:
    """A valid add-user form; the password is still plaintext and must be hashed before it is stored."""

    first_name: str
    last_name: str
    email: str
    password: str = field(repr=False)


class InvalidForm(ValueError):
    """The form was refused; ``problems`` are whole sentences for the page, one per field at most."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(char) == "Cc" for char in text)


def _name(form: Mapping[str, str], key: str, label: str, problems: list[str]) -> str:
    value = form.get(key, "").strip()
    if not value:
        problems.append(f"{label} is required.")
    elif len(value) > NAME_MAX:
        problems.append(f"{label} must be at most {NAME_MAX} characters (it has {len(value)}).")
    elif _has_control_characters(value):
        problems.append(f"{label} must not contain control characters such as tabs or line breaks.")
    return value


def parse_new_user(form: Mapping[str, str]) -> NewUser:
    """The user the form describes; InvalidForm listing every problem when it does not describe one."""
    problems: list[str] = []
    first_name = _name(form, "first_name", "First name", problems)
    last_name = _name(form, "last_name", "Last name", problems)
    email = form.get("email", "").strip()
    if not email:
        problems.append("Email is required.")
    elif len(email) > EMAIL_MAX:
        problems.append(f"Email must be at most {EMAIL_MAX} characters.")
    elif not _EMAIL.fullmatch(email):
        problems.append("Email must look like name@example.com.")
    password = form.get("password", "")
    if len(password) < PASSWORD_MIN:
        problems.append(f"Password must be at least {PASSWORD_MIN} characters.")
    elif len(password) > PASSWORD_MAX:
        problems.append(f"Password must be at most {PASSWORD_MAX} characters.")
    if problems:
        raise InvalidForm(problems)
    return NewUser(first_name=first_name, last_name=last_name, email=email, password=password)


def parse_user_id(form: Mapping[str, str]) -> int:
    """The id of the delete form; InvalidForm unless it is a positive whole number PostgreSQL's int holds."""
    text = form.get("id", "").strip()
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**31:
        raise InvalidForm([f"User id must be a positive whole number, not {text!r}."])
    return int(text)
