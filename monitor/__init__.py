"""policywatch's monitor: the store, extraction, normalisation, diffing, classification and CLI.

It knows nothing of Scrapy: every function here can be driven from tests or from a file.
"""

__version__ = "0.1.0"
