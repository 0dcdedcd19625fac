"""Test-only lab kit: crash captures, log containers and the fixture module build.

These build the test fixtures (``scripts/gen-crash-fixtures.py``) and are not part of the
installed package."""
