"""Request bodies in JSON: a body nested too deep for the parser is bad JSON, like any other."""
from flask.json.provider import DefaultJSONProvider


class JSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            # request.get_json() answers 400 (or None when silent) for a ValueError; json.loads raises
            # RecursionError for 100,000 '[': make it the ValueError every endpoint already handles.
            raise ValueError("JSON nested too deeply") from None


def init_app(app):
    app.json = JSONProvider(app)
