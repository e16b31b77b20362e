"""Fair use of the public SPARQL endpoint: who a client is, and how much query time it may use."""
