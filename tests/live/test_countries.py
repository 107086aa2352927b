"""The country lists (proof-up phone calling codes, sign-up "Pays/région"): every ISO 3166-1 country once, in
French, in French collation order, France first on the phone screen. ISO codes come from pycountry and the
reference collation from ICU (Node's Intl.Collator("fr")), both independent of the code under test."""
import json
import re
import shutil
import subprocess

import pycountry

from idp.countries import calling_codes, countries, region_for_dial_code
from idp.extensions import db
from idp.models import User

from ..mfa_steps import read_sms_codes
from ..functional.test_proofup import reach_sms_phone

ISO = {country.alpha_2 for country in pycountry.countries}
# ISO 3166-1 countries with no telephone numbering plan of their own (phonenumbers has no region for them).
WITHOUT_NUMBERING_PLAN = {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}
# Regions with their own numbering plan that ISO 3166-1 does not list as countries.
NOT_ISO_WITH_NUMBERING_PLAN = {"AC", "TA", "XK"}
LABEL = re.compile(r"^(?P<name>.+) \(\+(?P<code>[1-9]\d{0,2})\)$")


def icu_french_order(names):
    """The names sorted by ICU's French collation, as a browser or Microsoft's pages would sort them."""
    node = shutil.which("node")
    assert node, "Node.js (with its ICU) is needed to check the French collation order"
    script = ("let d='';process.stdin.on('data',c=>d+=c).on('end',()=>{const a=JSON.parse(d);"
              "a.sort(new Intl.Collator('fr').compare);process.stdout.write(JSON.stringify(a))})")
    done = subprocess.run([node, "-e", script], input=json.dumps(names), capture_output=True, text=True,
                          check=True, timeout=30)
    return json.loads(done.stdout)


def test_phone_list_has_every_iso_country_with_a_numbering_plan_once_france_first():
    rows = calling_codes()
    regions = [region for region, _, _ in rows]
    assert len(regions) == len(set(regions))
    assert set(regions) == (ISO - WITHOUT_NUMBERING_PLAN) | NOT_ISO_WITH_NUMBERING_PLAN
    assert rows[0] == ("FR", "33", "France (+33)")
    labels = [label for _, _, label in rows]
    assert labels.count("France (+33)") == 1 and labels.count("Allemagne (+49)") == 1
    for region, code, label in rows:
        match = LABEL.match(label)
        assert match and match["code"] == code, label


def test_phone_list_is_in_french_and_in_french_collation_order():
    labels = [label for _, _, label in calling_codes()]
    names = [LABEL.match(label)["name"] for label in labels]
    english = {"Germany", "Egypt", "Gambia, The", "Equatorial Guinea", "Eritrea", "Estonia", "Ethiopia", "Finland",
               "Faroe Islands", "Fiji Islands", "French Guiana", "Georgia", "United Kingdom", "United States"}
    assert not english & set(names)
    for french in ("Allemagne", "Égypte", "Gambie", "Guinée équatoriale", "Érythrée", "Estonie", "Éthiopie",
                   "Finlande", "Îles Féroé", "Fidji", "Guyane française", "Géorgie", "Royaume-Uni", "États-Unis",
                   "Côte d’Ivoire", "La Réunion"):
        assert french in names, french
    rest = names[1:]
    assert rest == icu_french_order(rest)
    # Accented initials sort with their letter, not after Z.
    e = [name for name in rest if name[0] in "EÉ"]
    assert e[:6] == ["Égypte", "Émirats arabes unis", "Équateur", "Érythrée", "Espagne", "Estonie"]
    assert rest.index("Égypte") < rest.index("Espagne") < rest.index("États-Unis") < rest.index("Éthiopie") \
        < rest.index("Fidji")
    assert rest.index("Île de Man") < rest.index("Îles Åland") < rest.index("Îles Féroé") < rest.index("Inde")


def test_shared_calling_codes_show_their_main_region():
    assert region_for_dial_code("33") == "FR"
    assert region_for_dial_code("+44") == "GB" and region_for_dial_code("1") == "US"
    assert region_for_dial_code("262") == "RE"
    assert region_for_dial_code("") == region_for_dial_code("999") == region_for_dial_code("٣") == "FR"


def test_profile_list_has_every_iso_country_once_in_french_order():
    pairs = countries()
    codes = [code for code, _ in pairs]
    assert len(codes) == len(set(codes))
    assert set(codes) == ISO | {"XK"}
    names = [name for _, name in pairs]
    assert names == icu_french_order(names)
    assert "Allemagne" in names and "Germany" not in names


def test_phone_screen_lists_the_calling_codes_and_makes_e164_numbers(app, browser):
    email = "countries.de@example.fr"
    page, _ = reach_sms_phone(app, browser, email)
    options = page.testid("country-code").find_all("option")
    labels = [option.get_text(strip=True) for option in options]
    assert labels == [label for _, _, label in calling_codes()]
    assert labels[0] == "France (+33)" and options[0].has_attr("selected")
    assert len(page.testid("country-code").find_all("option", selected=True)) == 1
    assert labels.count("Allemagne (+49)") == 1 and "Germany (+49)" not in labels
    germany = options[labels.index("Allemagne (+49)")]
    assert germany["value"] == "49"

    page = browser.submit(page, {"country-code": germany["value"], "phone-number": "0151 2345 6789"}, button="next")
    assert page.screen == "proofup-sms-code" and "+49 15123456789" in page.text()
    assert len(read_sms_codes(browser, "+4915123456789")) == 1
    # Back on the phone screen, Germany is the country selected.
    page = browser.submit(page, button="back")
    selected = page.testid("country-code").find_all("option", selected=True)
    assert [option.get_text(strip=True) for option in selected] == ["Allemagne (+49)"]

    # A code several regions share (+44: United Kingdom, Guernsey, Jersey, Isle of Man) keeps its meaning.
    page = browser.submit(page, {"country-code": "44", "phone-number": "7700 900123"}, button="next")
    assert page.screen == "proofup-sms-code" and "+44 7700900123" in page.text()
    code = read_sms_codes(browser, "+447700900123")[0]
    page = browser.submit(page, {"otc": code}, button="next")
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-success"
    browser.submit(page, button="done")
    with app.app_context():
        assert db.session.query(User).filter_by(email=email).one().phone == "+447700900123"
