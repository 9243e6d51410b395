"""Shared pytest set-up. Area fixtures live in each tests/<area>/conftest.py."""
