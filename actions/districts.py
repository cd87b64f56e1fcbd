"""Which district's hall a citizen means, and when it matters to ask.

Place, hours, phone and the promised time limit can differ between a
district's hall and the city-level one; materials, fees and procedure never do
(the guide standard is one for all levels). So the bot asks "哪个区？" only for
the aspects that differ, and only when the item really is run differently.
"""

from __future__ import annotations

from knowledge.schema import DistrictVariant, Item

DISTRICT_ASPECTS = ("place", "time")
# What citizens call the city-level hall instead of its formal district name.
CITY_LEVEL_WORDS = ("市本级", "市民中心", "市政务服务中心", "市里")
_SUFFIXES = ("本级", "区", "县", "市")


def short_name(district: str) -> str:
    for suffix in _SUFFIXES:
        if district.endswith(suffix) and len(district) > len(suffix) + 1:
            return district[: -len(suffix)]
    return district


def district_named(text: str, districts: list[str]) -> str | None:
    """The district among ``districts`` that ``text`` names, in full or short ("青山")."""
    if not text:
        return None
    for district in sorted(districts, key=len, reverse=True):
        if district in text:
            return district
    city_level = next((d for d in districts if d.endswith("本级")), None)
    if city_level and any(word in text for word in CITY_LEVEL_WORDS):
        return city_level
    for district in districts:
        if not district.endswith("本级") and short_name(district) in text:
            return district
    return None


def variant_for(item: Item, district: str | None) -> DistrictVariant | None:
    return next((v for v in item.districts if v.district == district), None)


def needs_district(item: Item, aspect: str) -> bool:
    """True when the answer to ``aspect`` differs by district, so a clerk would ask which."""
    if aspect == "place":
        return len({(v.place, v.hours, v.phone) for v in item.districts}) > 1
    if aspect == "time":
        limits = {v.promised_limit_days for v in item.districts if v.promised_limit_days is not None}
        return bool(limits - {item.promised_limit_days})
    return False
