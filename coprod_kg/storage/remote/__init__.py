"""The remote back end: any SPARQL 1.1 server over HTTP."""
