"""Countries and regions for the sign-up profile ("Pays/région"), from Babel's local CLDR data (offline)."""
import functools
import unicodedata

from babel import Locale

# CLDR territories that are not countries or regions a person lives in.
NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}
DEFAULT = "FR"


def _sort_key(name):
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


@functools.cache
def countries(locale="fr"):
    """Return ((code, name), …) sorted by name in the given language."""
    names = Locale.parse(locale).territories
    pairs = [(code, name) for code, name in names.items()
             if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES]
    return tuple(sorted(pairs, key=lambda pair: _sort_key(pair[1])))


def is_country(code):
    return any(code == c for c, _ in countries())
