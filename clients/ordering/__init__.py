"""The ordering portal for medical supplies (seed 000): professionals order for clients, end users reorder."""

from clients.ordering.app import create_app

__all__ = ["create_app"]
