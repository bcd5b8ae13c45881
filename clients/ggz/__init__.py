"""Mijn Helder, the client portal of GGZ Helder (seed 004): appointments, questionnaires, messages."""

from clients.ggz.app import create_app

__all__ = ["create_app"]
