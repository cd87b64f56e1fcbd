from knowledge.diff import Change, diff_records


def _ops(old, new):
    return [(c.op, c.path, c.old, c.new) for c in diff_records(old, new)]


def test_bookkeeping_fields_are_not_changes():
    assert diff_records({"name": "a", "version": 1, "updated_at": "x"}, {"name": "a", "version": 2, "updated_at": "y"}) == []


def test_materials_are_matched_by_name_not_position():
    old = {"materials": [{"name": "身份证", "copies": 1}, {"name": "照片", "copies": 2}]}
    new = {"materials": [{"name": "户口簿", "copies": 1}, {"name": "身份证", "copies": 1}, {"name": "照片", "copies": 1}]}
    assert _ops(old, new) == [
        ("added", "materials[0]", None, {"name": "户口簿", "copies": 1}),
        ("changed", "materials[2].copies", 2, 1),
    ]


def test_removed_elements_are_located_in_the_older_version():
    old = {"materials": [{"name": "身份证"}, {"name": "照片"}]}
    assert _ops(old, {"materials": [{"name": "照片"}]}) == [("removed", "materials[0]", {"name": "身份证"}, None)]


def test_a_reorder_is_one_change_on_the_list():
    old = {"procedure": ["申请", "受理", "审核"]}
    new = {"procedure": ["受理", "申请", "审核"]}
    assert diff_records(old, new) == [Change("reordered", "procedure", ["申请", "受理", "审核"], ["受理", "申请", "审核"])]


def test_situations_by_code_and_their_materials_by_name():
    old = {"situations": [{"code": "work", "name": "务工", "materials": [{"name": "劳动合同", "form": "复印件"}]}]}
    new = {"situations": [{"code": "work", "name": "因务工", "materials": [{"name": "劳动合同", "form": "原件"}]}]}
    assert _ops(old, new) == [
        ("changed", "situations[0].name", "务工", "因务工"),
        ("changed", "situations[0].materials[0].form", "复印件", "原件"),
    ]


def test_repeated_identities_fall_back_to_positions():
    old = {"materials": [{"name": "照片"}, {"name": "照片", "copies": 2}]}
    new = {"materials": [{"name": "照片"}, {"name": "照片", "copies": 3}, {"name": "照片"}]}
    assert _ops(old, new) == [
        ("changed", "materials[1].copies", 2, 3),
        ("added", "materials[2]", None, {"name": "照片"}),
    ]


def test_fields_added_removed_and_type_changes():
    assert _ops({"a": 1, "b": True}, {"b": 1, "c": None}) == [
        ("changed", "b", True, 1), ("added", "c", None, None), ("removed", "a", 1, None),
    ]
