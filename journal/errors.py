"""The journal package's errors, one tree, so callers catch ``JournalError`` at their boundary.

JournalError
├── MessageNotFound   no message with that id was said to (or by) that sender: the same error
│                     whether the id exists for someone else or not at all, so ids cannot be probed
└── InvalidEntry      a role, decision or text the journal does not keep (also a ValueError)
"""

from __future__ import annotations


class JournalError(Exception):
    """Base of every error raised by ``journal``."""


class MessageNotFound(JournalError, LookupError):
    def __init__(self, sender_id: str, message_id: str):
        self.sender_id = sender_id
        self.message_id = message_id
        super().__init__(f"no message {message_id!r} in the conversation of {sender_id!r}")


class InvalidEntry(JournalError, ValueError):
    """The message names the field and the value that was refused."""
