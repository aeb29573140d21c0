"""What several test modules share: Airflow API tokens, and (as they move here) servers and clients."""
