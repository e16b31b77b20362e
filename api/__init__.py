"""The HTTP front end of coprod-kg (FastAPI): SPARQL protocol, linked data, pages."""
