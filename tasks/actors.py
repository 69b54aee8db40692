"""Every actor module, imported so that ``configure_broker`` and the worker see them all."""
