"""Mijn Avondrood, the client portal of Zorggroep Avondrood (seed 002): care plan, visits, messages with the EVV'er."""

from clients.elderly.app import create_app

__all__ = ["create_app"]
