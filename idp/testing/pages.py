"""Playwright page objects, one per IdP screen, on the ids and data-testids of journey.md.

    from idp.testing.pages import EmailPage

    page.goto(app_login_url)
    screen = EmailPage(page).fill("client.demo@example.fr").next()      # -> PasswordPage
    screen = screen.fill("Demo-2026!").next()                             # -> KmsiPage, MfaOtpPage, …
    screen = screen.fill(idp.totp("client.demo@example.fr")).verify()    # MfaOtpPage

Every action that submits a form waits for the next page and returns the page object of the screen
it shows (`current(page)`), so a script can assert `isinstance(screen, KmsiPage)` or check
`screen.screen_id`. The selectors are the real Microsoft ids where one exists (`#i0116`,
`#idSIButton9`, …), so the same scripts run against login.microsoftonline.com.
"""
from playwright.sync_api import Page

SCREENS = {}
_MARK = "__idpEmulatorPage"


def screen(screen_id):
    def register(cls):
        cls.screen_id = screen_id
        SCREENS[screen_id] = cls
        return cls
    return register


def current(page: Page, timeout=15000):
    """Return the page object of the screen the browser shows now (a plain Screen if unknown)."""
    page.wait_for_selector("body[data-screen]", state="attached", timeout=timeout)
    screen_id = page.get_attribute("body", "data-screen")
    return SCREENS.get(screen_id, Screen)(page, wait=False)


class Screen:
    """A page with `<body data-screen=…>`: find elements by data-testid, submit and get the next screen."""

    screen_id = None

    def __init__(self, page: Page, wait=True, timeout=15000):
        self.page = page
        if wait and self.screen_id:
            page.wait_for_selector(f'body[data-screen="{self.screen_id}"]', state="attached", timeout=timeout)

    def __repr__(self):
        return f"<{type(self).__name__} {self.page.get_attribute('body', 'data-screen')!r}>"

    def by(self, testid):
        return self.page.locator(f'[data-testid="{testid}"]')

    @property
    def error(self):
        """The inline error text (data-testid="error"), or None."""
        found = self.by("error")
        return found.first.inner_text().strip() if found.count() else None

    def text(self, testid):
        return self.by(testid).first.inner_text().strip()

    def submit(self, testid, timeout=15000):
        """Click a submit button and return the screen of the page that answers."""
        return self.click(self.by(testid).first, timeout)

    def submit_unless_moved(self, testid, timeout=15000):
        """Click a submit button unless the page's own script already left this screen (push polling)."""
        clicked = self.page.evaluate(
            """([screen, testid, mark]) => {
                if (document.body.dataset.screen !== screen) return false;
                window[mark] = true;
                document.querySelector(`[data-testid="${testid}"]`).click();
                return true;
            }""", [self.screen_id, testid, _MARK])
        if clicked:
            self.page.wait_for_function(f"() => !window.{_MARK} && document.readyState !== 'loading'",
                                        timeout=timeout)
        return current(self.page, timeout)

    def click(self, locator, timeout=15000):
        self.page.evaluate(f"window.{_MARK} = true")
        locator.click()
        self.page.wait_for_function(f"() => !window.{_MARK} && document.readyState !== 'loading'",
                                    timeout=timeout)
        return current(self.page, timeout)


# --- returning sign-in -------------------------------------------------------------------------

@screen("account-picker")
class AccountPickerPage(Screen):
    def accounts(self):
        return [t.get_attribute("data-upn") or t.get_attribute("value") for t in self.by("account-tile").all()]

    def choose(self, email):
        tile = self.page.locator(f'[data-testid="account-tile"][data-upn="{email}"], '
                                 f'[data-testid="account-tile"][value="{email}"]').first
        return self.click(tile)

    def other(self):
        return self.submit("otherTile")


@screen("email")
class EmailPage(Screen):
    def fill(self, email):
        self.by("i0116").fill(email)
        return self

    def next(self):
        return self.submit("idSIButton9")


@screen("password")
class PasswordPage(Screen):
    def fill(self, password):
        self.by("i0118").fill(password)
        return self

    def next(self):
        return self.submit("idSIButton9")

    sign_in = next


@screen("kmsi")
class KmsiPage(Screen):
    def dont_show_again(self):
        self.by("KmsiCheckboxField").check()
        return self

    def yes(self):
        return self.submit("idSIButton9")

    def no(self):
        return self.submit("idBtn_Back")


class _Consent(Screen):
    def accept(self):
        return self.submit("idBtn_Accept")

    def cancel(self):
        return self.submit("idBtn_Back")


@screen("app-consent")
class ConsentPage(_Consent):
    """Autorisations demandées (the app's permissions)."""


AppConsentPage = ConsentPage


@screen("tenant-consent")
class TenantConsentPage(_Consent):
    """Autorisation demandée par : the organisation (once per guest)."""


@screen("error")
class ErrorPage(Screen):
    @property
    def message(self):
        return self.page.inner_text("main")


# --- MFA at sign-in ----------------------------------------------------------------------------

@screen("mfa-push")
class MfaPushPage(Screen):
    @property
    def number(self):
        return int(self.text("idRichContext_DisplaySign"))

    def next(self):
        """Continue once the notification is answered (the page may have moved on by itself)."""
        return self.submit_unless_moved("idSIButton9")

    def resend(self):
        return self.submit("resend-push")

    def another_way(self):
        return self.submit("signInAnotherWay")


