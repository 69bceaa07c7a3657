"""Medborgarlöften (citizen promises): data model, reference data, import/export and queries."""
