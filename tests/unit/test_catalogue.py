"""The English catalogue is complete and compiled, and no visible French string escapes it.

- `pybabel extract` (babel's own extractor, with the repository's babel.cfg) finds every string marked in the
  templates and the Python code; the .po has a non-empty English translation for each, with the same placeholders;
- the committed .mo is the .po compiled (what the app loads at run time);
- a template text or a Python string in the screens, devices, journey, protocol and trainer code that looks
  French but is not marked
  for the catalogue fails the test, apart from a short allow-list whose every entry says why it stays French.
"""
import ast
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "idp" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")

# French-looking: an accented letter or French guillemets, or a common French word in a text of several words.
ACCENTED = re.compile(r"[àâçéèêëîïôûùüÿœæÀÂÇÉÈÊËÎÏÔÛÙÜŒÆ«»]")
FRENCH_WORDS = re.compile(r"\b(le|la|les|des|du|une|votre|vos|vous|nous|est|pour|avec|sur|pas|dans|ou|et|au|aux|"
                          r"compte|connexion|mot de passe|suivant|précédent|annuler|accepter|retour|code reçu)\b",
                          re.IGNORECASE)

# Python strings that stay French on purpose: (file, the string's start) -> why.
PYTHON_ALLOWED = {
    ("idp/blueprints/signup.py", "janvier"): "the guide's French month names; English ones come from CLDR (babel)",
    ("idp/blueprints/signup.py", "février"): "idem",
    ("idp/blueprints/signup.py", "août"): "idem",
    ("idp/blueprints/signup.py", "décembre"): "idem",
    ("idp/blueprints/signup.py", "Connexion Espace client - Problème de Capcha"):
        "the subject the firm's (French) support desk asks for, as printed in its guide; a seed may change it",
    ("idp/blueprints/mailbox.py", "EEEE d MMMM y 'à' HH:mm"): "CLDR date pattern of the French page (English has its own)",
}
# Template texts that stay as they are: the product's and Microsoft's names, and AADSTS troubleshooting labels,
# which Microsoft's French pages also print in English.
TEMPLATE_ALLOWED = {"Request Id:", "Correlation Id:", "Timestamp:", "Message:"}


def python_files():
    for folder in ("blueprints", "devices", "journey", "oidc", "trainer"):
        yield from sorted((ROOT / "idp" / folder).glob("*.py"))


def template_files():
    yield from sorted((ROOT / "idp" / "templates").rglob("*.html"))
    yield from sorted((ROOT / "idp" / "templates").rglob("*.txt"))


def catalogue():
    with open(PO, "rb") as fh:
        return read_po(fh, locale="en")


def extracted():
    """{msgid: first place} for every string pybabel extract finds with babel.cfg."""
    with open(ROOT / "babel.cfg") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        found.setdefault(message, f"{filename}:{lineno}")
    return found


def test_babel_cfg_extracts_templates_and_python():
    found = extracted()
    places = " ".join(found.values())
    assert "idp/templates/login/email.html" in places and "idp/blueprints/login.py" in places
    assert "idp/devices/otp.py" in places  # the SMS text (an N_() mark)
    assert "Se connecter" in found and "Rester connecté ?" in found


def test_every_extracted_string_has_an_english_translation():
    catalog = catalogue()
    missing, untranslated = [], []
    for msgid, place in extracted().items():
        message = catalog.get(msgid)
        if message is None:
            missing.append(f"{place}: {msgid!r}")
        elif message.fuzzy or not (all(message.string) if isinstance(message.string, tuple) else message.string):
            untranslated.append(f"{place}: {msgid!r}")
    assert not missing, ("not in the catalogue — run pybabel extract/update (docs/translations.md):\n"
                         + "\n".join(missing))
    assert not untranslated, "no English translation (or fuzzy):\n" + "\n".join(untranslated)


