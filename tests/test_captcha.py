"""The offline captcha as plain Python: puzzles drawn from a seed, rounds, modes (no Flask)."""
import random
import re
import xml.etree.ElementTree as ET

import pytest

from idp.journey import captcha

SVG = "{http://www.w3.org/2000/svg}"


class FakeFlow:
    def __init__(self, state):
        self.state = state

    def get(self, key, default=None):
        return self.state.get(key, default)


def puzzle_and_answer(seed):
    state = {"round": 1, "rounds": 1, "failures": 0, "answered": 0}
    rng = random.Random(seed)
    state = captcha._with_round(state, rng)
    return captcha.build(state["seed"]), state["answer"]


def svg_of(puzzle, value):
    return next(c.svg for c in puzzle.choices if c.value == value)


def test_same_seed_draws_the_same_puzzle():
    assert captcha.build(1234) == captcha.build(1234)
    assert captcha.build(1234) != captcha.build(1235)


def test_every_kind_is_drawn_with_four_to_six_distinct_choices():
    kinds = set()
    for seed in range(200):
        puzzle, answer = puzzle_and_answer(seed)
        kinds.add(puzzle.kind)
        values = [c.value for c in puzzle.choices]
        assert 4 <= len(values) <= 6 and len(set(values)) == len(values)
        assert answer in values
        assert puzzle.text.startswith("Choisissez l'image") and "%" not in puzzle.text
        for choice in puzzle.choices:
            root = ET.fromstring(choice.svg)  # well-formed, inline-able SVG
            assert root.tag == SVG + "svg" and root.get("role") == "img"
            assert choice.value not in choice.svg
    assert kinds == set(captcha.KINDS) and len(kinds) >= 3


def test_answers_are_right_for_what_is_drawn():
    checked = set()
    for seed in range(300):
        puzzle, answer = puzzle_and_answer(seed)
        drawing = svg_of(puzzle, answer)
        others = [c.svg for c in puzzle.choices if c.value != answer]
        if puzzle.kind in ("arrow", "house"):
            assert "rotate(0 50 50)" in drawing
            assert all("rotate(0 50 50)" not in other for other in others)
        elif puzzle.kind == "dots":
            wanted = int(re.search(r"exactement (\d) points", puzzle.text).group(1))
            assert drawing.count("<circle") == wanted
            assert all(other.count("<circle") != wanted for other in others)
        elif puzzle.kind == "odd":
            shape = _shape(drawing)
            assert all(_shape(other) != shape for other in others)
            assert len({_shape(other) for other in others}) == 1
        checked.add(puzzle.kind)
    assert checked == set(captcha.KINDS)


def _shape(svg):
    """Name the shape drawn after the frame (the first element)."""
    drawn = svg.split("/>", 1)[1]
    for marker, name in (("<circle", "circle"), ('<polygon points="50,18', "triangle"), ('<rect x="24"', "square"),
                         ("<polygon", "star")):
        if marker in drawn:
            return name
    return None


def test_new_state_has_one_to_three_rounds():
    seen = {captcha.new_state(random.Random(seed))["rounds"] for seed in range(100)}
    assert seen == {1, 2, 3}
    assert captcha.new_state(random.Random(1), rounds=2)["rounds"] == 2


def test_right_answers_go_through_every_round_then_pass():
    rng = random.Random(7)
    state = captcha.new_state(rng, rounds=3)
    outcomes = []
    for _ in range(3):
        outcome, state = captcha.check(state, state["answer"], rng=rng)
        outcomes.append(outcome)
    assert outcomes == ["next", "next", "passed"]


def test_wrong_answer_adds_a_round_with_a_new_puzzle():
    rng = random.Random(8)
    state = captcha.new_state(rng, rounds=1)
    outcome, after = captcha.check(state, "not-the-answer", rng=rng)
    assert outcome == "wrong"
    assert after["rounds"] == 2 and after["round"] == 1 and after["failures"] == 1
    assert after["seed"] != state["seed"]
    outcome, after = captcha.check(after, after["answer"], rng=rng)
    assert outcome == "next"
    outcome, after = captcha.check(after, after["answer"], rng=rng)
    assert outcome == "passed"


def test_missing_answer_is_wrong_in_puzzle_mode():
    state = captcha.new_state(random.Random(3), rounds=1)
    assert captcha.check(state, None)[0] == "wrong"


def test_auto_mode_passes_on_first_click():
    state = captcha.new_state(random.Random(4), rounds=3)
    assert captcha.check(state, None, mode="auto")[0] == "passed"


def test_loop_mode_never_passes_and_asks_for_support_after_three_rounds():
    rng = random.Random(5)
    state = captcha.new_state(rng, rounds=1)
    for answered in range(1, 8):
        outcome, state = captcha.check(state, state["answer"], mode="loop", rng=rng)
        assert outcome == "loop"
        assert captcha.show_support(state, "loop") == (answered >= captcha.LOOP_ROUNDS_BEFORE_SUPPORT)
    assert not captcha.show_support(state, "puzzle")


@pytest.mark.parametrize("configured, setting, expected", [
    ("puzzle", None, "puzzle"), ("auto", None, "auto"), ("puzzle", "loop", "loop"), ("auto", "puzzle", "puzzle"),
    ("nonsense", None, "puzzle"), (None, "bogus", "puzzle"), ("loop", "bogus", "loop"),
])
def test_setting_overrides_configuration(configured, setting, expected):
    assert captcha.resolve_mode(configured, setting) == expected


def test_current_answer_reads_the_flow_state():
    state = captcha.new_state(random.Random(6))
    assert captcha.current_answer(FakeFlow({"captcha": state})) == state["answer"]
    assert captcha.current_answer(FakeFlow({})) is None
    assert captcha.current_answer(None) is None
