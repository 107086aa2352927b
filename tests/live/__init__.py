"""Live tests: a real `serve`/`up` subprocess, headless Chromium, Node.js (MSAL.js) or a PostgreSQL server in at least one test of each file."""
