"""Which model serves: the registry of versions (web and worker), the loader that keeps the
active one in a worker process, and training runs queued to a worker."""
