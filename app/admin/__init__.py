"""Administration pages: seller applications, member moderation."""
