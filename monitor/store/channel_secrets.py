"""The SQL of moving channel URLs out of the database (``notify.secrets.move_urls_out`` owns
the secrets file and the redaction; docs/decisions/0013). Every function takes the sqlite-utils
database being migrated and runs inside the migration's transaction."""

import sqlite_utils

# The stored texts a channel URL may have leaked into, with how to find a subscription's rows.
_ERROR_COLUMNS = (
    ("deliveries", "last_error", "subscription_id = ?"),
    ("delivery_attempts", "error", "delivery_id IN (SELECT id FROM deliveries WHERE subscription_id = ?)"),
)


def database_file(db: sqlite_utils.Database) -> str:
    """The file of the main database ("" for an in-memory one)."""
    for _, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return file or ""
    return ""


def urls_in_database(db: sqlite_utils.Database) -> list[tuple[int, str]]:
    """``(subscription id, apprise_url)`` of every subscription whose full URL is still stored."""
    return [tuple(row) for row in db.execute(
        "SELECT id, apprise_url FROM subscriptions WHERE secret_ref IS NULL "
        "AND apprise_url IS NOT NULL").fetchall()]


def secure_delete(db: sqlite_utils.Database) -> None:
    """From now on, overwritten bytes are zeroed, so old URLs do not linger in free pages."""
    db.execute("PRAGMA secure_delete = ON")


def set_reference(db: sqlite_utils.Database, subscription_id: int, shown_url: str, ref: str) -> None:
    """Keep only the redacted URL and the secret's reference in a subscription's row."""
    db.execute("UPDATE subscriptions SET apprise_url = ?, secret_ref = ? WHERE id = ?",
               [shown_url, ref, subscription_id])


def stored_errors(db: sqlite_utils.Database, subscription_id: int) -> list[tuple[str, int, str]]:
    """``(table, row id, text)`` of every stored error of a subscription's deliveries and attempts."""
    found = []
    for table, column, where in _ERROR_COLUMNS:
        for row_id, text in db.execute(f"SELECT id, {column} FROM {table} WHERE {where} "
                                       f"AND {column} IS NOT NULL", [subscription_id]).fetchall():
            found.append((table, row_id, text))
    return found


def replace_error(db: sqlite_utils.Database, table: str, row_id: int, text: str) -> None:
    """Overwrite a stored error (``table`` is one of ``stored_errors``')."""
    column = {table: column for table, column, _ in _ERROR_COLUMNS}[table]
    db.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", [text, row_id])
