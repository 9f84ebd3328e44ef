"""Plumbing every other package stands on, run by web and worker alike: stored files, the task
queue seam, shared-cache limits, ranged responses, health probes, log context. Imports only
classify.models, never a feature package."""
