"""Readers for the spreadsheet exports of provincial item-management systems.

One module per job: ``table`` turns a workbook into numbered rows and checks the
header, ``rules`` fills the schema fields the sheets do not carry, ``guide`` and
``materials`` group the rows of each export format into items. The public entry
points live in ``knowledge.spreadsheet``.
"""
