"""What was said in the citizens' conversations and how it was rated; see ``journal.log``."""

from journal.errors import InvalidEntry, JournalError, MessageNotFound
from journal.log import (
    DECISIONS,
    ROLES,
    ChatJournal,
    Conversation,
    JournalMessage,
    Rating,
    TodoGroup,
    normalise_question,
)
from journal.sources import CitedGuide, GuideNames, GuideRef, cited_guide

__all__ = [
    "DECISIONS", "ROLES", "ChatJournal", "CitedGuide", "Conversation", "GuideNames", "GuideRef", "InvalidEntry",
    "JournalError", "JournalMessage", "MessageNotFound", "Rating", "TodoGroup", "cited_guide", "normalise_question",
]
