"""Airflow provider metadata: registers the ``jurnal`` and ``accurate`` connection types.

Found by Airflow through the ``apache_airflow_provider`` entry point in pyproject.toml. The connection
forms are declared as data (Airflow 3.2+), not built with wtforms.
"""

from __future__ import annotations

from typing import Any

from possync import __version__


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "possync",
        "name": "possync",
        "description": "POS to accounting sync: Mekari Jurnal, Accurate Online and head-office databases.",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "jurnal",
                "hook-class-name": "possync.targets.jurnal.hook.JurnalHook",
                "hook-name": "Mekari Jurnal",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {
                        "host": "API base URL",
                        "login": "HMAC client ID",
                        "password": "HMAC client secret",
                    },
                    "placeholders": {
                        "host": "https://api.mekari.com",
                        "login": "Client ID of the Mekari HMAC credential",
                        "password": "Client secret of the Mekari HMAC credential",
                    },
                },
                "conn-fields": {
                    "web_url": {
                        "label": "Jurnal web app URL",
                        "description": "Used for links from tasks to the documents they created.",
                        "schema": {"type": ["string", "null"], "default": "https://my.jurnal.id"},
                    },
                    "timeout": {
                        "label": "Request timeout (seconds)",
                        "schema": {"type": ["integer", "null"], "minimum": 1, "default": 30},
                    },
                    "requests_per_minute": {
                        "label": "Requests per minute",
                        "description": "The API consumer's limit (Jurnal documents 30/min); requests stay below it.",
                        "schema": {"type": ["integer", "null"], "minimum": 1, "default": 30},
                    },
                },
            },
            {
                "connection-type": "accurate",
                "hook-class-name": "possync.targets.accurate.hook.AccurateHook",
                "hook-name": "Accurate Online",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login"],
                    "relabeling": {"host": "Account API URL", "password": "API token"},
                    "placeholders": {
                        "host": "https://account.accurate.id",
                        "password": "aat.…  (the API token of the Accurate database)",
                    },
                },
                "conn-fields": {
                    "signature_secret": {
                        "label": "Signature secret",
                        "description": "Signs X-Api-Signature (HMAC-SHA256 of X-Api-Timestamp).",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                    "timeout": {
                        "label": "Request timeout (seconds)",
                        "schema": {"type": ["integer", "null"], "minimum": 1, "default": 30},
                    },
                    "requests_per_second": {
                        "label": "Requests per second",
                        "description": "Accurate allows 8 per second and 8 in flight; requests are paced below it.",
                        "schema": {"type": ["integer", "null"], "minimum": 1, "maximum": 8, "default": 8},
                    },
                    "webhook_secret": {
                        "label": "Webhook secret",
                        "description": "Accurate does not sign webhooks: register the URL "
                                       "<API server>/possync/webhooks/accurate/<integration>?token=<this secret> "
                                       "in Accurate; deliveries with any other token are refused (403).",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                },
            },
        ],
    }
