"""The guide's order of screens (issue 12), shared by the browser test that walks it and the unit test of the
trainer's steps: part 1 per MFA branch, and part 2."""
BRANCHES = {
    "authenticator": {
        "email": "guide.authenticator@example.fr", "name": "Client Authenticator",
        "proofup": ["proofup-app-intro", "proofup-app-setup", "proofup-app-qr", "proofup-app-try",
                    "proofup-app-approved"],
        "default_method": "Microsoft Authenticator", "mfa": "mfa-push"},
    "sms": {
        "email": "guide.sms@example.fr", "name": "Client SMS", "phone": "+33675064572", "national": "0675064572",
        "proofup": ["proofup-app-intro", "proofup-method-choice", "proofup-sms-phone", "proofup-sms-code",
                    "proofup-sms-verified"],
        "default_method": "Téléphone", "mfa": "mfa-otp"},
}
# Part 1 (the guide's "Paramétrage de votre compte"), from the sign-in page the invitation opens.
ACCOUNT = ["email", "signup-password", "signup-profile", "signup-verify-email", "captcha-intro", "captcha",
           "tenant-consent", "proofup-interrupt"]
# Part 2 ("Validation de votre accès Espace Client"): "Se connecter", then no MFA.
STEP_TWO = ["app-consent", "client-cgu", "client-dashboard"]
