"""The client guide's steps as data, in one place: for every screen of the journey (IdP screens, the mailbox, the
Espace Client, the virtual phone), where it sits in the guide (part, step n of N on each MFA branch), its title, and
the guide's callouts (what the client types or clicks, the guide's own sentences) with the element each one points at.

The presenter view (`/_emulator/present`) shows them beside the real pages, and the guide generator draws them on its
screenshots; the real pages never carry them.

Parts: the guide's own headings, "Paramétrage de votre compte" and "Validation de votre accès Espace Client" (its
contents page), not the issue's shorthand « Création du compte » / « Validation de l'accès »: where the two differ
the guide wins (journey.md). Each part also has the banner its pages carry ("1 - Création d'un compte Microsoft",
"2 – Validation de l'accès à l'Espace Client"), kept as `banner`.

Texts are French msgids marked with `N_` (pybabel's default keyword) and translated where they are shown
(`gettext(step.title)`), so this module holds data only and any locale can read it.
"""
from dataclasses import dataclass

AUTHENTICATOR = "authenticator"
SMS = "sms"
METHODS = (AUTHENTICATOR, SMS)


def N_(text):
    """Mark a French msgid for extraction; it is translated where it is shown."""
    return text


@dataclass(frozen=True)
class Part:
    number: int
    title: str  # the guide's contents page
    banner: str  # the heading on each of the part's pages


PARTS = {
    1: Part(1, N_("Paramétrage de votre compte"), N_("1 - Création d'un compte Microsoft")),
    2: Part(2, N_("Validation de votre accès Espace Client"), N_("2 – Validation de l'accès à l'Espace Client")),
}
# Screens the guide's two parts never show: a later sign-in (the guide's last page, "Pour les prochaines
# connexions…") and the other authenticator app.
RETURNING = N_("Prochaines connexions")


@dataclass(frozen=True)
class Callout:
    text: str  # the guide's sentence
    target: str | None  # CSS selector of the element it points at on the page, None for the page as a whole


@dataclass(frozen=True)
class Step:
    screen: str  # the page's `data-screen` (for the two mails: the guide step, see `page`)
    title: str  # the title the screen shows (or the guide's for pages without one)
    callouts: tuple  # Callout, in the guide's order (numbered 1, 2… in the guide when there are several)
    device: str = "pc"  # pc | mail | phone
    page: str | None = None  # the `data-screen` of the page when it differs from `screen` (the mails)
    beside: str | None = None  # phone screens: the PC screen they go with

    @property
    def data_screen(self):
        return self.page or self.screen


def _step(screen, title, *callouts, **kwargs):
    return Step(screen, title, tuple(Callout(text, target) for text, target in callouts), **kwargs)


