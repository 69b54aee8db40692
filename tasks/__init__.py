"""Dramatiq broker set-up and actors. Actors open their own sessions and call services."""
