"""Evidence: proof of what was seen and who was told.

WARC files (``WarcFiles``), the hash-chained ledger, RFC 3161 timestamps, evidence bundles and
their offline verification, the PDF report through headless Chromium.
"""

import lazy_loader

# The public face, each name loaded on first use: importing the package costs nothing, so the
# CLI starts fast and a face cannot create an import cycle (docs/decisions/0017-package-faces.md).
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=["ledger"],  # used as a namespace
    submod_attrs={
        "bundle": ["export_bundle"],
        "chromium": ["CHROMIUM_ARGS", "chromium_available", "chromium_path"],
        "ledger": ["verify_store"],
        "timestamps": [
            "TsaSettings", "last_failure", "stored_timestamps", "timestamp_head",
            "timestamp_head_if_configured", "verify_timestamps",
        ],
        "verify": ["BundleBroken", "verify_bundle"],
        "warc": ["LastCapture", "Original", "WarcFiles", "WarcRef", "build_capture", "check_pointers"],
    },
)
