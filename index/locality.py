"""Whether a citizen's household registration (户口) is here or elsewhere, and which guides are for which.

A hall's list splits many items by it: 丢失补领居民身份证 / 丢失异地补领居民身份证,
残疾人证换领（户籍地申请）/（居住地申请）. Citizens say which applies in their own
words — "长春本地户口", "户口就在南关", "我是山东户口", "外地户口" — and what
"here" means depends on the base: 吉林 is elsewhere for a hall in 江川 and home
for one in 长春. So the base's own place names (its districts, and the cities
its departments are named after) count as home; other places, and words like
外地 or 老家, as elsewhere.

A guide is for elsewhere when its name says 异地, 外地, 非本地 or 居住地 (applying
where one lives, not where one is registered), for here when it says 户籍地 or
本地. A question that says where the citizen is registered makes the guides for
the other case no rival to the one it means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from knowledge.schema import Item, Record

Where = Literal["here", "elsewhere"]
ELSEWHERE_NAMES = ("异地", "外地", "非本地", "省外", "外省", "居住地")
HERE_NAMES = ("户籍地", "本地")
_HERE_SAID = re.compile(r"(本地|本市|这边|这里|当地)(的)?(户口|户籍|人)|户口(就|都|也)?(在|是)(本地|本市|这边|这里|当地)")
# said of the 户口 itself: "老家" or "外省" alone may be where a house is, not where one is registered
_ELSEWHERE_SAID = re.compile(r"(外地|外省|外市|非本地|异地)(的)?(户口|户籍|人)|户口不在|不是本地(户口|人)")
_REGISTERED_AT = re.compile(r"户口(就|都|也|还)?(在|是|落在)([\u4e00-\u9fff]{2,6})")
_PLACE_HUKOU = re.compile(r"([\u4e00-\u9fff]{2,3})(本地)?(户口|户籍)")
_LEADING = "我俺咱是在的个也都就还"  # "我是长春户口": the place is 长春
_NOT_PLACES = ("农村", "城镇", "集体", "家庭", "个人", "新生", "我的", "他的", "她的", "孩子", "我们", "俺们", "咱们")
_CITY = re.compile(r"([\u4e00-\u9fff]{2,3})[市省]")
_SUFFIXES = ("区", "县", "市", "旗", "镇", "乡")


def home_names(records: Iterable[Record]) -> frozenset[str]:
    """The places a base calls home: its districts (and their short names), and the cities and the province its
    departments are named after."""
    names: set[str] = set()
    for record in records:
        if not isinstance(record, Item):
            continue
        for variant in record.districts:
            names.add(variant.district)
            names.add(_short(variant.district))
        for place in _CITY.findall(record.department):
            names.add(place)
    return frozenset(n for n in names if len(n) >= 2)


def _short(place: str) -> str:
    for suffix in _SUFFIXES:
        if place.endswith(suffix) and len(place) > len(suffix) + 1:
            return place[: -len(suffix)]
    return place


class Locality:
    def __init__(self, home: Iterable[str]):
        self._home = tuple(sorted(set(home), key=len, reverse=True))

    def is_home(self, place: str) -> bool:
        return any(place.startswith(h) or h.startswith(place) for h in self._home if len(place) >= 2)

    def of_question(self, text: str) -> Where | None:
        """Where the citizen's 户口 is, when the question says so; None when it does not."""
        if _HERE_SAID.search(text):
            return "here"
        registered = _REGISTERED_AT.search(text)
        if registered:
            return "here" if self.is_home(registered.group(3)) else "elsewhere"
        for match in _PLACE_HUKOU.finditer(text):
            place = match.group(1).lstrip(_LEADING)
            if len(place) >= 2 and not any(word in place for word in _NOT_PLACES):
                return "here" if self.is_home(place) else "elsewhere"
        if _ELSEWHERE_SAID.search(text):
            return "elsewhere"
        return None

    @staticmethod
    def of_name(name: str) -> Where | None:
        """Whom a guide is for, by its name: those registered elsewhere, here, or either."""
        if any(word in name for word in ELSEWHERE_NAMES):
            return "elsewhere"
        if any(word in name for word in HERE_NAMES):
            return "here"
        return None
