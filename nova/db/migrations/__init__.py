"""Alembic migrations of the nova schema (package data; see env.py)."""
