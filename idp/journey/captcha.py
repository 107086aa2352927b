"""The offline captcha: server-drawn puzzles, rounds, and the QA modes (puzzle, auto, loop).

Plain Python with no Flask request. A puzzle's state is a small JSON dict kept in the flow
(`flow.state["captcha"]`); the page is drawn again from its seed, so a refresh or another worker
shows the same round. The answer is kept in that state (never rendered) so the control API can
read it with `current_answer(flow)`.

The answer must not be readable in the page: each choice is a PNG picture drawn here (Pillow), with
speckles and lines over it, and no text or metadata; its radio button carries an opaque random id drawn
with the round. What a picture shows (an angle, a number of dots, a shape) stays on the server.
"""
import base64
import io
import math
import random
import secrets
from dataclasses import dataclass
from functools import lru_cache

from ..i18n import N_

# The captcha modes (the QA setting "captcha", IDP_CAPTCHA): the one list of them.
MODES = ("puzzle", "auto", "loop")
KINDS = ("arrow", "dots", "odd", "house")
# After this many answered rounds in loop mode, the page shows the guide's support advice.
LOOP_ROUNDS_BEFORE_SUPPORT = 3
# A new puzzle has 1 to MAX_ROUNDS rounds at random (the guide: "1 à plusieurs étapes"), unless QA sets the
# number (setting "captcha_rounds", 1 to MAX_SET_ROUNDS) to make a demo or a test deterministic.
MAX_ROUNDS = 3
MAX_SET_ROUNDS = 10
STATE_KEY = "captcha"

COLORS = ("#0067b8", "#107c10", "#c239b3", "#d83b01", "#008575", "#5c2e91")


@dataclass(frozen=True)
class Choice:
    # The opaque id of the choice (its radio button's value): random with the round, says nothing.
    value: str
    # What is drawn, server-side only: ("polygon", points, color) and ("circle", (x, y), radius, color) in a
    # 100 x 100 box, after rotation and scaling.
    shapes: tuple
    # What the picture shows, for the tests of the drawings (never rendered): angle, dots or shape.
    shows: tuple
    # The seed of the speckles and lines drawn over the picture.
    noise: int

    @property
    def png(self):
        """The picture as PNG bytes."""
        return _png(self.shapes, self.noise)

    @property
    def data_uri(self):
        return "data:image/png;base64," + base64.b64encode(self.png).decode()


@dataclass(frozen=True)
class Puzzle:
    kind: str
    # A French message id with %(name)s placeholders, translated by the page with `values`.
    prompt: str
    choices: tuple
    values: tuple = ()

    @property
    def text(self):
        """The prompt with its values filled in (French)."""
        return self.prompt % dict(self.values)


def resolve_mode(configured, setting=None):
    """Return the effective mode: the QA setting wins over the configuration; unknown values mean puzzle."""
    for value in (setting, configured):
        if value in MODES:
            return value
    return "puzzle"


def new_state(rng=None, rounds=None):
    """Start a puzzle of `rounds` rounds, or 1 to MAX_ROUNDS at random when None."""
    rng = rng or random.SystemRandom()
    total = rounds if rounds is not None else rng.randint(1, MAX_ROUNDS)
    state = {"round": 1, "rounds": total, "failures": 0, "answered": 0}
    return _with_round(state, rng)


def _with_round(state, rng):
    """Draw a new round: a fresh seed, kind and answer."""
    seed = rng.getrandbits(48)
    puzzle, answer = _draw(seed)
    return {**state, "seed": seed, "kind": puzzle.kind, "answer": answer}


def check(state, value, mode="puzzle", rng=None):
    """Answer the current round; return (outcome, new_state), outcome in "passed", "next", "wrong", "loop"."""
    rng = rng or random.SystemRandom()
    answered = state.get("answered", 0) + 1
    if mode == "auto":
        return "passed", {**state, "answered": answered}
    if mode == "loop":
        # Never passes: each answer brings another round, as the guide's "tourne en boucle".
        return "loop", _with_round({**state, "answered": answered, "round": state["round"] + 1,
                                     "rounds": state["rounds"] + 1}, rng)
    if value is not None and secrets.compare_digest(str(value), str(state.get("answer", ""))):
        if state["round"] >= state["rounds"]:
            return "passed", {**state, "answered": answered}
        return "next", _with_round({**state, "answered": answered, "round": state["round"] + 1}, rng)
    # A wrong answer adds a round and draws a new puzzle.
    return "wrong", _with_round({**state, "answered": answered, "failures": state.get("failures", 0) + 1,
                                 "rounds": state["rounds"] + 1}, rng)


