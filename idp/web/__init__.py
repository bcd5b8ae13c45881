"""The web layer: thin views that parse a request, call one service or flow, and render or redirect.

Nothing imports this package but the app factory (idp/__init__.py); see ARCHITECTURE.md for the layers.
"""
