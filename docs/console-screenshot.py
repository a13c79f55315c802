#!/usr/bin/env python3
"""Renders a tmux capture (`tmux capture-pane -e -p`) to a PNG, cell by cell, so the
README's screenshot is the real terminal. Needs Pillow and DejaVu Sans Mono.

    tmux new-session -d -s shot -x 160 -y 44 "COLORTERM=truecolor taskyard"
    sleep 25; tmux capture-pane -e -p -t shot > shot.ansi
    python3 docs/console-screenshot.py shot.ansi assets/console.png
"""

import re
import sys
import unicodedata

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
SIZE = 15
BG = (13, 17, 23)
FG = (201, 209, 217)
# The 16 ANSI colours (GitHub dark-ish), then the 256-colour cube and greys.
BASE16 = [
    (72, 79, 88), (255, 123, 114), (63, 185, 80), (210, 153, 34),
    (88, 166, 255), (188, 140, 255), (57, 197, 207), (177, 186, 196),
    (110, 118, 129), (255, 161, 152), (86, 211, 100), (227, 179, 65),
    (121, 192, 255), (210, 168, 255), (86, 212, 221), (255, 255, 255),
]


def color256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    g = 8 + (n - 232) * 10
    return (g, g, g)


def parse(text):
    """Rows of cells (char, fg, bg, bold) from ANSI text."""
    rows = []
    fg, bg, bold, reverse = None, None, False, False
    for line in text.split("\n"):
        cells = []
        for token in re.split(r"(\x1b\[[0-9;]*m)", line):
            if token.startswith("\x1b["):
                codes = [int(c) if c else 0 for c in token[2:-1].split(";")]
                i = 0
                while i < len(codes):
                    c = codes[i]
                    if c == 0:
                        fg, bg, bold, reverse = None, None, False, False
                    elif c == 1:
                        bold = True
                    elif c == 22:
                        bold = False
                    elif c == 7:
                        reverse = True
                    elif c == 27:
                        reverse = False
                    elif c in (38, 48) and i + 1 < len(codes):
                        if codes[i + 1] == 2 and i + 4 < len(codes):
                            rgb = tuple(codes[i + 2 : i + 5])
                            i += 4
                        elif codes[i + 1] == 5 and i + 2 < len(codes):
                            rgb = color256(codes[i + 2])
                            i += 2
                        else:
                            rgb = None
                        if c == 38:
                            fg = rgb
                        else:
                            bg = rgb
                    elif c == 39:
                        fg = None
                    elif c == 49:
                        bg = None
                    elif 30 <= c <= 37:
                        fg = BASE16[c - 30]
                    elif 90 <= c <= 97:
                        fg = BASE16[c - 90 + 8]
                    elif 40 <= c <= 47:
                        bg = BASE16[c - 40]
                    i += 1
            else:
                for ch in token:
                    f, b = fg or FG, bg or BG
                    if reverse:
                        f, b = b, f
                    cells.append((ch, f, b, bold))
                    if unicodedata.east_asian_width(ch) in ("W", "F"):
                        cells.append((" ", f, b, bold))
        rows.append(cells)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def main(src, dst):
    rows = parse(open(src, encoding="utf-8").read())
    font = ImageFont.truetype(FONT, SIZE)
    bold = ImageFont.truetype(BOLD, SIZE)
    cw = round(font.getlength("M"))
    ch = SIZE + 4
    cols = max(len(r) for r in rows)
    pad = 12
    img = Image.new("RGB", (cols * cw + 2 * pad, len(rows) * ch + 2 * pad), BG)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(rows):
        for x, (c, f, b, is_bold) in enumerate(row):
            px, py = pad + x * cw, pad + y * ch
            if b != BG:
                draw.rectangle([px, py, px + cw - 1, py + ch - 1], fill=b)
            if c in "─│┌┐└┘├┤┬┴┼":
                # Box drawing by hand, so lines join across cells.
                mx, my = px + cw // 2, py + ch // 2
                if c in "─┌└├┬┴┼":
                    draw.line([mx, my, px + cw, my], fill=f)
                if c in "─┐┘┤┬┴┼":
                    draw.line([px, my, mx, my], fill=f)
                if c in "│┌┐├┤┬┼":
                    draw.line([mx, my, mx, py + ch], fill=f)
                if c in "│└┘├┤┴┼":
                    draw.line([mx, py, mx, my], fill=f)
            elif c == "⛔":
                # Glyphs DejaVu lacks, drawn by hand: no-entry (two cells wide)...
                r = ch // 2 - 2
                cx, cy = px + cw, py + ch // 2
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=f)
                draw.rectangle([cx - r + 3, cy - 1, cx + r - 3, cy + 1], fill=(255, 255, 255))
            elif c == "⏸":
                # ...and pause.
                h = ch // 2
                draw.rectangle([px + 2, py + h // 2 + 1, px + 4, py + h + h // 2], fill=f)
                draw.rectangle([px + cw - 5, py + h // 2 + 1, px + cw - 3, py + h + h // 2], fill=f)
            elif c in "▁▂▃▄▅▆▇█":
                level = "▁▂▃▄▅▆▇█".index(c) + 1
                top = py + ch - (ch * level) // 8
                draw.rectangle([px, top, px + cw - 1, py + ch - 1], fill=f)
            elif c != " ":
                draw.text((px, py + 1), c, font=bold if is_bold else font, fill=f)
    img.save(dst, optimize=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
