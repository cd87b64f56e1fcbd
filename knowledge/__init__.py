"""Guides (事项办事指南), bundles and cross-province lists: schema, storage, import and export."""
