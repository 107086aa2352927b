"""What the benchmarks' client signs in with: values of seeds/default, shared by the client and the floor app.

Kept apart from signin_bench.py so that floor_app.py's server imports nothing of the client.
"""
TENANT = "bakertillyrecette.onmicrosoft.com"
CLIENT_ID = "6a3f0c2e-8d4b-4e1a-9c7f-3b2d5e8a1f60"
CLIENT_SECRET = "espace-client-secret-2026"
REDIRECT_URI = "http://localhost:8401/auth/callback"
PASSWORD = "Demo-2026!"
FAST_HASH = "pbkdf2:sha256:1000"  # the benchmarks' IDP_PASSWORD_HASH: real password checks, but cheap
