"""The accounts package's errors, one tree, so callers catch ``AccountError`` at their boundary.

AccountError
├── InvalidCredentials   unknown user, wrong password or disabled account: one message for all (HTTP 401)
├── AccountExists        the username is taken
├── AccountNotFound      no account with that username
└── InvalidAccount       a username, display name or role that is not allowed
    └── WeakPassword     a password shorter than the minimum
"""

from __future__ import annotations


class AccountError(Exception):
    """Base of every error raised by ``accounts``."""


class InvalidCredentials(AccountError):
    """Login refused; deliberately silent on whether the user exists."""

    def __init__(self) -> None:
        super().__init__("username or password is wrong")


class AccountExists(AccountError):
    def __init__(self, username: str) -> None:
        super().__init__(f"an account named {username!r} exists already")
        self.username = username


class AccountNotFound(AccountError):
    def __init__(self, username: str) -> None:
        super().__init__(f"no account named {username!r}")
        self.username = username


class InvalidAccount(AccountError):
    """A field of a new or changed account is not allowed; the message names it and the value."""


class WeakPassword(InvalidAccount):
    pass
