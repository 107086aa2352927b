"""The guide's steps as data (idp/trainer/steps.py): every screen of the journey has its place in the guide, in the
guide's order, with the guide's own words, and each callout points at an element the real page has."""
import ast
import re
from pathlib import Path

import pytest

from idp.blueprints.screens import SCREENS
from idp.trainer import steps

from ..guide_order import ACCOUNT, BRANCHES, STEP_TWO

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT.parent.parent / "shared" / "guide" / "parcours-connexion-espace-client.txt")
if not GUIDE.exists():
    GUIDE = Path("/work/shared/guide/parcours-connexion-espace-client.txt")
PHONE = ["phone-home", "phone-authenticator", "phone-add-account", "phone-account-type", "phone-scan",
         "phone-notification", "phone-messages"]
CLIENT = ["client-connect", "client-cgu", "client-dashboard"]


def flat(text):
    return re.sub(r"\s+", " ", text.replace("**", "")).strip()


def test_every_screen_of_the_journey_has_an_entry():
    journey = set(SCREENS) | set(PHONE) | set(CLIENT) | {"mail-invitation", "mail-code"}
    assert journey - set(steps.STEPS) == set()
    for screen, step in steps.STEPS.items():
        assert step.screen == screen and step.title and step.device in ("pc", "mail", "phone")


@pytest.mark.parametrize("method", steps.METHODS)
def test_the_order_is_the_guides_on_each_branch(method):
    """The IdP screens, in the order the guide's browser test walks them (mails and Espace Client around them)."""
    branch = BRANCHES[method]
    part1 = [s for s in steps.ORDER[method][1] if steps.STEPS[s].device == "pc"]
    assert part1 == [*ACCOUNT, *branch["proofup"], "proofup-success"]
    assert steps.ORDER[method][2] == ["client-connect", *STEP_TWO]
    assert steps.ORDER[method][1][0] == "mail-invitation"  # the guide opens on the invitation mail
    assert steps.ORDER[method][1].index("mail-code") == steps.ORDER[method][1].index("signup-verify-email") + 1


def test_the_order_follows_the_guides_pages():
    """Each step's first callout appears in the guide's text, and in the same order as the steps."""
    guide = flat(GUIDE.read_text(encoding="utf-8"))
    for method in steps.METHODS:
        position = 0
        for part, screens in steps.guide(method):
            assert flat(part.title) in guide and flat(part.banner) in guide
            for step in screens:
                if not step.callouts:
                    continue
                text = flat(step.callouts[0].text)
                found = guide.find(text, position)
                assert found >= 0, (method, step.screen, text)
                position = found


def test_every_callout_is_the_guides_own_sentence():
    guide = flat(GUIDE.read_text(encoding="utf-8"))
    for step in steps.STEPS.values():
        for callout in step.callouts:
            assert flat(callout.text) in guide, (step.screen, callout.text)


def test_places_number_the_steps_per_part_and_branch():
    place = steps.place("email", steps.AUTHENTICATOR)
    assert (place.part, place.number, place.total) == (1, 2, 16)
    assert place.part_title == "Paramétrage de votre compte"
    assert steps.place("proofup-app-qr", steps.SMS).number is None  # the other branch's screen: unnumbered
    assert (steps.place("proofup-sms-code", steps.SMS).number, steps.place("proofup-sms-code", steps.SMS).total) \
        == (14, 16)
    consent = steps.place("app-consent", steps.SMS)
    assert (consent.part, consent.number, consent.total) == (2, 2, 4)
    assert consent.part_title == "Validation de votre accès Espace Client"
    phone = steps.place("phone-scan")
    assert (phone.part, phone.number, phone.total, phone.step.beside) == (1, 4, 5, "proofup-app-qr")
    assert steps.place("kmsi").part is None and steps.place("kmsi").part_title == "Prochaines connexions"
    assert steps.place("nowhere") is None


def test_the_mailbox_page_is_the_invitation_then_the_codes_mail():
    assert steps.for_page("mailbox-message").screen == "mail-invitation"
    assert steps.for_page("mailbox-message", after="signup-verify-email").screen == "mail-code"
    assert steps.for_page("captcha").screen == "captcha"


def test_every_callout_points_at_an_element_of_its_page():
    """The selector of each callout is an id or data-testid that the screen's template (or one it includes) has."""
    templates = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "idp" / "templates").rglob("*.html"))
    templates += "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "client_app" / "templates").rglob("*.html"))
    for step in steps.STEPS.values():
        for callout in step.callouts:
            if callout.target is None:
                continue
            match = re.fullmatch(r'#([\w-]+)|\[data-testid="([\w-]+)"\]', callout.target)
            assert match, callout.target
            if match[1]:
                assert f'id="{match[1]}"' in templates, (step.screen, callout.target)
            else:
                assert f'data-testid="{match[2]}"' in templates, (step.screen, callout.target)


def test_the_texts_are_extractable_msgids():
    """Every title and callout is a literal inside N_(…), which pybabel extracts, not built at run time."""
    tree = ast.parse((ROOT / "idp" / "trainer" / "steps.py").read_text(encoding="utf-8"))
    marked = {node.args[0].value for node in ast.walk(tree)
              if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "N_"
              and isinstance(node.args[0], ast.Constant)}
    for step in steps.STEPS.values():
        for text in (step.title, *(c.text for c in step.callouts)):
            assert text in marked, text
    assert {part.title for part in steps.PARTS.values()} <= marked and steps.RETURNING in marked
