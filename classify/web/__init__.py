"""HTML pages, an edge run by the web process: thin views over classify/clips and classify/live."""
