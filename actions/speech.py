"""Sending a reply with what it does: the kind and the records travel with the text.

Rasa's REST channel passes a message's ``custom`` JSON on as a message of its
own right after the text; the service joins the two again and keeps the kind
with the message in the journal (``service.conversation``). The channels and
the figures then count answers, clarifications and refusals without reading
the bot's wording.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.answers import Reply

META_KEY = "daoban"


def meta(kind: str, about: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    return {META_KEY: {"kind": kind, "about": list(about)}}


def say(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    dispatcher.utter_message(text=reply.text, buttons=reply.buttons or None, json_message=meta(reply.kind, reply.about))


def say_text(dispatcher: CollectingDispatcher, text: str, kind: str, buttons: list[dict[str, str]] | None = None,
             about: tuple[str, ...] = ()) -> None:
    dispatcher.utter_message(text=text, buttons=buttons or None, json_message=meta(kind, about))
