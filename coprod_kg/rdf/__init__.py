"""RDF: IRIs and prefixes, terms, formats and content negotiation, parsing input."""