NEXT = "#idSIButton9"
_STEPS = [
    # --- Part 1: the invitation, the account, the captcha, the tenant's consent, the proof-up --------------------
    _step("mail-invitation", N_("Réception du mail venant « Espace client Baker Tilly »"),
          (N_("Réception du mail venant « Espace client Baker Tilly »"), '[data-testid="message-from"]'),
          (N_("Cliquer sur le bouton « Je configure mon nouvel accès »"), '[data-testid="message-html"]'),
          device="mail", page="mailbox-message"),
    _step("email", N_("Se connecter"),
          (N_("Renseignez ici l'adresse email sur laquelle vous avez reçu l'email de Baker Tilly"), "#i0116")),
    _step("signup-password", N_("Créer un mot de passe"),
          (N_("Entrez le mot de passe que vous souhaitez utiliser avec votre compte."),
           '[data-testid="new-password"]')),
    _step("signup-profile", N_("Créer un compte"),
          (N_("Renseigner les informations demandées"), "#birth-day"),
          (N_("Valider en cliquant sur SUIVANT"), NEXT)),
    _step("signup-verify-email", N_("Confirmer l'adresse e-mail"),
          (N_("Retourner sur votre boîte mail pour récupérer le code envoyé"), '[data-testid="code-destination"]'),
          (N_("Coller le code récupéré précédemment"), "#otc"),
          (N_("Valider en cliquant sur SUIVANT"), NEXT)),
    _step("mail-code", N_("Vérifiez votre adresse e-mail"),
          (N_("Retourner sur votre boîte mail pour récupérer le code envoyé"), '[data-testid="message-html"]'),
          device="mail", page="mailbox-message"),
    _step("captcha-intro", N_("Créer un compte")),  # the guide shows the page and says nothing about it
    _step("captcha", N_("Créer un compte"),
          (N_("Il existe différentes énigmes – la présentation de ces dernières peut donc varier et comprendre "
              "1 à plusieurs étapes (voir plus si on se trompe dans la résolution)"), '[data-testid="captcha"]')),
    _step("tenant-consent", N_("Autorisation demandée par :"),
          (N_("Valider en cliquant sur ACCEPTER"), "#idBtn_Accept")),
    _step("proofup-interrupt", N_("Plus d'informations requises")),  # the guide has no callout here
    _step("proofup-app-intro", N_("Protéger votre compte"),
          (N_("Installer l'application sur mon téléphone (Cliquez ici)"), '[data-testid="next"]'),
          (N_("Ne pas installer l'application sur mon téléphone (Cliquez ici)"), '[data-testid="other-method"]')),
    # the SMS branch ("Configuration par sms")
    _step("proofup-method-choice", N_("Choisir une autre méthode"),
          (N_("Téléphone"), '[data-testid="method"]'),
          (N_("Confirmer"), '[data-testid="confirm"]')),
    _step("proofup-sms-phone", N_("Téléphone"),
          (N_("Sélectionner « France (33) »"), '[data-testid="country-code"]'),
          (N_("Renseigner votre numéro de téléphone portable sans le « 0 »"), '[data-testid="phone-number"]')),
    _step("proofup-sms-code", N_("Nous venons d'envoyer un code à 6 chiffres"),
          (N_("Entrer le code reçu par sms"), '[data-testid="otc"]'),
          (N_("Valider en cliquant sur SUIVANT"), '[data-testid="next"]')),
    _step("proofup-sms-verified", N_("Vérifié par SMS. Votre téléphone a été inscrit."),
          (N_("Valider en cliquant sur SUIVANT"), '[data-testid="next"]')),
    # the Authenticator branch
    _step("proofup-app-setup", N_("Configurer votre compte"),
          (N_("Valider en cliquant sur SUIVANT"), '[data-testid="next"]')),
    _step("proofup-app-qr", N_("Scanner le code QR"),
          (N_("Cliquer sur SUIVANT après avoir scanné le QR code"), '[data-testid="qr-code"]')),
    _step("proofup-app-try", N_("Nous allons essayer"),
          (N_("Sur le téléphone cliquer sur APPROUVER"), "#idRichContext_DisplaySign")),
    _step("proofup-app-approved", N_("Notification approuvée")),  # no callout on the guide's page
    # both branches
    _step("proofup-success", N_("Opération réussie"),
          (N_("Cliquer sur TERMINÉ"), '[data-testid="done"]')),
    # --- the phone ("Ajouter un compte sur MICROSOFT AUTHENTICATOR", then the SMS) -------------------------------
    _step("phone-home", N_("Écran d'accueil du téléphone"),
          (N_("Télécharger l'application depuis Play Store ou App Store"), '[data-testid="open-authenticator"]'),
          device="phone", beside="proofup-app-qr"),
    _step("phone-authenticator", N_("Microsoft Authenticator"),
          (N_("Ajouter un compte, en cliquant sur “+”"), '[data-testid="add-account"]'),
          device="phone", beside="proofup-app-qr"),
    _step("phone-add-account", N_("Compte professionnel ou scolaire"),
          (N_("Sélectionner “Compte professionnel ou scolaire”"), '[data-testid="work-or-school"]'),
          device="phone", beside="proofup-app-qr"),
    _step("phone-account-type", N_("Scanner un code QR"),
          (N_("Choisir \"Scanner un code QR\""), '[data-testid="scan-qr"]'),
          device="phone", beside="proofup-app-qr"),
    _step("phone-scan", N_("Scanner le QR code"),
          (N_("Scanner le QR code affiché à l'écran de votre ordinateur via l'application MICROSOFT AUTHENTICATOR"),
           '[data-testid="scan-qr"]'),
          (N_("L'opération se termine avec la mention \"Compte ajouté avec succès\" en bas de l'écran du "
              "smartphone"), None),
          device="phone", beside="proofup-app-qr"),
    _step("phone-notification", N_("Approuver la connexion ?"),
          (N_("Valider la notification envoyée sur le smartphone via l'application, en cliquant sur “APPROUVER”"),
           '[data-testid="approve"]'),
          device="phone", beside="proofup-app-try"),
    _step("phone-messages", N_("Messages"),
          (N_("Entrer le code reçu par sms"), '[data-testid="sms"]'),
          device="phone", beside="proofup-sms-code"),
    # --- Part 2: the Espace Client, the app's consent ------------------------------------------------------------
    _step("client-connect", N_("Connectez-vous à votre Espace Client"),
          (N_("Cliquer sur SE CONNECTER"), '[data-testid="connect"]')),
    _step("app-consent", N_("Autorisations demandées"),
          (N_("Cliquer sur ACCEPTER"), "#idBtn_Accept")),
    _step("client-cgu", N_("Validation des CGU"),
          (N_("Validation des CGU uniquement pour les nouveaux clients"), '[data-testid="accept-cgu"]')),
    _step("client-dashboard", N_("Fin du parcours de connexion"),
          (N_("Le process de création de votre nouvel accès à l'Espace Client est à présent terminé."), None)),
    # --- outside the two parts: a later sign-in, the other authenticator app ------------------------------------
    _step("account-picker", N_("Choisir un compte"),
          (N_("Sélectionner le compte Microsoft créé dans la liste des propositions affichées"),
           '[data-testid="account-tile"]')),
    _step("password", N_("Entrer le mot de passe"),
          (N_("Le mot de passe créé lors du parcours de connexion"), "#i0118")),
    _step("mfa-push", N_("Approuver la demande de connexion"), (N_("Sur le téléphone cliquer sur APPROUVER"),
                                                               "#idRichContext_DisplaySign")),
    _step("mfa-otp", N_("Entrer le code"), (N_("Entrer le code reçu par sms"), "#idTxtBx_SAOTCC_OTC")),
    _step("mfa-method-choice", N_("Vérifier votre identité")),
    _step("kmsi", N_("Rester connecté ?")),
    _step("proofup-totp-qr", N_("Application d'authentification")),
]
STEPS = {step.screen: step for step in _STEPS}

