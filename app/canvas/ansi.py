"""ANSI escape sequences → styled text runs, for the terminal artifact. Pure, no Reflex.

Handles SGR (colours 16/256/truecolour, bold, dim, italic, underline, inverse, resets),
carriage returns (a progress bar redraws its line) and drops every other control sequence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

# CSI sequences (ESC [ ... final byte), OSC sequences (ESC ] ... BEL/ST), and lone ESC x.
_ESCAPE = re.compile(r"\x1b\[([0-?]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")

# xterm's 6x6x6 cube and grey ramp for 256-colour codes above 15.
_CUBE = (0, 95, 135, 175, 215, 255)


@dataclass(frozen=True)
class Style:
    fg: str = ""  # "1".."15" for the 16 theme colours, "#rrggbb" otherwise, "" default
    bg: str = ""
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    inverse: bool = False

    def css_classes(self) -> str:
        names = []
        fg, bg = (self.bg, self.fg) if self.inverse else (self.fg, self.bg)
        if fg and not fg.startswith("#"):
            names.append(f"sd-fg-{fg}")
        if bg and not bg.startswith("#"):
            names.append(f"sd-bg-{bg}")
        if fg.startswith("#"):
            names.append("sd-xfg")  # colour from the --sd-fg custom property (see css_color)
        if bg.startswith("#"):
            names.append("sd-xbg")
        if self.inverse and not fg:
            names.append("sd-inverse")
        names += [
            n
            for n, on in (
                ("sd-b", self.bold),
                ("sd-d", self.dim),
                ("sd-i", self.italic),
                ("sd-u", self.underline),
            )
            if on
        ]
        return " ".join(names)

    def css_color(self) -> tuple[str, str]:
        """Inline colours for codes outside the 16 themed ones."""
        fg, bg = (self.bg, self.fg) if self.inverse else (self.fg, self.bg)
        return (fg if fg.startswith("#") else "", bg if bg.startswith("#") else "")


PLAIN = Style()


def _color_256(n: int) -> str:
    if n < 16:
        return str(n)
    if n < 232:
        n -= 16
        r, g, b = _CUBE[n // 36], _CUBE[(n // 6) % 6], _CUBE[n % 6]
    else:
        r = g = b = 8 + (n - 232) * 10
    return f"#{r:02x}{g:02x}{b:02x}"


def apply_sgr(style: Style, params: str) -> Style:
    codes = [int(p) if p.isdigit() else 0 for p in params.replace(":", ";").split(";")] or [0]
    i = 0
    while i < len(codes):
        code = codes[i]
        if code == 0:
            style = PLAIN
        elif code == 1:
            style = replace(style, bold=True)
        elif code == 2:
            style = replace(style, dim=True)
        elif code == 3:
            style = replace(style, italic=True)
        elif code == 4:
            style = replace(style, underline=True)
        elif code == 7:
            style = replace(style, inverse=True)
        elif code == 22:
            style = replace(style, bold=False, dim=False)
        elif code == 23:
            style = replace(style, italic=False)
        elif code == 24:
            style = replace(style, underline=False)
        elif code == 27:
            style = replace(style, inverse=False)
        elif 30 <= code <= 37:
            style = replace(style, fg=str(code - 30))
        elif 90 <= code <= 97:
            style = replace(style, fg=str(code - 90 + 8))
        elif code == 39:
            style = replace(style, fg="")
        elif 40 <= code <= 47:
            style = replace(style, bg=str(code - 40))
        elif 100 <= code <= 107:
            style = replace(style, bg=str(code - 100 + 8))
        elif code == 49:
            style = replace(style, bg="")
        elif code in (38, 48) and i + 1 < len(codes):
            color = ""
            if codes[i + 1] == 5 and i + 2 < len(codes):
                color, i = _color_256(codes[i + 2] % 256), i + 2
            elif codes[i + 1] == 2 and i + 4 < len(codes):
                r, g, b = (min(c, 255) for c in codes[i + 2 : i + 5])
                color, i = f"#{r:02x}{g:02x}{b:02x}", i + 4
            style = replace(style, fg=color) if code == 38 else replace(style, bg=color)
        i += 1
    return style


Run = tuple[str, Style]


def parse(text: str) -> list[list[Run]]:
    """Lines of styled runs. A style carries over line breaks, as in a real terminal."""
    lines: list[list[Run]] = [[]]
    style = PLAIN
    pos = 0
    for match in _ESCAPE.finditer(text):
        _emit(lines, text[pos : match.start()], style)
        if match.group(2) == "m":
            style = apply_sgr(style, match.group(1) or "")
        pos = match.end()
    _emit(lines, text[pos:], style)
    if len(lines) > 1 and not lines[-1]:
        lines.pop()  # the newline that ends the output is not an extra empty line
    return lines


def _emit(lines: list[list[Run]], chunk: str, style: Style) -> None:
    if not chunk:
        return
    chunk = chunk.replace("\r\n", "\n")
    for index, part in enumerate(chunk.split("\n")):
        if index:
            lines.append([])
        if "\r" in part:
            # A carriage return rewinds the line: what was drawn before it is overwritten.
            lines[-1] = []
            part = part.rsplit("\r", 1)[1]
        part = _CONTROL.sub("", part.expandtabs(8))
        if part:
            lines[-1].append((part, style))


def plain(text: str) -> str:
    """``text`` without escape sequences (for copying and searching)."""
    return _CONTROL.sub("", _ESCAPE.sub("", text))
