"""ANSI output → styled runs for the terminal artifact."""

from app.canvas import ansi
from app.canvas.terminal import parse_terminal, styled_lines


def runs(text):
    return [[(t, s.css_classes(), s.css_color()) for t, s in line] for line in ansi.parse(text)]


def test_sgr_colours_and_resets():
    assert runs("a\x1b[1;31mred\x1b[0m b") == [
        [("a", "", ("", "")), ("red", "sd-fg-1 sd-b", ("", "")), (" b", "", ("", ""))]
    ]


def test_bright_256_and_truecolour():
    assert runs("\x1b[92mx")[0][0][1] == "sd-fg-10"
    assert runs("\x1b[38;5;196mx")[0][0][2] == ("#ff0000", "")
    assert runs("\x1b[48;2;1;2;3mx")[0][0][2] == ("", "#010203")
    assert runs("\x1b[38;5;9mx")[0][0][1] == "sd-fg-9"


def test_style_carries_over_lines_and_final_newline_adds_no_line():
    lines = runs("\x1b[32mok\nstill green\n")
    assert len(lines) == 2
    assert lines[1][0][1] == "sd-fg-2"


def test_carriage_return_overwrites_and_other_escapes_vanish():
    assert runs("10%\r50%\r100%\n\x1b[2Kdone\x1b]0;title\x07") == [
        [("100%", "", ("", ""))],
        [("done", "", ("", ""))],
    ]


def test_plain_strips_everything():
    assert ansi.plain("\x1b[1mbold\x1b[0m\x07") == "bold"


def test_terminal_data_shapes_and_line_limit():
    data = parse_terminal({"command": "ls", "output": "a\nb\nc\n", "exit_code": 0})
    assert data["exit_code"] == 0 and not data["running"]
    assert parse_terminal("raw output")["output"] == "raw output"
    lines, dropped = styled_lines("".join(f"{i}\n" for i in range(10)), limit=3)
    assert dropped == 7
    assert [line[0]["t"] for line in lines] == ["7", "8", "9"]
