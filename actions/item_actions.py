"""Answering questions about items, bundles and cross-province entries.

The item a citizen means comes from the retrieval engine, never from an NLU
entity: adding a guide must not require retraining the dialogue model. NLU only
says which aspect is asked (materials, fee, …). What the rest of the turn means
depends on the conversation, read in this order:

1. A choice the citizen tapped (or typed: ``service.conversation`` reads typed
   replies against the offer first) is answered as chosen.
2. A message with nothing but aspect words ("要带啥", "多久") is about the guide
   in context, or about the guides just offered (asked again for that aspect).
3. With a guide in context, a follow-up may name another member of its family
   ("那补办呢", "企业的呢"), name another guide outright (a new topic), or ask
   about something inside this guide ("照片要几寸的"), which is answered by
   quoting the guide's own sentences; when the guide says nothing of it, the
   bot says so instead of refusing the whole conversation as out of scope.
4. Otherwise retrieval answers, asks which (several fit), or declines.

Two turns in a row the bot could not answer, it offers a person (a button);
it never hands the conversation over by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import (
    ASPECT_TITLES,
    CLARIFY,
    DECLINE,
    OTHER,
    Reply,
    answer_passages,
    answer_record,
    ask_district,
    ask_which_item,
    declined,
    guide_silent,
    not_cross_province,
    reoffer,
    suggest,
)
from actions.aspects import aspect_of, without_aspect_words
from actions.districts import DISTRICT_ASPECTS, district_named, needs_district
from actions.engine_provider import default_source
from actions.hall_provider import HallServices, default_hall
from actions.offers import parse_payload
from actions.safety import HOSTILE_TEXT, looks_like_injection
from actions.speech import say, say_text
from index.engine import RetrievalEngine, SearchResult
from index.families import swaps_subject
from index.live import EngineSource
from index.passages import Found
from knowledge.schema import Bundle, Item, Record

logger = logging.getLogger(__name__)

INTENT_ASPECTS = {
    "ask_materials": "materials",
    "ask_procedure": "procedure",
    "ask_time": "time",
    "ask_fee": "fee",
    "ask_place": "place",
    "ask_online": "online",
    "ask_cross_province": "cross_province",
    "ask_bundle": "bundle",
}
# A short aspect-only follow-up ("要钱吗？") is about the item already under discussion.
FOLLOW_UP_MAX_CHARS = 12
ELLIPTIC_MAX_CHARS = 12  # "那补办呢", "企业的呢": a longer message says what it is about
FAILURES_BEFORE_OFFER = 2
ACKNOWLEDGED = frozenset({"affirm", "deny", "stop"})  # NLU's bare yes/no: a question if it has words of one
ANYTHING_ELSE = "好的。还有什么可以帮您？"
RETRY_HINT = "您可以换个说法再问一次，或说“转人工”由工作人员帮您。"
EXAMPLES = 2


class ActionAnswerItem(Action):
    def __init__(self, source: EngineSource | None = None, hall: HallServices | None = None):
        self._source = source
        self._hall = hall

    def name(self) -> str:
        return "action_answer_item"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        source = self._source or default_source()
        return ItemConversation(source.engine(), tracker, dispatcher, lambda: self._hall or default_hall()).respond()


class ItemConversation:
    """One turn about items: what it means in this conversation (the module's docstring), and the reply."""

    def __init__(self, engine: RetrievalEngine, tracker: Tracker, dispatcher: CollectingDispatcher,
                 hall: Callable[[], HallServices], *, offer_person: bool = False):
        """``offer_person``: the citizen sounded like they wanted help (办不了, 咋整): a turn the bot can't
        answer offers a person at once instead of after the second failure."""
        self.engine = engine
        self.tracker = tracker
        self.dispatcher = dispatcher
        self._hall = hall
        self._offer_person = offer_person

    def respond(self) -> list[dict[str, Any]]:
        if looks_like_injection((self.tracker.latest_message.get("text") or "").strip()):  # before any look-up
            say_text(self.dispatcher, HOSTILE_TEXT, DECLINE)
            return []
        self.turn = turn = _Turn(self.engine, self.tracker)
        if turn.chosen and self.engine.record(turn.chosen):
            return self.answer(turn.chosen)
        if turn.intent == "inform" and turn.has_current:
            return self.answer(turn.current, turn.pending_aspect or turn.last_aspect or "overview")
        if turn.intent == "inform" and turn.named_district:
            say_text(self.dispatcher, f"好的，已记下您在{turn.named_district}办理。请问您要办理什么事项？", "other")
            return [SlotSet("district", turn.named_district)]
        if not turn.has_content:
            return self._without_content()
        picked = self._offer_read()
        if picked is not None:
            return picked
        current = self.engine.record(turn.current) if turn.has_current else None
        if current is not None:
            sibling = self._family_member(current)
            if sibling is not None:  # "那补办呢" asks what was asked before, unless its words ask something else
                return self.answer(sibling.code, aspect_of(turn.text) or turn.last_aspect or "overview")
        result = self.engine.search(turn.text)
        if current is not None and result.decision == "reject" and len(turn.text) <= ELLIPTIC_MAX_CHARS:
            # "那车过户呢" after 驾驶证换证: too short to be found alone, read with the guide in context
            contextual = self.engine.search(f"{current.name} {turn.text}")
            if contextual.decision != "reject" and contextual.shown[0].code != current.code:
                return self._search(contextual)
        if current is not None:
            events = self._follow_up(current, result)
            if events is not None:
                return events
        return self._search(result)

    def quote_current_guide(self) -> list[dict[str, Any]] | None:
        """The sentences of the guide in context that answer this message, if it has any that do."""
        self.turn = _Turn(self.engine, self.tracker)
        current = self.engine.record(self.turn.current) if self.turn.has_current else None
        found = self.engine.passages(current.code, self.turn.text) if current is not None else []
        if current is None or not found:
            return None
        say(self.dispatcher, answer_passages(current, found))
        return [SlotSet("failures", 0.0)]

    # ---- what the turn means ----------------------------------------------------------------------------------

    def _without_content(self) -> list[dict[str, Any]]:
        """"要带啥", "多久", a payload without an item: about the offer just made, or the guide in context;
        a bare yes or no ("好的", "不用") is acknowledged."""
        turn = self.turn
        if turn.intent in ACKNOWLEDGED and turn.aspect == "overview":
            say_text(self.dispatcher, ANYTHING_ELSE, OTHER)
            return []
        offered = turn.offered_records(self.engine)
        if offered and turn.aspect != "overview":
            say(self.dispatcher, reoffer([(r.code, r.kind, r.name) for r in offered], turn.aspect))
            return []
        if turn.has_current:
            return self.answer(turn.current)
        if turn.aspect != "overview":
            say(self.dispatcher, ask_which_item(turn.aspect, self.engine.example_names(EXAMPLES)))
            return []
        return self.failed("fallback")

    def _follow_up(self, current: Record, result: SearchResult) -> list[dict[str, Any]] | None:
        """A message with a guide in context; None when it is a question of its own, answered from ``result``."""
        turn = self.turn
        if turn.only_aspect or self._only_aspect_of(current):
            return self.answer(current.code)
        current, found = self._inside(current)
        other = result.shown[0] if result.decision == "answer" else None
        if other is not None and other.code != current.code:
            named = self.engine.record(other.code)
            if not found or (named is not None and _names_other_subject(self.engine, turn.text, named, current)):
                return None  # a new topic
        if found:
            say(self.dispatcher, answer_passages(current, found))
            logger.info("answered %s (v%d) from %d passage(s)", current.code, current.version, len(found))
            return [SlotSet("item_code", current.code), SlotSet("failures", 0.0)]
        short_aspect = turn.aspect != "overview" and len(turn.text) <= FOLLOW_UP_MAX_CHARS
        if short_aspect or (other is not None and other.code == current.code):
            return self.answer(current.code)
        if result.decision == "suggest" and not turn.off_topic:
            return None
        # clearly about something else: out of scope; about this guide but not in it: the guide is silent
        return self.failed("reject", silent_guide=None if turn.off_topic else current)

    def _offer_read(self) -> list[dict[str, Any]] | None:
        """A reply to the bot's choices in the citizen's own words ("我在厂里上班的" for 因务工申领), read against
        each choice as the guide describes it. The service took only replies that say nothing else; here the
        rest of the reply may be a story, unless it names a guide the choices are not about."""
        offered = self.turn.offered_choices(self.engine)
        if len(offered) < 2:
            return None
        labels = [o.label for o in offered]
        favoured = self.engine.words.favours(self.turn.text, labels)
        if favoured is None:
            return self._narrowed(offered, self.engine.words.leaders(self.turn.text, labels))
        code, situation = offered[favoured].code, offered[favoured].situation
        result = self.engine.search(self.turn.text)
        elsewhere = result.shown[0] if result.decision == "answer" else None
        if elsewhere is not None and elsewhere.code not in {o.code for o in offered}:
            other, chosen = self.engine.record(elsewhere.code), self.engine.record(code)
            if other is not None and chosen is not None and _names_other_subject(self.engine, self.turn.text, other,
                                                                                chosen):
                return None
        logger.info("reply read as offered choice %s %s", code, situation or "")
        if situation:
            self.turn.named_situation = situation
            return self.answer(code, "materials")
        # what was asked when the choice was offered, unless the reply's own words ask something else
        return self.answer(code, aspect_of(self.turn.text) or self.turn.offered_aspect or "overview")

    def _narrowed(self, offered: list[Offered], leaders: list[int]) -> list[dict[str, Any]] | None:
        """A reply that fits some of the choices alike ("在居住地办的" among four, two of them 居住地): those
        few are offered again."""
        if not 2 <= len(leaders) < len(offered):
            return None
        buttons = [{"title": offered[i].title, "payload": offered[i].payload} for i in leaders]
        say(self.dispatcher, Reply("符合您说的有以下几项，请点选或回复序号：", buttons, kind=CLARIFY,
                                   about=tuple(dict.fromkeys(offered[i].code for i in leaders))))
        return []

    def _only_aspect_of(self, current: Record) -> bool:
        """"在哪换" after 居民身份证换领: an aspect, and otherwise only words of the guide in context."""
        if self.turn.aspect not in ASPECT_TITLES:
            return False
        rest = self.engine.content_words(without_aspect_words(self.turn.text))
        return all(word in current.name for word in rest)

    def _inside(self, current: Record) -> tuple[Record, list[Found]]:
        """The sentences of the guide in context that answer the follow-up; for a 一件事 bundle, of the bundle
        or of the member item whose guide answers it best ("上户口最晚啥时候去" after 出生一件事)."""
        found = self.engine.passages(current.code, self.turn.text)
        if not isinstance(current, Bundle):
            return current, found
        best: tuple[Record, list[Found]] = (current, found)
        for code in current.item_codes:
            member = self.engine.record(code)
            inside = self.engine.passages(code, self.turn.text) if member is not None else []
            if member is not None and inside and (not best[1] or inside[0].score > best[1][0].score):
                best = (member, inside)
        return best

    def _family_member(self, current: Record) -> Record | None:
        """The member of the current guide's family that a short follow-up names: "那补办呢" after 首次申领.

        When the words name several members alike ("企业的呢" after 个体工商户变更登记: 企业变更登记 or
        个体工商户转型为企业?), retrieval decides among them, reading the follow-up with the current guide's name.
        """
        family = self.engine.family(current.code)
        if not family:
            return None
        polar = self._denied_or_affirmed(current, family)
        if polar is not None:
            return polar
        if len(self.turn.text) > ELLIPTIC_MAX_CHARS:
            return None
        picked = self.engine.words.pick(self.turn.text, [current.name, *[r.name for r in family]])
        if picked is not None:
            return family[picked - 1] if picked else None
        said = {w for w in self.engine.content_words(self.turn.text) if len(w) >= 2}
        said |= {s.official for s in self.engine.words.lexicon.senses(self.turn.text)}
        naming = [r for r in family if any(w in r.name and w not in current.name for w in said)]
        swapped = [r for r in naming if swaps_subject(current.name, said, r.name)]
        naming = swapped or naming
        if not naming:
            return None
        order = {c.code: n for n, c in enumerate(self.engine.rank(f"{current.name} {self.turn.text}").candidates)}
        return min(naming, key=lambda r: order.get(r.code, len(order)))

    def _denied_or_affirmed(self, current: Record, family: list[Record]) -> Record | None:
        """The current guide's twin that differs by a 未/已, when the follow-up denies or affirms what the current
        one says ("那没找着工作的呢" after 已落实就业单位…): however long it is, unless it names another guide."""
        polar = self.engine.words.by_polarity(self.turn.text, [current.name, *[r.name for r in family]])
        if not polar:
            return None
        twin = family[polar - 1]
        elsewhere = self.engine.search(self.turn.text)
        if elsewhere.decision == "answer" and elsewhere.shown[0].code not in {current.code, *(r.code for r in family)}:
            other = self.engine.record(elsewhere.shown[0].code)
            if other is not None and _names_other_subject(self.engine, self.turn.text, other, twin):
                return None
        return twin

    def _search(self, result: SearchResult) -> list[dict[str, Any]]:
        turn = self.turn
        if result.decision == "answer":
            code = result.shown[0].code
            if turn.aspect == "overview":  # "刚满20能领结婚证不": the guide, and what it says of that
                found = self.engine.passages(code, turn.text)
                record = self.engine.record(code)
                if found and record is not None:
                    say(self.dispatcher, answer_passages(record, found))
                    return [SlotSet("item_code", code), SlotSet("situation", None), SlotSet("pending_aspect", None),
                            SlotSet("failures", 0.0)]
            return self.answer(code)
        if turn.off_topic:  # NLU heard something else than a guide: only a clear answer overrides it
            return self.failed("reject")
        if result.decision == "suggest":
            bundles = [c for c in result.shown if c.kind == "bundle"]
            if turn.aspect == "bundle" and len(bundles) == 1:
                return self.answer(bundles[0].code)
            say(self.dispatcher, suggest([(c.code, c.kind, c.name) for c in result.shown], turn.aspect))
            return [SlotSet("failures", 0.0)]
        return self.failed("reject")

    # ---- replies ------------------------------------------------------------------------------------------------

    def failed(self, decision: str, silent_guide: Record | None = None) -> list[dict[str, Any]]:
        """``decision``: ``reject`` (retrieval found no guide) or ``fallback`` (nothing to search for).
        The second failure in a row offers a person; the citizen decides."""
        _note_unanswered(self._hall(), self.tracker, decision)
        failures = int(self.tracker.get_slot("failures") or 0) + 1
        offer = self._offer_person or failures >= FAILURES_BEFORE_OFFER
        reply = guide_silent(silent_guide, offer) if silent_guide is not None else declined(RETRY_HINT, offer)
        say(self.dispatcher, reply)
        return [SlotSet("failures", 0.0 if offer else float(failures))]

    def answer(self, code: str, aspect: str | None = None) -> list[dict[str, Any]]:
        turn = self.turn
        aspect = aspect or turn.aspect
        record = self.engine.record(code)
        assert record is not None
        if isinstance(record, Item) and aspect == "cross_province":
            twin = self.engine.cross_province_for(record.code)
            if twin is None:
                say(self.dispatcher, not_cross_province(record))
                return [SlotSet("item_code", record.code), SlotSet("failures", 0.0)]
            record = self.engine.record(twin)
            assert record is not None
        district = turn.district_for(record) if isinstance(record, Item) else None
        if isinstance(record, Item) and aspect in DISTRICT_ASPECTS and district is None and needs_district(record, aspect):
            say(self.dispatcher, ask_district(record, aspect))
            return [SlotSet("item_code", record.code), SlotSet("pending_aspect", aspect), SlotSet("failures", 0.0)]
        situation = turn.situation_for(record.code)
        known = isinstance(record, Item) and any(s.code == situation for s in record.situations)
        situation = situation if known else None
        reply_aspect = aspect if aspect not in ("bundle", "cross_province") else "overview"
        if isinstance(record, Bundle) and aspect not in ("time",):
            reply_aspect = "overview"
        say(self.dispatcher, answer_record(record, reply_aspect, self.engine.record, situation, district))
        logger.info("answered %s (v%d) aspect=%s situation=%s district=%s",
                    record.code, record.version, aspect, situation, district)
        events = [SlotSet("item_code", record.code), SlotSet("situation", situation),
                  SlotSet("pending_aspect", None), SlotSet("failures", 0.0), SlotSet("last_aspect", reply_aspect)]
        if district:
            events.append(SlotSet("district", district))
        return events


@dataclass(frozen=True)
class Offered:
    code: str
    situation: str | None
    label: str  # the situation or guide as its guide words it
    title: str
    payload: str


class _Turn:
    """What this turn says: the intent's aspect, the item in play, the district named, the offer it answers."""

    def __init__(self, engine: RetrievalEngine, tracker: Tracker):
        message = tracker.latest_message
        self.intent = (message.get("intent") or {}).get("name") or ""
        self.text = (message.get("text") or "").strip()
        said = aspect_of(self.text) if not self.text.startswith("/") else None
        self.aspect = INTENT_ASPECTS.get(self.intent) or said or "overview"
        self.tapped = self.text.startswith("/")
        self.off_topic = self.intent == "out_of_scope"
        self.chosen = _entity(tracker, "item_code")
        # while booking, the item being booked is the one a question is about ("去的时候要带啥来着")
        self.current = tracker.get_slot("item_code")
        if tracker.active_loop_name == "appointment_form" and tracker.get_slot("appointment_item"):
            self.current = tracker.get_slot("appointment_item")
        self.has_current = bool(self.current and engine.record(self.current))
        self.pending_aspect = tracker.get_slot("pending_aspect")
        self.last_aspect = tracker.get_slot("last_aspect")
        self.named_district = _entity(tracker, "district")
        self.remembered_district = tracker.get_slot("district")
        self.named_situation = _entity(tracker, "situation")
        self.remembered_situation = tracker.get_slot("situation")
        self.offers = _offers(message.get("metadata"))
        self.has_content = bool(self.text) and not self.tapped and engine.has_content(self.text)
        # "上哪办啊", "电话给我一个呗": an aspect and nothing else it asks about
        self.only_aspect = self.aspect in ASPECT_TITLES and not engine.has_content(without_aspect_words(self.text))

    def offered_choices(self, engine: RetrievalEngine) -> list[Offered]:
        """Each guide or situation on offer, with how its guide describes it."""
        found: list[Offered] = []
        for title, payload in self.offers:
            entities = parse_payload(payload)[1]
            record = engine.record(entities.get("item_code", ""))
            if record is None or "district" in entities:
                continue
            situation = entities.get("situation")
            if situation and isinstance(record, Item):
                described = next((s for s in record.situations if s.code == situation), None)
                if described is not None:
                    found.append(Offered(record.code, situation, f"{described.name}{described.description}", title,
                                         payload))
            elif not situation:
                found.append(Offered(record.code, None, record.name, title, payload))
        return found

    @property
    def offered_aspect(self) -> str | None:
        """The aspect the offered choices were for (their payloads' intent)."""
        for _, payload in self.offers:
            aspect = INTENT_ASPECTS.get(parse_payload(payload)[0])
            if aspect:
                return aspect
        return None

    def offered_records(self, engine: RetrievalEngine) -> list[Record]:
        """The guides the bot's last turn offered to choose from (not situations, not districts)."""
        found: list[Record] = []
        for _, payload in self.offers:
            entities = parse_payload(payload)[1]
            code = entities.get("item_code")
            if code and "situation" not in entities and "district" not in entities:
                record = engine.record(code)
                if record is not None and record not in found:
                    found.append(record)
        return found if len(found) >= 2 else []

    def situation_for(self, code: str) -> str | None:
        # a situation code means something only within the item it was chosen for
        return self.named_situation or (self.remembered_situation if code == self.current else None)

    def district_for(self, item: Item) -> str | None:
        offered = [v.district for v in item.districts]
        for said in (self.named_district, self.text, self.remembered_district):
            found = district_named(said or "", offered)
            if found:
                return found
        return None


def _names_other_subject(engine: RetrievalEngine, text: str, other: Record, current: Record) -> bool:
    """Whether ``text`` names what ``other`` is about and ``current`` is not: "社保卡丢了" after 居住证申领."""
    words = set(engine.content_words(text))
    words |= {s.official for s in engine.words.lexicon.senses(text)}
    return any(len(w) >= 2 and w in other.name and w not in current.name for w in words)


def _note_unanswered(hall: HallServices, tracker: Tracker, decision: str) -> None:
    """Keep the question for the editors' to-do list; the citizen's reply never waits on it failing."""
    text = (tracker.latest_message.get("text") or "").strip()
    if not text or text.startswith("/"):  # a button's payload is no question an editor could answer
        return
    try:
        hall.journal.note_unanswered(tracker.sender_id, text, decision, now=hall.now())
    except Exception:
        logger.exception("could not note the unanswered question of %s", tracker.sender_id)


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None


def _offers(metadata: Any) -> list[tuple[str, str]]:
    """(title, payload) of the choices the bot's last turn offered, as the service passed them on."""
    if not isinstance(metadata, dict):
        return []
    offers = metadata.get("offers")
    if not isinstance(offers, list):
        return []
    return [(str(o.get("title", "")), str(o.get("payload", ""))) for o in offers if isinstance(o, dict)]

