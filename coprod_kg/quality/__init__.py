"""Quality of the ontology and the graph: hygiene rules and competency questions."""
