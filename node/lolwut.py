"""LOLWUT's computer art, as Redis 7.0 draws it (``lolwut.c``, ``lolwut5.c``, ``lolwut6.c``).

Version 5 is Georg Nees's *Schotter* in Braille characters, version 6 a skyline in terminal
colours; both are randomised (Redis uses ``rand()``, we use the node's seeded rng), so only the
deterministic parts (the first rows of Schotter, the captions) match Redis byte for byte. The C
code computes in single-precision floats; ``_f32`` rounds the same way so that the
deterministic squares land on the same pixels.
"""

from __future__ import annotations

import math
import random
import struct

RAND_MAX = 2**31 - 1


def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def _c_round(x: float) -> int:
    """C ``round``: halves away from zero."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


class Canvas:
    def __init__(self, width: int, height: int, color: int = 0) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray([color]) * (width * height)

    def draw_pixel(self, x: int, y: int, color: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[x + y * self.width] = color

    def get_pixel(self, x: int, y: int) -> int:
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.pixels[x + y * self.width]
        return 0

    def draw_line(self, x1: int, y1: int, x2: int, y2: int, color: int) -> None:
        """Bresenham, as ``lwDrawLine``."""
        dx, dy = abs(x2 - x1), abs(y2 - y1)
        sx = 1 if x1 < x2 else -1
        sy = 1 if y1 < y2 else -1
        err = dx - dy
        while True:
            self.draw_pixel(x1, y1, color)
            if x1 == x2 and y1 == y2:
                return
            e2 = err * 2
            if e2 > -dy:
                err -= dy
                x1 += sx
            if e2 < dx:
                err += dx
                y1 += sy

    def draw_square(self, x: int, y: int, size: float, angle: float, color: int) -> None:
        """``lwDrawSquare``: the four corners on a circle, rotated by ``angle``."""
        size = float(_c_round(_f32(size / 1.4142135623)))
        k = _f32(math.pi / 4 + angle)
        px, py = [], []
        for _ in range(4):
            px.append(_c_round(math.sin(k) * size + x))
            py.append(_c_round(math.cos(k) * size + y))
            k = _f32(k + math.pi / 2)
        for j in range(4):
            self.draw_line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color)


def _rand(rng: random.Random) -> int:
    return rng.randrange(RAND_MAX + 1)


def schotter(cols: int, squares_per_row: int, squares_per_col: int, rng: random.Random) -> Canvas:
    """``lwDrawSchotter``: rows of squares, more rotated and displaced the lower they are."""
    canvas_width = cols * 2
    padding = 2 if canvas_width > 4 else 0
    square_side = _f32((canvas_width - padding * 2) / squares_per_row)
    canvas_height = int(_f32(_f32(square_side * squares_per_col) + padding * 2))
    canvas = Canvas(canvas_width, canvas_height)
    half = _f32(square_side / 2)
    for y in range(squares_per_col):
        for x in range(squares_per_row):
            sx = int(_f32(_f32(_f32(x * square_side) + half) + padding))
            sy = int(_f32(_f32(_f32(y * square_side) + half) + padding))
            angle = 0.0
            if y > 1:
                r1 = _f32(_rand(rng) / RAND_MAX / squares_per_col * y)
                r2 = _f32(_rand(rng) / RAND_MAX / squares_per_col * y)
                r3 = _f32(_rand(rng) / RAND_MAX / squares_per_col * y)
                if _rand(rng) % 2:
                    r1 = -r1
                if _rand(rng) % 2:
                    r2 = -r2
                if _rand(rng) % 2:
                    r3 = -r3
                angle = r1
                sx = int(sx + _f32(r2 * square_side / 3))
                sy = int(sy + _f32(r3 * square_side / 3))
            canvas.draw_square(sx, sy, square_side, angle, 1)
    return canvas


def render_braille(canvas: Canvas) -> bytes:
    """Each 2x4 block of pixels becomes one Braille character (U+2800 + dot bits)."""
    out = bytearray()
    get = canvas.get_pixel
    for y in range(0, canvas.height, 4):
        for x in range(0, canvas.width, 2):
            byte = (
                get(x, y)
                | get(x, y + 1) << 1
                | get(x, y + 2) << 2
                | get(x + 1, y) << 3
                | get(x + 1, y + 1) << 4
                | get(x + 1, y + 2) << 5
                | get(x, y + 3) << 6
                | get(x + 1, y + 3) << 7
            )
            out += chr(0x2800 + byte).encode()
        if y != canvas.height - 1:
            out += b"\n"
    return bytes(out)


def lolwut5(
    cols: int, squares_per_row: int, squares_per_col: int, rng: random.Random, version: str
) -> bytes:
    cols = max(1, min(1000, cols))
    squares_per_row = max(1, min(200, squares_per_row))
    squares_per_col = max(1, min(200, squares_per_col))
    art = render_braille(schotter(cols, squares_per_row, squares_per_col, rng))
    return (
        art + b"\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. %s\n" % version.encode()
    )


_COLOR_ESCAPES = (b"0;30;40m", b"0;90;100m", b"0;37;47m", b"0;97;107m")


def _skyscraper(
    canvas: Canvas,
    xoff: int,
    width: int,
    height: int,
    windows: bool,
    color: int,
    rng: random.Random,
) -> None:
    """``generateSkyscraper``: a block with a narrower roof and randomly lit windows."""
    starty = canvas.height - 1
    endy = starty - height + 1
    for y in range(starty, endy - 1, -1):
        for x in range(xoff, xoff + width):
            if y == endy and (x <= xoff + 1 or x >= xoff + width - 2):
                continue
            pixel = color
            if windows and xoff + 1 < x < xoff + width - 2 and endy + 1 < y < starty - 1:
                relx, rely = x - (xoff + 1), y - (endy + 1)
                if (relx // 2) % 2 and rely % 2:
                    while True:
                        pixel = 1 + _rand(rng) % 2
                        if pixel != color:
                            break
                    if relx % 2:
                        pixel = canvas.get_pixel(x - 1, y)
            canvas.draw_pixel(x, y, pixel)


def _skyline(canvas: Canvas, rng: random.Random) -> None:
    """``generateSkyline``: two grey background rows of buildings, then black ones with windows."""
    h = canvas.height
    for color in (2, 1):
        offset = -10
        while offset < canvas.width:
            offset += _rand(rng) % 8
            width = 10 + _rand(rng) % 9
            if color == 2:
                height = h // 2 + (_rand(rng) % h) // 2
            else:
                height = h // 2 + (_rand(rng) % h) // 3
            _skyscraper(canvas, offset, width, height, False, color, rng)
            offset += width // 2 if color == 2 else width + 1
    offset = -10
    while offset < canvas.width:
        offset += _rand(rng) % 8
        width = 5 + _rand(rng) % 14
        if width % 4:
            width += width % 3
        height = h // 3 + (_rand(rng) % h) // 2
        _skyscraper(canvas, offset, width, height, True, 0, rng)
        offset += width + 5


def lolwut6(cols: int, rows: int, rng: random.Random, version: str) -> bytes:
    cols = max(1, min(1000, cols))
    rows = max(1, min(1000, rows))
    canvas = Canvas(cols, rows, 3)
    _skyline(canvas, rng)
    out = bytearray()
    for y in range(rows):
        for x in range(cols):
            color = canvas.get_pixel(x, y)
            escape = _COLOR_ESCAPES[color] if color < 4 else _COLOR_ESCAPES[0]
            out += b"\033[" + escape + b" \033[0m"
        if y != rows - 1:
            out += b"\n"
    out += (
        b"\nDedicated to the 8 bit game developers of past and present.\n"
        b"Original 8 bit image from Plaguemon by hikikomori. Redis ver. %s\n" % version.encode()
    )
    return bytes(out)
