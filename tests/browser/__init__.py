"""The browser test (a package, like tests/sandbox, so its conftest does not shadow tests/conftest.py)."""
