"""Product search: a Whoosh index on disk, fed from product events, read by ``/search``.

``schema`` (fields and analyzers) → ``documents`` (Product → document) → ``index`` (open, write,
cached searcher) ← ``indexer`` (event handler) / ``rebuild`` (from the database); ``query`` (pure:
user input → Whoosh query, filters, sort) → ``service`` (run it, page it, load the products).
"""
