"""``POST /api/ratings``: a citizen says whether a message was useful (有用 / 没用).

Anonymous, like the chat: the citizen's cookie (``service.citizens``) and the
message id together are the proof of having received the message; any other
pair is 404, the same answer whether the message exists for someone else or
not at all. Rating again
replaces the rating. Answers rated 没用 reach the editors' to-do list.
"""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, HTTPException, Request, status

from journal.errors import MessageNotFound
from service.console_schemas import RatingRequest, RatingResponse
from service.deps import CitizensDep, JournalDep
from service.routes.chat import known_citizen

router = APIRouter(tags=["chat"])


@router.post("/api/ratings", response_model=RatingResponse, status_code=status.HTTP_201_CREATED)
def rate(body: RatingRequest, request: Request, citizens: CitizensDep, journal: JournalDep) -> RatingResponse:
    sender_id = known_citizen(request, citizens)
    try:
        rating = journal.rate(sender_id, body.message_id, body.useful, body.reason,
                              now=datetime.now(timezone.utc))
    except MessageNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this conversation has no such message to rate") from exc
    return RatingResponse(message_id=rating.message_id, useful=rating.useful)
