"""The data model shared by county and city: tables, enums, validators, regions, store and migrations.

Imports nothing else of ours, and nothing of Textual or HTTP.
"""
