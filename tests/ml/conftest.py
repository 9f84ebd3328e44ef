"""tests/ml: the plain-Python library (decoding, features, decisions, training, the shipped model):
no database, no Django request, no other process but the CLI's."""
