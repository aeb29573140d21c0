"""Tests of the local API emulators, over real HTTP."""
