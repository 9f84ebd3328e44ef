"""Live mode: `sessions` is the web side (open, append chunks, finish into a clip), `tails` the
worker side (classify the newest seconds)."""
