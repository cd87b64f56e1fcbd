"""``AccountBook``: create accounts, log in, check a session token, log out.

A token is ``secrets.token_urlsafe(32)`` (256 bits), handed to the client once;
the database keeps only its SHA-256, so ``authenticate`` hashes what it is given
and looks that up. A session ends at ``expires_at``, at logout, when the
password changes, or when the account is disabled.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from accounts.errors import AccountExists, AccountNotFound, InvalidAccount, InvalidCredentials, WeakPassword
from accounts.passwords import DUMMY_HASH, MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password
from accounts.tables import ROLES, AccountRow, SessionRow

USERNAME = re.compile(r"^[a-z0-9_.\-]{3,40}$")
MAX_DISPLAY_NAME = 120

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    active: bool
    created_at: datetime

    def has_role(self, role: str) -> bool:
        """Admins pass every role check."""
        return role in self.roles or "admin" in self.roles


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountBook:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def create(self, username: str, password: str, roles: Iterable[str], display_name: str | None = None) -> Account:
        roles = _check_roles(roles)
        _check_username(username)
        _check_password(password)
        display_name = (display_name or username).strip()
        if not display_name or len(display_name) > MAX_DISPLAY_NAME:
            raise InvalidAccount(f"display name must be 1 to {MAX_DISPLAY_NAME} characters, got {len(display_name)}")
        values = {"username": username, "display_name": display_name, "password_hash": hash_password(password),
                  "roles": list(roles), "active": True, "created_at": _utc(self.clock())}
        try:
            with self.engine.begin() as connection:
                if connection.scalar(select(AccountRow.id).where(AccountRow.username == username)) is not None:
                    raise AccountExists(username)
                values["id"] = connection.execute(insert(AccountRow).values(**values)).inserted_primary_key[0]
        except IntegrityError:  # another writer took the name between the check and the insert
            raise AccountExists(username) from None
        return _account(values)

    def login(self, username: str, password: str, now: datetime | None = None,
              ttl: timedelta = timedelta(hours=8)) -> tuple[str, datetime]:
        """A new session's token and when it expires; ``InvalidCredentials`` for any reason it is refused."""
        if ttl <= timedelta(0):
            raise ValueError(f"ttl must be > 0, got {ttl}")
        now = _utc(now or self.clock())
        row = self._row(username)
        if row is None:
            verify_password(DUMMY_HASH, password)  # same cost as a wrong password: no user enumeration by timing
            raise InvalidCredentials()
        if not verify_password(row.password_hash, password) or not row.active:
            raise InvalidCredentials()
        token = secrets.token_urlsafe(32)
        expires_at = now + ttl
        with self.engine.begin() as connection:
            if needs_rehash(row.password_hash):
                connection.execute(update(AccountRow).where(AccountRow.id == row.id)
                                   .values(password_hash=hash_password(password)))
            connection.execute(insert(SessionRow).values(
                token_hash=hash_token(token), account_id=row.id, created_at=now, expires_at=expires_at,
            ))
        return token, expires_at

    def authenticate(self, token: str, now: datetime | None = None) -> Account | None:
        """The account a live session belongs to; None when the token is unknown, expired, revoked or disabled."""
        if not token:
            return None
        now = _utc(now or self.clock())
        with self.engine.connect() as connection:
            found = connection.execute(
                select(AccountRow, SessionRow.expires_at, SessionRow.revoked_at)
                .join(SessionRow, SessionRow.account_id == AccountRow.id)
                .where(SessionRow.token_hash == hash_token(token))
            ).first()
        if found is None:
            return None
        account, expires_at, revoked_at = _account(found._mapping), found.expires_at, found.revoked_at
        if revoked_at is not None or _from_db(expires_at) <= now or not account.active:
            return None
        return account

    def logout(self, token: str) -> bool:
        """End the session; True when there was a live one."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(SessionRow).where(SessionRow.token_hash == hash_token(token), SessionRow.revoked_at.is_(None))
                .values(revoked_at=_utc(self.clock()))
            )
        return result.rowcount > 0

    def set_password(self, username: str, password: str) -> None:
        """Change the password and end every session of the account."""
        _check_password(password)
        self._update(username, password_hash=hash_password(password))

    def set_active(self, username: str, active: bool) -> None:
        """Enable or disable an account; disabling ends its sessions."""
        self._update(username, active=active)

    def get(self, username: str) -> Account:
        row = self._row(username)
        if row is None:
            raise AccountNotFound(username)
        return _account(row._mapping)

    def list(self) -> list[Account]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(AccountRow).order_by(AccountRow.username)).all()
        return [_account(r._mapping) for r in rows]

    def _row(self, username: str) -> Row | None:
        with self.engine.connect() as connection:
            return connection.execute(select(AccountRow).where(AccountRow.username == username)).first()

    def _update(self, username: str, **values: object) -> None:
        now = _utc(self.clock())
        with self.engine.begin() as connection:
            account_id = connection.scalar(select(AccountRow.id).where(AccountRow.username == username))
            if account_id is None:
                raise AccountNotFound(username)
            connection.execute(update(AccountRow).where(AccountRow.id == account_id).values(**values))
            connection.execute(
                update(SessionRow).where(SessionRow.account_id == account_id, SessionRow.revoked_at.is_(None))
                .values(revoked_at=now)
            )


def _check_username(username: str) -> None:
    if not USERNAME.match(username):
        raise InvalidAccount(
            f"username must be 3 to 40 of a-z, 0-9, '_', '.', '-', got {username!r}"
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must be at least {MIN_PASSWORD_LENGTH} characters, got {len(password)}")


def _check_roles(roles: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(roles))
    unknown = [r for r in chosen if r not in ROLES]
    if unknown or not chosen:
        raise InvalidAccount(f"roles must be one or more of {', '.join(ROLES)}, got {list(chosen)}")
    return chosen


def _account(m: Mapping[str, Any]) -> Account:
    return Account(id=m["id"], username=m["username"], display_name=m["display_name"], roles=tuple(m["roles"]),
                   active=bool(m["active"]), created_at=_from_db(m["created_at"]))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is needed, got {moment!r}")
    return moment.astimezone(timezone.utc)


def _from_db(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
