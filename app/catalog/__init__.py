"""Catalog: categories (a tree of their own) and, later, products."""
