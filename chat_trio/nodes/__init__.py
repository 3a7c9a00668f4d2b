"""Several nodes, one chat: what joins this node to its peers through Redis."""
