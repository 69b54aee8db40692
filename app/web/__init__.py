"""Web glue shared by every part: templates, forms, pagination, errors, sessions."""
