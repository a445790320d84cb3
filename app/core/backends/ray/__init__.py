"""The Ray backend: an agent per worker on a node, its run streamed back; imported only when Ray is chosen."""
