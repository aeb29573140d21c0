"""A local emulator of the Accurate Online API (placeholder docstring; see below)."""

from .app import SandboxState, create_app, create_apps, create_state
from .config import (
    DEMO_ACCOUNT_PORT,
    DEMO_API_TOKEN,
    DEMO_DATA_PORT,
    DEMO_DATABASE_ALIAS,
    DEMO_DATABASE_ID,
    DEMO_DB_PATH,
    DEMO_HOST,
    DEMO_SIGNATURE_SECRET,
    FaultConfig,
    RateLimits,
    SandboxConfig,
)

__all__ = [
    "DEMO_ACCOUNT_PORT",
    "DEMO_API_TOKEN",
    "DEMO_DATABASE_ALIAS",
    "DEMO_DATABASE_ID",
    "DEMO_DATA_PORT",
    "DEMO_DB_PATH",
    "DEMO_HOST",
    "DEMO_SIGNATURE_SECRET",
    "FaultConfig",
    "RateLimits",
    "SandboxConfig",
    "SandboxState",
    "create_app",
    "create_apps",
    "create_state",
]
