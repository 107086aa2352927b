"""Which screen comes next, decided from the flow's and the user's state by ordered named checks.

Plain Python over the models, with no flask.request: the screens call `next_screen(flow)` and
render what it names; when no check fails the journey is over and the authorization resumes.
"""
from .checks import CHECKS, next_screen, failing_check

__all__ = ["CHECKS", "next_screen", "failing_check"]
