"""Helpers for QA suites that test an app against idp-emulator: a live server (`server`), Playwright page objects
(`pages`)."""
