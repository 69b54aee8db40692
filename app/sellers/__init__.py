"""Seller applications and the seller's own dashboard."""