def test_translations_keep_their_placeholders():
    """babel's checkers: a python-format msgstr uses exactly the msgid's %(name)s placeholders."""
    problems = [f"{message.id!r}: {errors}" for message, errors in catalogue().check() if errors]
    assert not problems, "\n".join(problems)


def test_compiled_catalogue_is_the_po():
    """The app loads the .mo: it must be `pybabel compile` of the committed .po."""
    with open(MO, "rb") as fh:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(fh) if m.id}
    source = {_key(m.id): _key(m.string) for m in catalogue() if m.id and not m.fuzzy
              and (all(m.string) if isinstance(m.id, tuple) else m.string)}
    assert compiled == source, "the .mo is stale: pybabel compile -d idp/translations"


def _key(value):
    """A plural's msgid/msgstr is a tuple in a .po and a list in a .mo."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _marked_calls(tree):
    """Ids of string constants inside gettext-like calls (their literals are in the catalogue)."""
    marked = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in ("_", "gettext", "ngettext", "N_", "lazy_gettext"):
                for arg in node.args:
                    for inner in ast.walk(arg):
                        marked.add(id(inner))
    return marked


def _docstrings(tree):
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def looks_french(text):
    text = text.strip()
    if not any(c.isalpha() for c in text):
        return False  # punctuation alone (the « » around a value) is no text to translate
    return bool(ACCENTED.search(text)) or (" " in text and bool(FRENCH_WORDS.search(text)))


def unmarked_python_strings(source, relative):
    """French-looking string literals of a Python file that no gettext call or N_() marks (docstrings aside)."""
    tree = ast.parse(source)
    skip = _marked_calls(tree) | _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if looks_french(node.value) and not any(relative == f and node.value.startswith(start)
                                                    for f, start in PYTHON_ALLOWED):
                yield f"{relative}:{node.lineno}: {node.value!r}"


def test_no_french_string_outside_the_catalogue_in_python():
    found = [line for path in python_files()
             for line in unmarked_python_strings(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())]
    assert not found, "French text not marked for the catalogue (wrap it in _() or N_()):\n" + "\n".join(found)


ATTRIBUTES = re.compile(r"""\b(?:alt|title|placeholder|aria-label|value)\s*=\s*(["'])(.*?)\1""", re.DOTALL)
TAGS = re.compile(r"<[^>]*>")
COMMENTS = re.compile(r"<!--.*?-->", re.DOTALL)


def template_texts(source):
    """The literal text of a template, outside {{ }}, {% %} and {# #}: what the page shows as written."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    for lineno, kind, value in env.lex(source):
        if kind == "data":
            yield lineno, value


def unmarked_template_texts(source, relative):
    """French-looking texts of a template written outside _(): text between tags and visible attributes."""
    for lineno, data in template_texts(source):
        data = COMMENTS.sub(" ", data)
        pieces = [value for _quote, value in ATTRIBUTES.findall(data)] + TAGS.sub("\n", data).split("\n")
        for piece in pieces:
            piece = piece.strip()
            if piece and piece not in TEMPLATE_ALLOWED and looks_french(piece):
                yield f"{relative}:{lineno}: {piece!r}"


def test_no_french_text_outside_the_catalogue_in_templates():
    found = [line for path in template_files()
             for line in unmarked_template_texts(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())]
    assert not found, "French text outside _() in templates:\n" + "\n".join(found)


def test_the_scanners_see_french():
    """The two scanners are not blind: an unmarked French text is reported, a marked one is not."""
    assert list(unmarked_template_texts('<p>Entrez le code</p><input placeholder="Numéro">', "t.html")) == [
        "t.html:1: 'Numéro'", "t.html:1: 'Entrez le code'"]
    assert list(unmarked_template_texts('<p>{{ _("Entrez le code") }}</p> Request Id:', "t.html")) == []
    source = 'x = "Vous avez refusé la demande."\ny = _("Entrez le code")\nz = "utf-8"\n'
    assert list(unmarked_python_strings(source, "p.py")) == ["p.py:1: 'Vous avez refusé la demande.'"]
