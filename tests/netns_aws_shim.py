"""`aws` on the namespace test's script PATH: hands the call to the pre-warmed CLI of `netns_aws.py`.

Run with `python -I -S` (no site, nothing but the standard library): it starts in milliseconds. It sends its argv,
environment, directory, stdin/stdout/stderr and network namespace to the server, whose forked child runs the real
AWS CLI as this process, and exits with the child's status. It appends its argv to $TINYSTACK_ROOT/aws.calls, so the
test can count and inspect each instance's calls.
"""

import json
import os
import socket
import sys

server = os.environ.pop("TINYSTACK_TEST_AWS_SERVER")
request = {"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}
if "TINYSTACK_ROOT" in os.environ:  # the test counts and inspects the calls each instance made
    with open(os.path.join(os.environ["TINYSTACK_ROOT"], "aws.calls"), "a") as calls:
        calls.write(" ".join(sys.argv[1:]) + "\n")
netns = os.open("/proc/self/ns/net", os.O_RDONLY)
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
    connection.connect(server)
    socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2, netns])
    os.close(netns)
    status = connection.recv(16)
sys.exit(int(status) if status else 255)  # no status: the call was killed (as the instance was)
