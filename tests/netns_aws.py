"""A pre-warmed AWS CLI for the namespace test: the real awscli, started once, forked for each call.

awscli v1 (the venv's `aws`) spends about 0.9 s of every call importing botocore and parsing the EC2 model before it
sends a request; the boot script and the watchdogs make dozens of calls, so the module spent most of its time
starting the CLI. This server imports `awscli.clidriver`, parses the JSON data files the EC2, Auto Scaling and
CloudWatch Logs commands read, and then forks once per call. The `aws` on the scripts' PATH (`netns_aws_shim.c`)
sends its argv, environment, working directory, stdin/stdout/stderr and network namespace (SCM_RIGHTS); the forked
child enters that namespace (setns), takes over the fds, environment and directory, and runs
`awscli.clidriver.create_clidriver().main(argv)`: a fresh CLI driver and session, the same commands, options,
retries, timeouts and output, its requests leaving from the calling instance's namespace through the emulated VPC
and internet gateway to moto. Only the start-up is shared. The child's exit status is the shim's.

Run as `python netns_aws.py <socket path>`; prints "ready" once it listens.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import signal
import socket
import sys
from typing import Any

CLONE_NEWNET = 0x40000000
MAX_MESSAGE = 1 << 20


def _warm() -> None:
    """Imports the CLI and keeps the data files it parses and the data directories it lists, for each forked call."""
    import botocore.loaders
    from awscli.clidriver import create_clidriver

    parsed: dict[str, Any] = {}
    load_file = botocore.loaders.JSONFileLoader.load_file

    def load_file_once(self: Any, file_path: str) -> Any:
        # Each call is a forked child: what it changes in a parsed model stays in that child.
        if file_path not in parsed:
            parsed[file_path] = load_file(self, file_path)
        return parsed[file_path]

    listed: dict[tuple[Any, ...], Any] = {}
    list_services = botocore.loaders.Loader.list_available_services

    def list_services_once(self: Any, type_name: str) -> Any:
        # A listing of the data directories (thousands of stat calls): a path that does not exist adds nothing, and
        # one listed twice adds nothing again (the listing is a set; the child's reload of awscli repeats its own).
        key = (type_name, *dict.fromkeys(path for path in self.search_paths if os.path.isdir(path)))
        if key not in listed:
            listed[key] = list_services(self, type_name)
        return listed[key]

    botocore.loaders.JSONFileLoader.load_file = load_file_once  # type: ignore[method-assign]
    botocore.loaders.Loader.list_available_services = list_services_once  # type: ignore[method-assign]
    _remember_handler_checks()
    driver = create_clidriver()
    commands = driver._get_command_table()  # the service commands, as `aws ec2 ...` builds them
    for service in ("ec2", "autoscaling", "logs"):
        operations = commands[service]._get_command_table()
        for operation in operations.values():
            operation.arg_table  # noqa: B018 (reads the operation's input shape)
    # Endpoints, partitions, retry configuration. Credentials are given: without them botocore's chain would ask the
    # instance metadata service from the host's own namespace (a real IMDS on a CI runner that is an EC2 instance).
    driver.session.create_client(
        "ec2", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def _remember_handler_checks() -> None:
    """The two pure lookups each of a session's some 400 handler registrations repeats, a quarter of a call's CPU:
    whether a handler takes **kwargs (an `inspect` signature) and an event name's alias (a walk over every alias).
    Remembered across the calls from the warm-up on, by function and by event name; the answers are the same."""
    import inspect

    import botocore.hooks

    takes_kwargs: dict[Any, Any] = {}

    def accepts_kwargs(func: Any) -> Any:
        function = getattr(func, "__func__", func)
        if not inspect.isfunction(function):  # partials, callable objects: as botocore does
            return inspect.getfullargspec(func)[2]
        if function not in takes_kwargs:
            takes_kwargs[function] = inspect.getfullargspec(func)[2]
        return takes_kwargs[function]

    aliased: dict[str, str] = {}
    aliaser_init = botocore.hooks.EventAliaser.__init__

    def init(self: Any, event_emitter: Any, event_aliases: Any = None) -> None:
        aliaser_init(self, event_emitter, event_aliases)
        if event_aliases is None:  # botocore's own aliases, the same for every session
            self._alias_name_cache = aliased

    botocore.hooks.accepts_kwargs = accepts_kwargs
    botocore.hooks.EventAliaser.__init__ = init  # type: ignore[method-assign]


def _receive(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    data, fds, _, _ = socket.recv_fds(connection, MAX_MESSAGE, 4)
    return json.loads(data), fds


def _enter(netns_fd: int) -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.setns(netns_fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")
    os.close(netns_fd)


def _call(connection: socket.socket) -> None:
    """In the forked child: become the caller (namespace, fds, environment, directory) and run the CLI."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    request, fds = _receive(connection)
    stdin, stdout, stderr, netns_fd = fds
    _enter(netns_fd)
    for number, fd in enumerate((stdin, stdout, stderr)):
        os.dup2(fd, number)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = ["aws", *request["argv"]]
    import importlib

    import awscli
    from awscli.clidriver import create_clidriver

    importlib.reload(awscli)  # its import-time step: AWS_DATA_PATH from the caller's environment

    try:
        status = create_clidriver().main(request["argv"])
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:  # the CLI's own handler let it through: exit as an uncaught error would
        import traceback

        traceback.print_exc()
        status = 255
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    connection.sendall(str(status or 0).encode())
    os._exit(status or 0)


def serve(path: str) -> None:
    _warm()
    # A call is too short-lived to need a collector (it ends in os._exit), and without one a child never walks, nor
    # copies the pages of, the objects the warm-up built.
    gc.disable()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    print("ready", flush=True)
    while True:
        connection, _ = server.accept()
        if os.fork() == 0:
            server.close()
            try:
                _call(connection)
            finally:
                os._exit(255)
        connection.close()


if __name__ == "__main__":
    serve(sys.argv[1])
