"""Experiments and reports on top of the serving library and training: command-line leaves that
nothing else imports."""