# The guide's order on each branch, part by part (the guide's pages, in time order; the phone's steps are beside).
_ACCOUNT_START = ["mail-invitation", "email", "signup-password", "signup-profile", "signup-verify-email", "mail-code",
                  "captcha-intro", "captcha", "tenant-consent", "proofup-interrupt", "proofup-app-intro"]
ORDER = {
    AUTHENTICATOR: {
        1: [*_ACCOUNT_START, "proofup-app-setup", "proofup-app-qr", "proofup-app-try", "proofup-app-approved",
            "proofup-success"],
        2: ["client-connect", "app-consent", "client-cgu", "client-dashboard"],
    },
    SMS: {
        1: [*_ACCOUNT_START, "proofup-method-choice", "proofup-sms-phone", "proofup-sms-code", "proofup-sms-verified",
            "proofup-success"],
        2: ["client-connect", "app-consent", "client-cgu", "client-dashboard"],
    },
}
# The phone's own numbered steps (the guide's "Etape 1" … "Etape 5", after its "Prérequis").
PHONE_ORDER = {
    AUTHENTICATOR: ["phone-home", "phone-authenticator", "phone-add-account", "phone-account-type", "phone-scan",
                    "phone-notification"],
    SMS: ["phone-messages"],
}


@dataclass(frozen=True)
class Place:
    """Where a screen sits in the guide for one MFA branch: part (1, 2, or None outside both), step n of N."""

    step: Step
    method: str
    part: int | None
    number: int | None
    total: int | None

    @property
    def part_title(self):
        return PARTS[self.part].title if self.part else RETURNING


def place(screen, method=AUTHENTICATOR):
    """Return the Place of `screen` (a key of STEPS) on the `method` branch, or None if it has no entry."""
    step = STEPS.get(screen)
    if step is None:
        return None
    for part, screens in ORDER[method].items():
        if screen in screens:
            return Place(step, method, part, screens.index(screen) + 1, len(screens))
    for other in METHODS:  # a screen of the other branch still belongs to its part, unnumbered here
        for part, screens in ORDER[other].items():
            if screen in screens:
                return Place(step, method, part, None, None)
    phone = PHONE_ORDER.get(method, [])
    if screen in phone:
        return Place(step, method, 1, phone.index(screen), len(phone) - 1)  # "Prérequis" is step 0
    for other in METHODS:
        if screen in PHONE_ORDER[other]:
            return Place(step, method, 1, None, None)
    return Place(step, method, None, None, None)


def guide(method=AUTHENTICATOR):
    """The guide's steps on one branch, in order: [(part, [Step, …]), …] (the guide generator's contents)."""
    return [(PARTS[part], [STEPS[screen] for screen in screens]) for part, screens in ORDER[method].items()]


# The mailbox's pages (its list, a message): the invitation's mail until the journey has reached the email code.
MAILBOX_PAGES = ("mailbox", "mailbox-message")
BEFORE_CODE_MAIL = (None, "mail-invitation", "email", "signup-password", "signup-profile")


def for_page(data_screen, after=None):
    """The step a page shows, from its `data-screen`; a mailbox page is the invitation's mail until the journey
    has reached the email code (`after`: the last step seen), then the code's mail."""
    if data_screen in MAILBOX_PAGES:
        return STEPS["mail-invitation" if after in BEFORE_CODE_MAIL else "mail-code"]
    return STEPS.get(data_screen)
