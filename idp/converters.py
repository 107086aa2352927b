"""URL converters shared by the IdP and the Espace Client, and the IdP's URL rule class."""
from werkzeug.routing import IntegerConverter, Rule

# The largest id a database integer column holds (SQLite and PostgreSQL BIGINT): a longer number in a URL
# is no row, so a 404, not an overflow in the database driver.
MAX_ROW_ID = 2**63 - 1


class RowIdConverter(IntegerConverter):
    """`<int:…>` bounded to what a database id can be."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ROW_ID, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class LazyBuilderRule(Rule):
    """werkzeug's Rule, whose two URL builders (url_for's) are compiled on their first use, not when registered.

    werkzeug writes and compiles them as Python code for every rule: about a twentieth of the server's cold
    start for the IdP's hundred rules, most of which a worker never builds a URL for.
    """

    def _compile_builder(self, append_unknown=True):
        def build(rule, **values):
            built = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            setattr(rule, "_build_unknown" if append_unknown else "_build", built)  # the next calls go straight there
            return built(**values)

        return build


def init_app(app):
    """Make every `<int:…>` route of the app a bounded row id, and its URL builders lazy (before blueprints are
    registered)."""
    app.url_map.converters["int"] = RowIdConverter
    app.url_rule_class = LazyBuilderRule
