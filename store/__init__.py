"""Persistence: SQLModel tables, the engine/session factory, migrations and queries.

This package imports nothing else of FrontDesk's.
"""