def show_support(state, mode):
    """True when the page should show the guide's advice to contact support (the loop case)."""
    return mode == "loop" and state.get("answered", 0) >= LOOP_ROUNDS_BEFORE_SUPPORT


def current_answer(flow):
    """Return the value of the right choice of the flow's current round, or None when no puzzle is open."""
    state = flow.get(STATE_KEY) if flow is not None else None
    return state.get("answer") if state else None


def current_answer_for_email(email):
    """Return the answer of the newest open flow of this email that shows a captcha (for the control API)."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Flow

    flows = db.session.scalars(
        select(Flow).where(Flow.email == (email or "").strip().lower(), Flow.completed_at.is_(None))
        .order_by(Flow.updated_at.desc(), Flow.created_at.desc())
    )
    for flow in flows:
        answer = current_answer(flow)
        if answer:
            return answer
    return None


# --- drawing ---------------------------------------------------------------------------------

def build(seed):
    """Draw the puzzle of a seed: the same seed always gives the same prompt, choices and order."""
    return _draw(seed)[0]


def _draw(seed):
    """Return (puzzle, value of the right choice) for a seed."""
    rng = random.Random(seed)
    kind = KINDS[rng.randrange(len(KINDS))]
    count = rng.randint(4, 6)
    values = [f"{rng.getrandbits(40):010x}" for _ in range(count)]
    prompt, drawings, right, prompt_values = _DRAW[kind](rng, count)
    choices = tuple(Choice(value=v, shapes=shapes, shows=tuple(shows.items()), noise=rng.getrandbits(32))
                    for v, (shapes, shows) in zip(values, drawings))
    return Puzzle(kind=kind, prompt=prompt, choices=choices, values=tuple(prompt_values.items())), values[right]


# --- shapes in a 100 x 100 box --------------------------------------------------------------------

def _turned(points, angle, scale=1.0, shift=(0, 0)):
    """Rotate points by `angle` degrees (clockwise on screen) and scale them around the centre (50, 50)."""
    radians = math.radians(angle)
    cos, sin = math.cos(radians), math.sin(radians)
    turned = []
    for x, y in points:
        x, y = (x + shift[0] - 50) * scale, (y + shift[1] - 50) * scale
        turned.append((round(50 + x * cos - y * sin, 1), round(50 + x * sin + y * cos, 1)))
    return tuple(turned)


def _rect(x, y, width, height):
    return ((x, y), (x + width, y), (x + width, y + height), (x, y + height))


def _arrow(rng, count):
    angles = [0] + rng.sample([45, 90, 135, 180, 225, 270, 315], count - 1)
    rng.shuffle(angles)
    drawings = []
    for angle in angles:
        color = COLORS[rng.randrange(len(COLORS))]
        shift = (rng.randint(-3, 3), 0)
        shapes = (("polygon", _turned(_rect(44, 40, 12, 42), angle, shift=shift), color),
                  ("polygon", _turned(((50, 14), (30, 44), (70, 44)), angle, shift=shift), color))
        drawings.append((shapes, {"angle": angle}))
    return N_("Choisissez l'image où la flèche pointe vers le haut."), drawings, angles.index(0), {}


def _dots(rng, count):
    target = rng.randint(2, 7)
    numbers = [target] + rng.sample([n for n in range(1, 10) if n != target], count - 1)
    rng.shuffle(numbers)
    drawings = []
    for number in numbers:
        color = COLORS[rng.randrange(len(COLORS))]
        shapes = tuple(("circle", (x, y), 7, color) for x, y in _spots(rng, number))
        drawings.append((shapes, {"dots": number}))
    return N_("Choisissez l'image qui contient exactement %(n)s points."), drawings, numbers.index(target), {"n": target}


def _spots(rng, number):
    """Place `number` dots on a 4x4 grid with a little jitter, never overlapping."""
    cells = rng.sample(range(16), number)
    return [(16 + (c % 4) * 22 + rng.randint(-3, 3), 16 + (c // 4) * 22 + rng.randint(-3, 3)) for c in cells]


def _star_points():
    points = []
    for i in range(10):
        radius = 32 if i % 2 == 0 else 13
        angle = math.pi / 2 + i * math.pi / 5
        points.append((round(50 + radius * math.cos(angle), 1), round(50 - radius * math.sin(angle), 1)))
    return tuple(points)


SHAPES = {
    "circle": None,
    "square": _rect(24, 24, 52, 52),
    "triangle": ((50, 18), (82, 78), (18, 78)),
    "star": _star_points(),
}


def _odd(rng, count):
    common, odd = rng.sample(sorted(SHAPES), 2)
    odd_index = rng.randrange(count)
    drawings = []
    for index in range(count):
        shape = odd if index == odd_index else common
        color = COLORS[rng.randrange(len(COLORS))]
        angle = rng.choice([0, 0, 15, -15]) if shape != "circle" else 0
        scale = rng.choice([0.8, 0.9, 1.0])
        if shape == "circle":
            drawn = (("circle", (50, 50), round(28 * scale, 1), color),)
        else:
            drawn = (("polygon", _turned(SHAPES[shape], angle, scale), color),)
        drawings.append((drawn, {"shape": shape}))
    return N_("Choisissez l'image qui est différente des autres."), drawings, odd_index, {}


def _house(rng, count):
    angles = [0] + rng.sample([60, 90, 120, 180, 240, 270, 300], count - 1)
    rng.shuffle(angles)
    drawings = []
    for angle in angles:
        wall = COLORS[rng.randrange(len(COLORS))]
        shapes = (("polygon", _turned(((50, 16), (82, 46), (18, 46)), angle), "#a4262c"),
                  ("polygon", _turned(_rect(26, 46, 48, 36), angle), wall),
                  ("polygon", _turned(_rect(44, 62, 12, 20), angle), "#ffffff"))
        drawings.append((shapes, {"angle": angle}))
    return N_("Choisissez l'image où la maison est à l'endroit (toit en haut)."), drawings, angles.index(0), {}


_DRAW = {"arrow": _arrow, "dots": _dots, "odd": _odd, "house": _house}


# --- pictures -----------------------------------------------------------------------------------

SIZE = 100
# Drawn larger, then reduced: smooth edges, as a browser would draw them.
OVERSAMPLE = 3
NOISE_COLORS = ("#c8c6c4", "#a19f9d", "#d2d0ce", "#8a8886", "#e1dfdd")


@lru_cache(maxsize=256)
def _png(shapes, noise):
    """Draw the shapes, with speckles under and thin lines over them, as a PNG without any text chunk."""
    from PIL import Image, ImageDraw  # imported on first use: only the captcha screen draws pictures

    big = SIZE * OVERSAMPLE
    image = Image.new("RGB", (big, big), "#f7f7f7")
    pen = ImageDraw.Draw(image)
    rng = random.Random(noise)
    for _ in range(rng.randint(60, 120)):
        x, y, r = rng.uniform(0, big), rng.uniform(0, big), rng.uniform(1, 3) * OVERSAMPLE
        pen.ellipse((x - r, y - r, x + r, y + r), fill=rng.choice(NOISE_COLORS))
    for shape in shapes:
        if shape[0] == "circle":
            (x, y), r, color = shape[1], shape[2], shape[3]
            pen.ellipse(((x - r) * OVERSAMPLE, (y - r) * OVERSAMPLE, (x + r) * OVERSAMPLE, (y + r) * OVERSAMPLE),
                        fill=color)
        else:
            pen.polygon([(x * OVERSAMPLE, y * OVERSAMPLE) for x, y in shape[1]], fill=shape[2])
    for _ in range(rng.randint(3, 6)):
        points = [(rng.uniform(0, big), rng.uniform(0, big)) for _ in range(2)]
        pen.line(points, fill=rng.choice(NOISE_COLORS), width=OVERSAMPLE)
    pen.rectangle((0, 0, big - 1, big - 1), outline="#c8c6c4", width=OVERSAMPLE)
    out = io.BytesIO()
    image.resize((SIZE * 2, SIZE * 2), Image.LANCZOS).save(out, format="PNG", optimize=False)
    return out.getvalue()
