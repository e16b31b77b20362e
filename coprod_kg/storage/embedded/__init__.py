"""The embedded back end: pyoxigraph stores on local disk and the query workers that read their
snapshot."""
