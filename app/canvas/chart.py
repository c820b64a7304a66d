"""The ``chart`` artifact: a Plotly figure (the JSON of ``fig.to_plotly_json()``).

Plotly.js is loaded lazily from its prebuilt, minified bundle, so pages without a chart pay
nothing for it. Colours follow the light/dark theme unless the figure sets its own template.
"""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import reflex as rx
from reflex_components_plotly.plotly import (
    CREATE_PLOTLY_COMPONENT,
    Plotly,
    dynamic_plotly_import,
)

from app.canvas.base import ArtifactDataError, ArtifactKind, ArtifactView, Sample, with_problem

MAX_FIGURE_BYTES = 8 * 1024 * 1024


class PlotlyChart(Plotly):
    """Every trace type, from the prebuilt bundle (building plotly.js from source is slow)."""

    tag: str = "StackdocsPlotlyChart"
    library = "react-plotly.js@4.1.0"
    lib_dependencies: list[str] = ["plotly.js-dist-min@3.7.0"]

    def add_imports(self) -> dict:
        return CREATE_PLOTLY_COMPONENT

    def _get_dynamic_imports(self) -> str:
        return dynamic_plotly_import(self.tag, "plotly.js-dist-min")


def parse_figure(data: Any) -> go.Figure:
    """``{"data": [traces], "layout": {...}}``; a JSON string of that is accepted too."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise ArtifactDataError("chart: data is a string but not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("data", []), list):
        raise ArtifactDataError("chart: data must be a Plotly figure {'data': [...], 'layout'}")
    if len(json.dumps(data, default=str)) > MAX_FIGURE_BYTES:
        raise ArtifactDataError("chart: the figure is larger than 8 MB")
    figure = {"data": data.get("data", []), "layout": data.get("layout", {})}
    if data.get("frames"):
        figure["frames"] = data["frames"]
    try:
        return go.Figure(figure)
    except (ValueError, TypeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtifactDataError(f"chart: not a valid Plotly figure: {first_line}") from None


class ChartView(ArtifactView, mixin=True):
    figure: go.Figure = go.Figure()
    themed: bool = True  # False when the figure brings its own template

    @staticmethod
    def _prepare(data: Any) -> tuple[go.Figure, bool]:
        figure = parse_figure(data)
        layout = data.get("layout") if isinstance(data, dict) else None
        themed = not (isinstance(layout, dict) and layout.get("template"))
        if themed:
            # go.Figure fills in plotly's default template: drop it so the page's light or
            # dark template applies instead.
            figure.layout.template = None
            figure.update_layout(
                paper_bgcolor="rgba(0,0,0,0)",
                plot_bgcolor="rgba(0,0,0,0)",
                margin={"l": 48, "r": 24, "t": 56, "b": 48},
                font={"family": "Inter, system-ui, sans-serif", "size": 13},
            )
        return figure, themed

    def _show(self, prepared: tuple[go.Figure, bool]) -> None:
        self.figure, self.themed = prepared


def render(S: Any) -> rx.Component:
    def chart(template: str | None) -> rx.Component:
        props: dict[str, Any] = {}
        if template:
            props["template"] = pio.templates[template]
        return PlotlyChart.create(
            data=S.figure,
            config={"displaylogo": False, "responsive": True},
            use_resize_handler=True,
            width="100%",
            height="100%",
            **props,
        )

    return with_problem(
        S,
        rx.box(
            rx.cond(
                S.themed,
                rx.color_mode_cond(light=chart("plotly_white"), dark=chart("plotly_dark")),
                chart(None),
            ),
            class_name="sd-chart",
            width="100%",
        ),
    )


def sample() -> Sample:
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]
    return Sample(
        "Spend by month",
        {
            "data": [
                {"type": "bar", "name": "Services", "x": months, "y": [42, 51, 47, 58, 63, 61]},
                {"type": "bar", "name": "Freight", "x": months, "y": [18, 22, 19, 25, 24, 29]},
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": "Budget",
                    "x": months,
                    "y": [65, 65, 70, 70, 75, 75],
                },
            ],
            "layout": {"title": {"text": "Spend by month (EUR k)"}, "barmode": "stack"},
        },
    )


KIND = ArtifactKind(
    name="chart",
    label="Chart",
    icon="chart-column",
    description="A Plotly figure: {'data': [traces], 'layout': {...}}.",
    view_state=ChartView,
    render=render,
    sample=sample,
)
