"""The rcsim node: RESP server, keyspace, data types, commands, persistence, replication."""
