"""Lambda SnapStart: what must not be shared between instances restored from one snapshot.

On restore, the HTTP sessions opened before the snapshot point at dead sockets, the cached AWS credentials may
be stale, and every restored instance would otherwise share the same random state. The runtime's
`snapshot_restore_py` hook module exists only inside Lambda; elsewhere registration is a no-op.
"""

from __future__ import annotations

import os
import random
from typing import Any


def reset_after_restore(services: Any) -> None:
    """Forget connections and credentials, and reseed randomness (the `secrets` module needs no reseeding)."""
    services.metering.forget_connections()
    random.seed(os.urandom(32))


def register_restore_hooks(services: Any) -> bool:
    """Register the reset with the Lambda runtime; False when not running under SnapStart's runtime."""
    try:
        from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
    except ImportError:
        return False
    register_after_restore(reset_after_restore, services)
    return True
