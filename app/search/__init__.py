"""Product search: a Whoosh index on disk, fed from product events, read by ``/search``.

``schema`` (fields and analyzers) → ``documents`` (Product → document) → ``index`` (open, write,
cached searcher) ← ``indexer`` (the event handler marks products; batches of marks are written
under one writer by ``indexer_thread``) / ``rebuild`` (from the database); ``query`` (pure: user
input → Whoosh query, filters, sort) → ``service`` (run it, page it, load the products).
"""
