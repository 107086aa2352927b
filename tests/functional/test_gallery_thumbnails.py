"""The gallery's thumbnails (issue 13, « a gallery of every screen »): one small image of the real screen per
screen the guide's journey shows, shipped in idp/static/img/screens and made by `idp-emulator guide --thumbnails`
(Chromium, demo mode: tests/live/test_guide_generator.py drives it); here, in-process and without Chromium, that every
screen of both parts has its image and that the gallery shows it."""
import shutil
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from idp.trainer import guide, steps

FOLDER = Path(guide.__file__).resolve().parent.parent / "static" / "img" / "screens"


def journey_screens():
    """Every screen the guide's journey photographs, both methods: each step of both parts, and the phone's."""
    screens = []
    for method in steps.METHODS:
        for _, part in steps.guide(method):
            screens += [step.screen for step in part]
        screens += steps.PHONE_ORDER[method]
    return sorted(set(screens))


class Cards(HTMLParser):
    """The gallery's cards: {screen: [(tag, attributes)] inside its card}."""

    def __init__(self):
        super().__init__()
        self.cards, self.current, self.depth = {}, None, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "li" and attrs.get("data-testid") == "screen-card":
            self.current, self.depth = attrs["data-screen-id"], 0
            self.cards[self.current] = []
        elif self.current:
            self.cards[self.current].append((tag, attrs))
            if tag == "li":
                self.depth += 1

    def handle_endtag(self, tag):
        if tag == "li" and self.current:
            if self.depth:
                self.depth -= 1
            else:
                self.current = None


def gallery(client):
    response = client.get("/_emulator/screens")
    assert response.status_code == 200
    parser = Cards()
    parser.feed(response.get_data(as_text=True))
    return parser.cards


def images(card):
    return [attrs for tag, attrs in card if tag == "img"]


def test_the_package_ships_the_folder_with_the_package_data():
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    assert '"static/**/*"' in pyproject  # idp's package-data globs take idp/static/img/screens/*.webp
    assert FOLDER == guide.THUMBNAILS


@pytest.mark.parametrize("screen", journey_screens())
def test_every_journey_screen_has_its_thumbnail(screen):
    path = FOLDER / f"{screen}.webp"
    assert path.is_file(), f"no thumbnail for {screen}: run `idp-emulator guide --thumbnails idp/static/img/screens`"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "WEBP"
        assert image.width == guide.THUMBNAIL_WIDTH
        assert 100 < image.height < 2 * guide.THUMBNAIL_WIDTH * 1.1  # a PC's landscape screen or a phone's tall one
        assert len(image.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 8  # a real screen, not a blank image


def test_the_thumbnails_are_all_screens_and_small():
    files = sorted(FOLDER.glob("*"))
    assert {path.stem for path in files} <= set(steps.STEPS)  # a renamed screen leaves no orphan
    assert all(path.suffix == ".webp" for path in files)
    assert sum(path.stat().st_size for path in files) < 1_000_000


def test_the_gallery_shows_each_journey_screen_as_its_image(client):
    cards = gallery(client)
    assert set(journey_screens()) <= set(cards)
    titles = {}
    for screen in journey_screens():
        shown = images(cards[screen])
        assert len(shown) == 1, screen
        assert shown[0]["src"] == f"/static/img/screens/{screen}.webp"
        assert shown[0]["loading"] == "lazy"
        assert shown[0]["alt"].strip()
        titles[screen] = shown[0]["alt"]
        assert not any("thumb" in attrs.get("class", "").split() for _, attrs in cards[screen])
        response = client.get(shown[0]["src"])
        assert response.status_code == 200 and response.mimetype == "image/webp", screen
        assert response.data == (FOLDER / f"{screen}.webp").read_bytes()
        response.close()
    assert titles["proofup-app-qr"] == "Scanner le code QR"  # the step's title, as on the card


def test_a_screen_without_a_thumbnail_keeps_its_text_card(app, client, tmp_path):
    cards = gallery(client)
    others = [screen for screen in cards if screen not in journey_screens()]
    assert others  # the returning sign-in screens: the guide's journey never shows them
    for screen in others:
        assert images(cards[screen]) == []
        assert any("thumb" in attrs.get("class", "").split() for _, attrs in cards[screen])
    # A journey screen whose image is missing falls back to its text card too (never a broken <img>).
    static = tmp_path / "static"
    shutil.copytree(Path(app.static_folder), static)
    (static / "img" / "screens" / "captcha.webp").unlink()
    app.static_folder = str(static)
    cards = gallery(client)
    assert images(cards["captcha"]) == []
    assert images(cards["email"])[0]["src"] == "/static/img/screens/email.webp"


def test_a_thumbnail_is_the_screenshot_made_small():
    shot = Image.new("RGB", (1280, 800), "white")
    shot.paste((0, 103, 184), (100, 100, 600, 300))
    data = BytesIO()
    shot.save(data, "PNG")
    small = guide.thumbnail(data.getvalue())
    assert small == guide.thumbnail(data.getvalue())  # the same screenshot, the same bytes
    with Image.open(BytesIO(small)) as image:
        assert image.format == "WEBP" and image.size == (320, 200)
        red, green, blue = image.convert("RGB").getpixel((80, 50))
        assert abs(red - 0) < 20 and abs(green - 103) < 20 and abs(blue - 184) < 20
