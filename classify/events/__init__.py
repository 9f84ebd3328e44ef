"""Clip events: changes announced by the database, fanned out to the streams that watch them."""
