"""URL converters shared by the IdP and the Espace Client."""
from werkzeug.routing import IntegerConverter

# The largest id a database integer column holds (SQLite and PostgreSQL BIGINT): a longer number in a URL
# is no row, so a 404, not an overflow in the database driver.
MAX_ROW_ID = 2**63 - 1


class RowIdConverter(IntegerConverter):
    """`<int:…>` bounded to what a database id can be."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ROW_ID, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app):
    """Make every `<int:…>` route of the app a bounded row id (before blueprints are registered)."""
    app.url_map.converters["int"] = RowIdConverter
