"""SQLite's error type under a store name, for the layers above that report a failing database.

Only the store imports sqlite3 (pyproject's import-linter contract); the CLI catches this.
"""

import sqlite3

DatabaseFailure = sqlite3.Error
