"""Cluster bus state machines (pure): gossip, slot ownership, epochs, failure detection, elections."""
