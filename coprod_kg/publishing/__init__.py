"""Publishing: dumps, the VoID description, the ontology's documentation."""
