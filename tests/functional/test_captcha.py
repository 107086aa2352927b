"""The offline captcha: puzzles drawn from a seed, rounds, modes (plain Python), and a page whose markup does
not give the answer away."""
import base64
import random
import re
import struct

import pytest

from idp.journey import captcha

from .test_signup import answer_of, to_captcha

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


def shows(puzzle, value):
    return next(dict(c.shows) for c in puzzle.choices if c.value == value)


def png_chunks(data):
    """The chunk types of a PNG file, in order."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        length = struct.unpack(">I", data[offset:offset + 4])[0]
        chunks.append(data[offset + 4:offset + 8].decode("ascii"))
        offset += 12 + length
    return chunks


def test_same_seed_draws_the_same_puzzle():
    assert captcha.build(1234) == captcha.build(1234)
    assert captcha.build(1234) != captcha.build(1235)
    assert [c.png for c in captcha.build(1234).choices] == [c.png for c in captcha.build(1234).choices]


def test_every_kind_is_drawn_with_four_to_six_distinct_choices():
    kinds = set()
    for seed in range(200):
        puzzle, answer = puzzle_and_answer(seed)
        kinds.add(puzzle.kind)
        values = [c.value for c in puzzle.choices]
        assert 4 <= len(values) <= 6 and len(set(values)) == len(values)
        assert answer in values
        assert puzzle.text.startswith("Choisissez l'image") and "%" not in puzzle.text
    assert kinds == set(captcha.KINDS) and len(kinds) >= 3


def test_pictures_are_plain_pngs_with_no_text_in_them():
    for seed in range(12):
        for choice in captcha.build(seed).choices:
            data = choice.png
            # Only the picture's header, pixels and end: no tEXt/iTXt/zTXt (or any other) chunk that could name it.
            assert set(png_chunks(data)) == {"IHDR", "IDAT", "IEND"}
            assert choice.data_uri == "data:image/png;base64," + base64.b64encode(data).decode()
            for word in (choice.value, *captcha.SHAPES, "<svg", "angle", "dots", "shape"):
                assert word.encode() not in data


def test_answers_are_right_for_what_is_drawn():
    checked = set()
    for seed in range(300):
        puzzle, answer = puzzle_and_answer(seed)
        right = shows(puzzle, answer)
        others = [dict(c.shows) for c in puzzle.choices if c.value != answer]
        if puzzle.kind in ("arrow", "house"):
            assert right == {"angle": 0} and all(other["angle"] != 0 for other in others)
        elif puzzle.kind == "dots":
            wanted = int(re.search(r"exactement (\d) points", puzzle.text).group(1))
            assert right["dots"] == wanted and all(other["dots"] != wanted for other in others)
            circles = next(c.shapes for c in puzzle.choices if c.value == answer)
            assert len(circles) == wanted and all(shape[0] == "circle" for shape in circles)
        elif puzzle.kind == "odd":
            assert all(other["shape"] != right["shape"] for other in others)
            assert len({other["shape"] for other in others}) == 1
        checked.add(puzzle.kind)
    assert checked == set(captcha.KINDS)


def test_only_the_right_arrow_or_house_has_its_tip_straight_up():
    checked = set()
    for seed in range(200):
        puzzle, answer = captcha._draw(seed)
        if puzzle.kind not in ("arrow", "house"):
            continue
        for choice in puzzle.choices:
            # The arrow's head and the house's roof are drawn first-point-first from their tip.
            part = choice.shapes[1] if puzzle.kind == "arrow" else choice.shapes[0]
            x, y = part[1][0]
            assert (abs(x - 50) <= 3 and y < 20) == (choice.value == answer)
        checked.add(puzzle.kind)
    assert checked == {"arrow", "house"}


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


def test_the_page_does_not_say_which_picture_is_right(app, browser):
    page = to_captcha(browser)
    answer = answer_of(app, page)
    fieldset = page.testid("captcha")
    assert fieldset.find("svg") is None
    cells = fieldset.find_all(class_="captcha-cell")
    assert 4 <= len(cells) <= 6
    seen, ids = set(), []
    for index, cell in enumerate(cells, 1):
        radio, picture = cell.find("input"), cell.find("img")
        assert re.fullmatch(r"[0-9a-f]{10}", radio["value"])
        ids.append(radio["value"])
        # The picture is in the page itself (no URL to fetch), a PNG with nothing but pixels.
        assert picture["src"].startswith("data:image/png;base64,")
        assert set(png_chunks(base64.b64decode(picture["src"].split(",", 1)[1]))) == {"IHDR", "IDAT", "IEND"}
        # Take out the random id, the position and the pixels: every choice's markup is then the same.
        seen.add(str(cell).replace(radio["value"], "ID").replace(picture["src"], "PICTURE")
                 .replace(f"choice-{index}", "choice-N").replace(f"Image {index}", "Image N"))
    assert len(seen) == 1, seen
    assert page.response.get_data(as_text=True).count(answer) == 1  # only as the value of its radio button
    # A new round (here after a wrong answer) has new ids.
    wrong = next(value for value in ids if value != answer)
    page = browser.submit(page, {"choice": wrong}, button="idSIButton9")
    assert page.screen == "captcha" and page.testid("error")["data-error"] == "wrong"
    assert not {c["value"] for c in page.testids("captcha-choice")} & set(ids)
