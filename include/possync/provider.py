"""Airflow provider metadata: registers the connection type of every target (``Target.connection_type``).

Found by Airflow through the ``apache_airflow_provider`` entry point in pyproject.toml. The connection
forms are declared as data (Airflow 3.2+), not built with wtforms.
"""

from __future__ import annotations

from typing import Any

from possync import __version__


def get_provider_info() -> dict[str, Any]:
    from possync.targets.base.registry import targets

    return {
        "package-name": "possync",
        "name": "possync",
        "description": "POS to accounting sync: accounting targets over their APIs, and head-office databases.",
        "versions": [__version__],
        "connection-types": [target.connection_type for _name, target in sorted(targets().items())],
    }
