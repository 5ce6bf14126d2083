"""Cookie banners and consent dialogs: removed before extraction, with or without a selector.

Consent-management platforms inject the same few containers into every page; their text
(vendor lists, "Accept all") changes with the vendor's releases, not with the policy. Besides
the known containers, a small dialog whose first words speak of cookies or consent goes too.
"""

import re

# Containers of the common consent-management platforms (OneTrust, Cookiebot, Didomi, Quantcast,
# Sourcepoint, TrustArc, Usercentrics, Osano, iubenda, Complianz, CookieYes, Termly, HubSpot…).
CONSENT_SELECTORS = (
    "#onetrust-consent-sdk", "#onetrust-banner-sdk", "#onetrust-pc-sdk", "#CybotCookiebotDialog",
    "#CybotCookiebotDialogBodyUnderlay", "#didomi-host", ".didomi-popup", ".qc-cmp2-container",
    "[id^=sp_message_container]", "#truste-consent-track", "#consent_blackbar", "#teconsent",
    "#usercentrics-root", "#uc-banner", ".osano-cm-window", "#iubenda-cs-banner",
    "#cmplz-cookiebanner-container", ".cky-consent-container", ".cky-modal", "#termly-code-snippet-support",
    "#hs-eu-cookie-confirmation", "#cookie-law-info-bar", "#cookie-notice", "#cookie-banner",
    "#cookieBanner", "#cookie-consent", "#cookieConsent", ".cookie-banner", ".cookie-consent",
    ".cookie-notice", ".cookies-banner", ".cc-window", ".cc-banner", "#gdpr-cookie-message",
    ".fc-consent-root", "#cmpbox", "#cmpbox2", ".cmp-banner", "#axeptio_overlay", "#tarteaucitronRoot",
    "#klaro", ".klaro", "#ccc", "#cookiescript_injected", "#moove_gdpr_cookie_info_bar",
)
_CONSENT_WORDS = re.compile(r"\b(cookies?|consent|your privacy choices|we value your privacy|"
                            r"we care about your privacy|accept all|reject all)\b", re.IGNORECASE)
_DIALOGS = "[role=dialog], [role=alertdialog], [aria-modal=true], dialog"
# A consent dialog is short; a policy rendered in a modal is not.
MAX_DIALOG_CHARS = 4000


def drop_consent(root, css) -> None:
    """Remove consent containers and consent-like dialogs from an lxml tree in place."""
    for selector in CONSENT_SELECTORS:
        for element in css(root, selector):
            if element.getparent() is not None:
                element.drop_tree()
    for element in css(root, _DIALOGS):
        if element.getparent() is None:
            continue
        text = " ".join(element.text_content().split())
        if len(text) <= MAX_DIALOG_CHARS and _CONSENT_WORDS.search(text[:400]):
            element.drop_tree()
