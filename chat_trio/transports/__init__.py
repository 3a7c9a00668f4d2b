"""Thin adapters between the network and ``session.serve_connection``: tcp today."""
