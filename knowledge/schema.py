"""The guide records Daoban answers from, shaped after a national implementation-list entry.

Every answer the bot gives is read from these records and names the record's
item and version, so the schema is strict: unknown fields are refused (a typo
in an import must not silently drop a material) and the enumerations follow the
words editors use in the hall.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NonEmpty = Annotated[str, Field(min_length=1, max_length=2000)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=True)


class SkipMode(str, Enum):
    """Reforms that let a citizen leave a material at home."""

    COMMITMENT = "告知承诺"
    ACCEPT_WITH_GAP = "容缺受理"
    E_LICENCE = "电子证照免提交"


class OnlineDepth(str, Enum):
    FULLY_ONLINE = "全程网办"
    BOOK_ONLINE = "网上预约现场办"
    OFFLINE_ONLY = "仅现场办理"


class CrossProvinceMode(str, Enum):
    FULLY_ONLINE = "全程网办"
    COLLECT_ELSEWHERE = "异地代收代办"
    MULTI_PLACE = "多地联办"


class Material(_Record):
    """A material to bring. Unset form, copies or medium mean the source did not say,
    and the bot says nothing about them rather than guess."""

    name: NonEmpty
    form: Literal["原件", "复印件", "原件和复印件"] | None = None
    copies: int | None = Field(default=None, ge=0, le=20)
    medium: Literal["纸质", "电子", "纸质或电子"] | None = None
    required: bool = True
    skip: list[SkipMode] = Field(default_factory=list)
    note: str = ""


class Situation(_Record):
    """One applicant situation (情形); it adds its own materials to the item's common ones."""

    code: Code
    name: NonEmpty
    description: str = ""
    materials: list[Material] = Field(default_factory=list)


class DistrictVariant(_Record):
    """Where and how one district (or the city-level hall) runs the item."""

    district: NonEmpty
    place: NonEmpty
    window: str = ""
    hours: NonEmpty
    phone: NonEmpty
    promised_limit_days: int | None = Field(default=None, ge=0)


class Fee(_Record):
    charged: bool = False
    standard: str = "不收费"


class Item(_Record):
    kind: Literal["item"] = "item"
    code: Code
    name: NonEmpty
    aliases: list[NonEmpty] = Field(default_factory=list)
    questions: list[NonEmpty] = Field(default_factory=list)
    domain: NonEmpty
    item_type: Literal["行政许可", "行政确认", "行政给付", "行政征收", "行政裁决", "行政奖励", "其他行政权力", "公共服务"]
    department: NonEmpty
    audience: list[Literal["个人", "法人"]] = Field(min_length=1)
    summary: NonEmpty
    conditions: str = ""
    materials: list[Material] = Field(default_factory=list)
    situations: list[Situation] = Field(default_factory=list)
    procedure: list[NonEmpty] = Field(default_factory=list)
    statutory_limit_days: int | None = Field(default=None, ge=0, description="工作日; 0 = 即办")
    promised_limit_days: int | None = Field(default=None, ge=0, description="工作日; 0 = 即办")
    fee: Fee = Field(default_factory=Fee)
    legal_basis: list[NonEmpty] = Field(default_factory=list)
    online_depth: OnlineDepth | None = Field(default=None, description="unset: the source did not say")
    visits: int | None = Field(default=None, ge=0, le=10, description="unset: the source did not say")
    districts: list[DistrictVariant] = Field(default_factory=list)
    version: int = Field(default=1, ge=1)
    updated_at: datetime = Field(default_factory=_utcnow)

    @field_validator("districts")
    @classmethod
    def _one_variant_per_district(cls, variants: list[DistrictVariant]) -> list[DistrictVariant]:
        names = [v.district for v in variants]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"district listed twice: {', '.join(duplicated)}")
        return variants

    @field_validator("situations")
    @classmethod
    def _unique_situation_codes(cls, situations: list[Situation]) -> list[Situation]:
        codes = [s.code for s in situations]
        duplicated = sorted({c for c in codes if codes.count(c) > 1})
        if duplicated:
            raise ValueError(f"situation code listed twice: {', '.join(duplicated)}")
        return situations

    @model_validator(mode="after")
    def _promise_within_statute(self) -> "Item":
        if (
            self.statutory_limit_days is not None
            and self.promised_limit_days is not None
            and self.promised_limit_days > self.statutory_limit_days
        ):
            raise ValueError(
                f"promised_limit_days ({self.promised_limit_days}) exceeds "
                f"statutory_limit_days ({self.statutory_limit_days})"
            )
        return self

    @property
    def has_materials(self) -> bool:
        return bool(self.materials) or any(s.materials for s in self.situations)

    def variant_for(self, district: str | None) -> DistrictVariant | None:
        for variant in self.districts:
            if district and variant.district == district:
                return variant
        return None


class Bundle(_Record):
    """A 一件事一次办 package: several items around one life event, one form, one window."""

    kind: Literal["bundle"] = "bundle"
    code: Code
    name: NonEmpty
    life_event: NonEmpty
    audience: list[Literal["个人", "法人"]] = Field(min_length=1)
    aliases: list[NonEmpty] = Field(default_factory=list)
    questions: list[NonEmpty] = Field(default_factory=list)
    summary: NonEmpty
    item_codes: list[Code] = Field(min_length=2)
    how_to_apply: NonEmpty
    promised_limit_days: int | None = Field(default=None, ge=0)
    version: int = Field(default=1, ge=1)
    updated_at: datetime = Field(default_factory=_utcnow)


class CrossProvinceEntry(_Record):
    """An entry of a 跨省通办 / 省内通办 list: what can be done away from home, and how."""

    kind: Literal["cross_province"] = "cross_province"
    code: Code
    name: NonEmpty
    item_code: Code | None = None
    aliases: list[NonEmpty] = Field(default_factory=list)
    questions: list[NonEmpty] = Field(default_factory=list)
    modes: list[CrossProvinceMode] = Field(min_length=1)
    scope: NonEmpty
    how_to_apply: NonEmpty
    version: int = Field(default=1, ge=1)
    updated_at: datetime = Field(default_factory=_utcnow)


Record = Annotated[Union[Item, Bundle, CrossProvinceEntry], Field(discriminator="kind")]
RECORD_TYPES: dict[str, type[Item] | type[Bundle] | type[CrossProvinceEntry]] = {
    "item": Item,
    "bundle": Bundle,
    "cross_province": CrossProvinceEntry,
}
