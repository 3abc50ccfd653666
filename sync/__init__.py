"""Sync between county stores and the city server: change capture, merge, protocol, client, server."""
