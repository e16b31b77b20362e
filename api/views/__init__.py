"""View models of the web pages: plain data from the store, no HTTP here."""
