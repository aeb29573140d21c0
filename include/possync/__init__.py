"""possync: keeps a retailer's accounting in step with its point-of-sale, on Apache Airflow."""

__version__ = "0.1.0"
