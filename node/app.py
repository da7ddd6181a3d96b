"""Node process assembly: config -> listeners -> serve until SIGTERM or SHUTDOWN.

``open_node`` runs one node inside the caller's trio run (tests may run several per process);
``main`` is what ``python -m node`` and ``rcsim node`` call.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path

import trio

from node.assembly import new_node
from node.config import Config, ConfigError
from node.drivers.client_server import ClientServer
from node.runtime import Runtime
from node.runtime.transport import listener_port
from node.state import NodeState

log = logging.getLogger("rcsim.node")

READY_PREFIX = "RCSIM-READY "


class _RedisLogFormatter(logging.Formatter):
    """Redis's log line shape: ``pid:M 26 Nov 2026 03:13:47.123 * message``."""

    _MARKS = {logging.DEBUG: ".", logging.INFO: "-", logging.WARNING: "#", logging.ERROR: "#"}

    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, "%d %b %Y %H:%M:%S") + ".%03d" % record.msecs
        mark = self._MARKS.get(record.levelno, "*")
        if record.levelno == logging.INFO and getattr(record, "notice", True):
            mark = "*"
        text = f"{os.getpid()}:M {stamp} {mark} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


_LEVELS = {
    "debug": logging.DEBUG,
    "verbose": logging.DEBUG,
    "notice": logging.INFO,
    "warning": logging.WARNING,
    "nothing": logging.CRITICAL + 1,
}


def configure_logging(config: Config) -> None:
    logfile = config.get("logfile")
    handler: logging.Handler = (
        logging.FileHandler(logfile) if logfile else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(_RedisLogFormatter())
    root = logging.getLogger("rcsim")
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS.get(config.get("loglevel"), logging.INFO))
    root.propagate = False


def parse_args(argv: list[str]) -> Config:
    """``[config-file] [--directive value ...]`` as redis-server takes them."""
    config = Config()
    args = list(argv)
    if args and not args[0].startswith("--"):
        path = Path(args.pop(0))
        config.load_file_text(path.read_text())
        config.source_file = str(path.resolve())
    text_lines = []
    current: list[str] = []
    for arg in args:
        if arg.startswith("--"):
            if current:
                text_lines.append(current)
            current = [arg[2:]]
        else:
            current.append(arg)
    if current:
        text_lines.append(current)
    for name, *values in text_lines:
        config.set(name, " ".join(values), startup=True)
    return config


async def open_node(config: Config, runtime: Runtime, task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Bind, report the bound ports through ``task_status``, and serve until cancelled or SHUTDOWN."""
    clock = runtime.clock
    node = new_node(
        config,
        rng=runtime.rng,
        host=runtime.host,
        monotonic_ns=clock.monotonic_ns,
        now_ms=clock.wall_ms(),
    )
    listeners = []
    port = config.get_int("port")
    for host in config.get("bind").split():
        listeners.extend(await runtime.transport.listen(host.lstrip("-"), port))
        if port == 0:
            port = listener_port(listeners[0])
    node.tcp_port = port
    config.values["port"] = str(port)
    server = ClientServer(node, runtime)
    from node.drivers.migrate_link import BlockingMigrateTransport, close_idle_loop

    # MIGRATE's cached links
    node.migrate_transport = BlockingMigrateTransport(runtime.rng, clock.monotonic)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(close_idle_loop, node.migrate_transport)
        if node.cluster_enabled:
            await nursery.start(_start_cluster_bus, node, runtime)
        await nursery.start(server.serve, listeners)
        _follow_configured_master(node)
        task_status.started({"port": port, "node": node, "server": server})
        await server.shutdown_requested.wait()
        nursery.cancel_scope.cancel()


def _follow_configured_master(node: NodeState) -> None:
    """``replicaof <host> <port>`` in the config (standalone mode only, as Redis refuses it in
    cluster mode): become a replica at start-up; the driver's tick starts the link."""
    replicaof = node.config.get("replicaof")
    if not replicaof or node.cluster_enabled:
        return
    from node import replication

    host, port = replicaof.split()
    replication.follow(node, host, int(port))


async def _start_cluster_bus(
    node: NodeState, runtime: Runtime, task_status=trio.TASK_STATUS_IGNORED
) -> None:
    """Cluster mode only: load (or create) nodes.conf, bind the bus port on the client port's
    addresses and run the bus driver (``node.drivers.bus``) until cancelled."""
    from gossip import NodesConfError
    from node.cluster_glue import ClusterGlue, bus_port
    from node.drivers.bus import BusDriver

    config = node.config
    path = Path(config.get("cluster-config-file"))
    text = runtime.storage.read_text(path)
    try:
        glue = ClusterGlue.create(config, node.tcp_port, runtime.rng, runtime.clock.wall_ms(), text)
    except NodesConfError:
        log.warning("Unrecoverable error: corrupted cluster config file.")  # as clusterLoadConfig
        raise
    if text:
        log.info("Node configuration loaded, I'm %.40s", glue.state.my_id)
    glue.attach(node)
    cport = bus_port(config, node.tcp_port)
    listeners = []
    for host in config.get("bind").split():
        listeners.extend(await runtime.transport.listen(host.lstrip("-"), cport))
    driver = BusDriver(node, glue, runtime, path)
    await driver.run(listeners, task_status=task_status)


async def _serve_until_shutdown(
    config: Config, runtime: Runtime, scope: trio.CancelScope, task_status=trio.TASK_STATUS_IGNORED
) -> None:
    """``open_node`` returns after SHUTDOWN; the process then stops too (signal watcher included)."""
    await open_node(config, runtime, task_status=task_status)
    scope.cancel()


async def _run(config: Config) -> None:
    runtime = Runtime.real()
    pidfile = config.get("pidfile")
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:
            info = await nursery.start(_serve_until_shutdown, config, runtime, nursery.cancel_scope)
            if pidfile:
                Path(pidfile).write_text(f"{os.getpid()}\n")
            log.info("rcsim node ready to accept connections tcp on port %d", info["port"])
            print(READY_PREFIX + json.dumps({"port": info["port"], "pid": os.getpid()}), flush=True)

            async def stop_on_signal() -> None:
                async for signum in signals:
                    log.info("Received %s, shutting down.", signal.Signals(signum).name)
                    nursery.cancel_scope.cancel()
                    return

            nursery.start_soon(stop_on_signal)
    if pidfile:
        Path(pidfile).unlink(missing_ok=True)
    log.info("rcsim node is now ready to exit, bye bye...")


def main(argv: list[str] | None = None) -> int:
    try:
        config = parse_args(sys.argv[1:] if argv is None else argv)
    except (ConfigError, OSError) as error:
        print(f"*** FATAL CONFIG FILE ERROR *** {error}", file=sys.stderr)
        return 1
    if config.get("dir") != ".":
        # Before logging starts: a relative logfile, pidfile or dbfilename lives in `dir`.
        try:
            os.chdir(config.get("dir"))
        except OSError as error:
            print(
                f"*** FATAL CONFIG FILE ERROR *** Can't chdir to '{config.get('dir')}': {error}",
                file=sys.stderr,
            )
            return 1
    configure_logging(config)
    trio.run(_run, config)
    return 0
