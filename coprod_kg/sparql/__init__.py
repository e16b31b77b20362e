"""SPARQL: what a query may do, and the barriers a query runs behind."""
