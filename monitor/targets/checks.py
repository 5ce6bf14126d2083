"""What a target must satisfy before it is added or edited: checked here, above the store,
because whether a selector is valid CSS or a well-formed range is the extractor's to say."""

from monitor.extract import check_selectors
from monitor.store import check_url_and_company


def check_target_selectors(select: list, remove: list) -> None:
    """Raise ``InputError`` naming the option (``--select``, ``--remove``) of a selector that is
    not valid CSS or a well-formed range."""
    check_selectors(select, "--select")
    check_selectors(remove, "--remove")


def check_new_target(url: str, company: str, select: list, remove: list) -> None:
    """Raise ``InputError`` if the target would be refused: callers that must not create a
    database for a refused target (``target add``) ask before opening one."""
    check_url_and_company(url, company)
    check_target_selectors(select, remove)
