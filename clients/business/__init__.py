"""The business portal of Zorgverzekeraar Hollandia (seed 001): claims, contracts, its users."""

from clients.business.app import create_app

__all__ = ["create_app"]
