"""Helpers for QA suites that test an app against idp-emulator (Playwright page objects in `pages`)."""
