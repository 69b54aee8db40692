"""Smore: limited-edition drops that convert into live auctions."""
