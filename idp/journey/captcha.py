"""The offline captcha: server-drawn SVG puzzles, rounds, and the QA modes (puzzle, auto, loop).

Plain Python with no Flask request. A puzzle's state is a small JSON dict kept in the flow
(`flow.state["captcha"]`); the page is drawn again from its seed, so a refresh or another worker
shows the same round. The answer is kept in that state (never rendered) so the control API can
read it with `current_answer(flow)`.
"""
import math
import random
import secrets
from dataclasses import dataclass

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
    value: str
    svg: str


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
    choices = tuple(Choice(value=v, svg=d) for v, d in zip(values, drawings))
    return Puzzle(kind=kind, prompt=prompt, choices=choices, values=tuple(prompt_values.items())), values[right]


def _svg(body, label):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="100" height="100" '
            f'role="img" aria-label="{label}" focusable="false">'
            f'<rect x="1" y="1" width="98" height="98" rx="6" fill="#f7f7f7" stroke="#c8c6c4"/>{body}</svg>')


def _arrow(rng, count):
    angles = [0] + rng.sample([45, 90, 135, 180, 225, 270, 315], count - 1)
    rng.shuffle(angles)
    drawings = []
    for index, angle in enumerate(angles):
        color = COLORS[rng.randrange(len(COLORS))]
        jitter = rng.randint(-3, 3)
        body = (f'<g transform="rotate({angle} 50 50) translate({jitter} 0)">'
                f'<rect x="44" y="40" width="12" height="42" fill="{color}"/>'
                f'<polygon points="50,14 30,44 70,44" fill="{color}"/></g>')
        drawings.append(_svg(body, f"Image {index + 1}"))
    return N_("Choisissez l'image où la flèche pointe vers le haut."), drawings, angles.index(0), {}


def _dots(rng, count):
    target = rng.randint(2, 7)
    numbers = [target] + rng.sample([n for n in range(1, 10) if n != target], count - 1)
    rng.shuffle(numbers)
    drawings = []
    for index, number in enumerate(numbers):
        color = COLORS[rng.randrange(len(COLORS))]
        circles = "".join(f'<circle cx="{x}" cy="{y}" r="7" fill="{color}"/>' for x, y in _spots(rng, number))
        drawings.append(_svg(circles, f"Image {index + 1}"))
    return N_("Choisissez l'image qui contient exactement %(n)s points."), drawings, numbers.index(target), {"n": target}


def _spots(rng, number):
    """Place `number` dots on a 4x4 grid with a little jitter, never overlapping."""
    cells = rng.sample(range(16), number)
    return [(16 + (c % 4) * 22 + rng.randint(-3, 3), 16 + (c // 4) * 22 + rng.randint(-3, 3)) for c in cells]


SHAPES = {
    "circle": lambda c: f'<circle cx="50" cy="50" r="28" fill="{c}"/>',
    "square": lambda c: f'<rect x="24" y="24" width="52" height="52" fill="{c}"/>',
    "triangle": lambda c: f'<polygon points="50,18 82,78 18,78" fill="{c}"/>',
    "star": lambda c: '<polygon points="{}" fill="{}"/>'.format(_star_points(), c),
}


def _star_points():
    points = []
    for i in range(10):
        radius = 32 if i % 2 == 0 else 13
        angle = math.pi / 2 + i * math.pi / 5
        points.append(f"{50 + radius * math.cos(angle):.1f},{50 - radius * math.sin(angle):.1f}")
    return " ".join(points)


def _odd(rng, count):
    common, odd = rng.sample(sorted(SHAPES), 2)
    odd_index = rng.randrange(count)
    drawings = []
    for index in range(count):
        shape = odd if index == odd_index else common
        color = COLORS[rng.randrange(len(COLORS))]
        angle = rng.choice([0, 0, 15, -15]) if shape != "circle" else 0
        scale = rng.choice([0.8, 0.9, 1.0])
        body = f'<g transform="rotate({angle} 50 50) translate(50 50) scale({scale}) translate(-50 -50)">' \
               f'{SHAPES[shape](color)}</g>'
        drawings.append(_svg(body, f"Image {index + 1}"))
    return N_("Choisissez l'image qui est différente des autres."), drawings, odd_index, {}


def _house(rng, count):
    angles = [0] + rng.sample([60, 90, 120, 180, 240, 270, 300], count - 1)
    rng.shuffle(angles)
    drawings = []
    for index, angle in enumerate(angles):
        wall = COLORS[rng.randrange(len(COLORS))]
        body = (f'<g transform="rotate({angle} 50 50)">'
                f'<polygon points="50,16 82,46 18,46" fill="#a4262c"/>'
                f'<rect x="26" y="46" width="48" height="36" fill="{wall}"/>'
                f'<rect x="44" y="62" width="12" height="20" fill="#fff"/></g>')
        drawings.append(_svg(body, f"Image {index + 1}"))
    return N_("Choisissez l'image où la maison est à l'endroit (toit en haut)."), drawings, angles.index(0), {}


_DRAW = {"arrow": _arrow, "dots": _dots, "odd": _odd, "house": _house}
