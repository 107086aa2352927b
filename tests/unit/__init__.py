"""Unit tests: pure functions and rules, no Flask app, no database (fast: `pytest tests/unit`)."""
