"""The JSON artifact's tree: flattened depth-first, collapsed branches hidden."""

from app.canvas.json_tree import flatten, visible_rows


def test_flatten_is_depth_first_with_previews():
    rows, cut = flatten({"a": [1, 2], "b": {"c": None}})
    assert not cut
    assert [(r["key"], r["depth"], r["preview"]) for r in rows] == [
        ("", 0, "{2 keys}"),
        ("a", 1, "[2 items]"),
        ("0", 2, "1"),
        ("1", 2, "2"),
        ("b", 1, "{1 key}"),
        ("c", 2, "null"),
    ]


def test_collapsed_branches_hide_their_descendants_only():
    rows, _ = flatten({"a": [1, [2, 3]], "b": 4})
    a = next(r["id"] for r in rows if r["key"] == "a")
    shown = visible_rows(rows, expanded={"0"})
    assert [r["key"] for r in shown] == ["", "a", "b"]
    shown = visible_rows(rows, expanded={"0", a})
    assert [r["key"] for r in shown] == ["", "a", "0", "1", "b"]


def test_huge_documents_are_cut_and_deep_ones_do_not_recurse():
    rows, cut = flatten(list(range(100)), max_nodes=10)
    assert cut and len(rows) == 10
    deep: list = []
    node = deep
    for _ in range(5000):
        node.append([])
        node = node[0]
    rows, cut = flatten(deep)
    assert len(rows) == 5001 and not cut
