"""The django-q2 worker process: its tasks, each process's start-up and lease keeper, and the
clip processing a task runs. Nothing in the web process imports this package."""
