"""The container's health check: ``python3 -m wallet.healthcheck``.

Standard library only, so it starts fast and never imports the service. It asks the URL in
``WALLET_HEALTHCHECK_URL`` (default: the API's liveness route) and exits 0 on a 2xx answer.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/healthz"


def healthy(url: str, *, timeout: float = 2.0) -> bool:
    if not url.startswith(("http://", "https://")):  # urlopen would also open file: URLs
        return False
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  # nosec B310
            status: int = response.status
            return 200 <= status < 300
    except (urllib.error.URLError, OSError):
        return False


if __name__ == "__main__":
    sys.exit(0 if healthy(os.environ.get("WALLET_HEALTHCHECK_URL", DEFAULT_URL)) else 1)
