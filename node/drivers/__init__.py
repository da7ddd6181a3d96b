"""trio drivers: the only node code that awaits, holds sockets or reads the runtime's clock.

Each module carries inputs into the pure cores (with the time they happened at) and effects out:

* ``client_server``: ``ClientServer``, one node's client side: the tick task (``node.cron``),
  the events handlers leave (close a client, DEBUG SLEEP, SHUTDOWN, replication changes);
* ``epoll_loop`` / ``stream_server``: the two client connection drivers under it (real
  sockets through a private epoll; any trio Stream, e.g. the in-memory network);
* ``sentinel_failover``: SENTINEL FAILOVER's orchestration over client connections;
* ``bus``: the cluster bus; ``repl_link``: a replica's link to its master; ``migrate_link``:
  MIGRATE's cached blocking connections.

Everything from the outside world (transport, clock, storage, host facts, randomness) comes
from the ``node.runtime.Runtime`` that ``node.app.open_node`` hands them.
"""
