"""Live updates over server-sent events: channels ``product:{id}`` (and later ``auction:{id}``)."""
