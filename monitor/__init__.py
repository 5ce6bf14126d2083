"""policywatch's monitor: the store, extraction, comparison and classification, recording,
evidence, the web UI and the CLI (the map: docs/architecture.md).

Only ``monitor.cli``, the composition root, imports the crawler or the notifier; everything
else here knows nothing of Scrapy and can be driven from tests or from a file.
"""

__version__ = "0.1.0"
