"""Functional tests: the app in-process (Flask's test client) on a copy of a seeded database."""
