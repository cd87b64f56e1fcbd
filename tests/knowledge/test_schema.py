import pytest
from pydantic import ValidationError

from tests.conftest import make_item


def test_promised_limit_cannot_exceed_statutory():
    with pytest.raises(ValidationError, match="promised_limit_days"):
        make_item(statutory_limit_days=5, promised_limit_days=7)


def test_district_listed_twice_is_refused():
    item = make_item()
    with pytest.raises(ValidationError, match="district listed twice"):
        make_item(districts=[item.districts[0], item.districts[0]])


def test_variant_lookup_by_district():
    item = make_item()
    assert item.variant_for("临江区").phone == "0799-86654321"
    assert item.variant_for("东湖区") is None
    assert item.variant_for(None) is None
