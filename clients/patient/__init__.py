"""The patient portal of Huisartsenpraktijk De Linde (seed 003): appointments, questions, repeats, results."""

from clients.patient.app import create_app

__all__ = ["create_app"]
