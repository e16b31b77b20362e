"""Validation of case records against the SHACL shapes, and its reports."""
