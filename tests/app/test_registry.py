"""The canvas registry: every built-in type, its samples, one view state per slot."""

import pickle

import pytest

from app.canvas import registry
from app.canvas.base import ArtifactDataError, ArtifactKind
from app.canvas.markdown import KIND as MARKDOWN


def test_the_five_wire_types_are_registered_once():
    assert [k.name for k in registry.kinds()] == ["table", "markdown", "json", "terminal", "chart"]
    assert registry.get("timeline") is None
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(MARKDOWN)


def test_each_slot_gets_its_own_picklable_state():
    for kind in registry.kinds():
        canvas, gallery = registry.view(kind.name, "canvas"), registry.view(kind.name, "gallery")
        assert canvas is not gallery
        assert issubclass(canvas, kind.view_state)
        assert pickle.loads(pickle.dumps(canvas)) is canvas


@pytest.mark.parametrize("kind", registry.kinds(), ids=lambda k: k.name)
def test_every_sample_is_drawable(kind: ArtifactKind):
    sample = kind.sample()
    assert sample.title
    kind.view_state._prepare(sample.data)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("table", "text"),
        ("markdown", 3),
        ("terminal", {"output": 5}),
        ("chart", {"data": "x"}),
        ("chart", {"data": [{"type": "nonsense-trace"}]}),
    ],
)
def test_bad_data_is_refused_with_an_explanation(name, data):
    with pytest.raises(ArtifactDataError, match=name):
        registry.get(name).view_state._prepare(data)


def test_chart_without_template_follows_the_page_theme():
    kind = registry.get("chart")
    figure, themed = kind.view_state._prepare({"data": [{"type": "bar", "y": [1]}]})
    assert themed and "template" not in figure.to_plotly_json()["layout"]
    figure, themed = kind.view_state._prepare(
        {"data": [], "layout": {"template": {"layout": {"font": {"size": 20}}}}}
    )
    assert not themed
