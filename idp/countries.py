"""Countries and regions in French: the sign-up profile's "Pays/région" and the proof-up phone's calling codes.

Names come from Babel's CLDR data, calling codes from phonenumbers (Google's libphonenumber metadata):
both are local (offline) and kept current by their projects, so no table is written by hand here.
"""
import functools
import unicodedata

DEFAULT = "FR"
# Microsoft's phone screen puts France first (the guide), then every country in alphabetical order.
FIRST_CALLING_CODE = "FR"

# CLDR territory codes that are not ISO 3166-1 countries: groupings (EU, EZ, UN, QO), private use
# (XA, XB, ZZ) and the codes ISO only reserves (Ascension, Clipperton, Sark, Diego Garcia, Ceuta and
# Melilla, Canary Islands, Tristan da Cunha). Kosovo (XK) is not in ISO 3166-1 either, but it is a
# country with its own calling code (+383) and Microsoft's lists have it, so it stays.
NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "AC", "CP", "CQ", "DG", "EA", "IC", "TA"}


def sort_key(name):
    """French collation order: letters compare without accents or case ("Égypte" sorts with E, "Îles …"
    with I), the exact name breaks ties. Matches ICU's French collation (Intl.Collator("fr")) on CLDR's
    country names, without a compiled ICU dependency."""
    base = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return base.casefold().replace("œ", "oe").replace("æ", "ae"), name


@functools.cache
def _names(locale):
    from babel import Locale  # imported on first use, like the tables below

    return Locale.parse(locale).territories


@functools.cache
def countries(locale="fr"):
    """((code, name), …) for every ISO 3166-1 country (and Kosovo), sorted by name in the given language."""
    pairs = [(code, name) for code, name in _names(locale).items()
             if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES]
    return tuple(sorted(pairs, key=lambda pair: sort_key(pair[1])))


def is_country(code):
    return any(code == c for c, _ in countries())


@functools.cache
def calling_codes(locale="fr"):
    """((region, calling code, "Nom (+code)"), …): every country or region with a telephone numbering plan
    of its own (phonenumbers' regions: ISO 3166-1 countries but Antarctica, Bouvet Island, South Georgia,
    Heard Island, Pitcairn, the French Southern Territories and the US Minor Outlying Islands; plus
    Ascension, Tristan da Cunha and Kosovo), France first, then sorted by French name."""
    names = _names(locale)
    rows = [(region, str(code), names[region]) for code, regions in _regions_by_code().items() for region in regions]
    rows.sort(key=lambda row: (row[0] != FIRST_CALLING_CODE, sort_key(row[2])))
    return tuple((region, code, f"{name} (+{code})") for region, code, name in rows)


@functools.cache
def _regions_by_code():
    """{calling code: (its main region first, then the others)} for phonenumbers' regions. Read from its small
    code-to-region table: asking per region would load every region's full metadata (~25 MB)."""
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, SUPPORTED_REGIONS

    return {code: tuple(r for r in regions if r in SUPPORTED_REGIONS)
            for code, regions in COUNTRY_CODE_TO_REGION_CODE.items() if set(regions) & SUPPORTED_REGIONS}


@functools.cache
def dial_codes():
    """Every calling code of the phone screen's list, without "+"."""
    return frozenset(code for _, code, _ in calling_codes())


def region_for_dial_code(code):
    """The option to show selected for a calling code several regions share: the code's main region
    (+1 United States, +44 United Kingdom, +262 La Réunion…), France for +33 or anything unknown."""
    code = (code or "").lstrip("+")
    if code not in dial_codes():
        return FIRST_CALLING_CODE
    return _regions_by_code()[int(code)][0]