@screen("mfa-method-choice")
class MfaMethodChoicePage(Screen):
    def choose(self, method):
        """method: PhoneAppNotification, PhoneAppOTP or OneWaySMS."""
        return self.click(self.page.locator(f'[data-value="{method}"]').first)


@screen("mfa-otp")
class MfaOtpPage(Screen):
    @property
    def error(self):
        found = self.by("idSpan_SAOTCC_Error_OTC")
        return found.first.inner_text().strip() if found.count() else super().error

    def fill(self, code):
        self.by("idTxtBx_SAOTCC_OTC").fill(code)
        return self

    def verify(self):
        return self.submit("idSubmit_SAOTCC_Continue")

    next = verify

    def resend(self):
        return self.submit("resend-code")

    def another_way(self):
        return self.submit("signInAnotherWay")


# --- sign-up (invited client) ------------------------------------------------------------------

@screen("signup-password")
class SignupPasswordPage(Screen):
    def fill(self, password):
        self.by("new-password").fill(password)
        return self

    def show_password(self):
        self.by("show-password").check()
        return self

    def next(self):
        return self.submit("idSIButton9")


@screen("signup-profile")
class SignupProfilePage(Screen):
    def fill(self, day, month, year, country=None):
        if country is not None:
            self.by("country").select_option(country)
        self.by("birth-day").select_option(str(day)) if self._is_select("birth-day") else self.by("birth-day").fill(str(day))
        self.by("birth-month").select_option(str(month)) if self._is_select("birth-month") else self.by("birth-month").fill(str(month))
        self.by("birth-year").fill(str(year))
        return self

    def _is_select(self, testid):
        return self.by(testid).first.evaluate("e => e.tagName") == "SELECT"

    def next(self):
        return self.submit("idSIButton9")


@screen("signup-verify-email")
class SignupVerifyEmailPage(Screen):
    def fill(self, code):
        self.by("otc").fill(code)
        return self

    def marketing_opt_in(self):
        self.by("marketing-opt-in").check()
        return self

    def resend(self):
        return self.submit("resend-code")

    def next(self):
        return self.submit("idSIButton9")


@screen("captcha-intro")
class CaptchaIntroPage(Screen):
    """"Créer un compte": the request to solve the puzzle, before the puzzle itself."""

    def next(self):
        return self.submit("idSIButton9")


@screen("captcha")
class CaptchaPage(Screen):
    def choose(self, answer):
        self.page.locator(f'[data-testid="captcha-choice"][value="{answer}"]').check()
        return self

    def next(self):
        return self.submit("idSIButton9")


# --- proof-up (MFA registration) ---------------------------------------------------------------

class _Next(Screen):
    def next(self):
        return self.submit("next")

    def back(self):
        return self.submit("back")


@screen("proofup-interrupt")
class ProofupInterruptPage(Screen):
    def next(self):
        return self.submit("idSubmit_ProofUp_Redirect")


@screen("proofup-app-intro")
class ProofupAppIntroPage(_Next):
    def other_authenticator_app(self):
        return self.submit("other-authenticator-app")

    def other_method(self):
        return self.submit("other-method")


@screen("proofup-method-choice")
class ProofupMethodChoicePage(Screen):
    def choose(self, method):
        """method: the value of the select's option (phone / authenticator app)."""
        self.by("method").select_option(method)
        return self

    def confirm(self):
        return self.submit("confirm")

    def cancel(self):
        return self.submit("cancel")


@screen("proofup-app-setup")
class ProofupAppSetupPage(_Next):
    pass


@screen("proofup-app-qr")
class ProofupAppQrPage(_Next):
    pass


@screen("proofup-app-try")
class ProofupAppTryPage(_Next):
    @property
    def number(self):
        return int(self.text("idRichContext_DisplaySign"))

    def next(self):
        """Continue once the notification is answered (the page may have moved on by itself)."""
        return self.submit_unless_moved("next")

    def resend(self):
        return self.submit("resend-push")


@screen("proofup-app-approved")
class ProofupAppApprovedPage(_Next):
    pass


@screen("proofup-totp-qr")
class ProofupTotpQrPage(_Next):
    @property
    def secret(self):
        return self.text("secret")

    @property
    def otpauth_uri(self):
        return self.text("otpauth-uri")

    def fill(self, code):
        self.by("idTxtBx_SAOTCC_OTC").fill(code)
        return self


@screen("proofup-sms-phone")
class ProofupSmsPhonePage(_Next):
    def fill(self, number, country_code=None):
        if country_code is not None:
            self.by("country-code").select_option(country_code)
        self.by("phone-number").fill(number)
        return self


@screen("proofup-sms-code")
class ProofupSmsCodePage(_Next):
    def fill(self, code):
        self.by("otc").fill(code)
        return self

    def resend(self):
        return self.submit("resend-code")


@screen("proofup-sms-verified")
class ProofupSmsVerifiedPage(_Next):
    pass


@screen("proofup-success")
class ProofupSuccessPage(Screen):
    def done(self):
        return self.submit("done")



# --- device code ("Entrer le code", then the sign-in screens) ---------------------------------

@screen("device-code")
class DeviceCodePage(Screen):
    def fill(self, user_code):
        self.by("otc").fill(user_code)
        return self

    def next(self):
        return self.submit("idSIButton9")


@screen("device-done")
class DeviceDonePage(Screen):
    @property
    def approved(self):
        return self.by("device-done").count() == 1

__all__ = ["current", "Screen", "SCREENS"] + [cls.__name__ for cls in SCREENS.values()] + ["AppConsentPage"]
