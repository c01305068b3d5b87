"""nginx in front of a test server, as deploy/nginx/authz.conf.template sets it up:
started on a free loopback port, stopped after."""

from __future__ import annotations

import os
import shutil
import string
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from authz.config import PROJECT_ROOT
from tests.integration.server import free_port, wait_until

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "authz.conf.template"
WRAPPER = """
daemon off;
worker_processes 1;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    include {prefix}/authz.conf;
}}
"""


@contextmanager
def nginx_front(workdir: Path, upstream_port: int) -> Iterator[str]:
    """The front's base URL, proxying to gunicorn on UPSTREAM_PORT."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        raise RuntimeError("nginx is not installed (apt-get install nginx-light; `make test` does as root)")
    prefix = workdir / "nginx"
    prefix.mkdir()
    port = free_port()
    site = string.Template(TEMPLATE.read_text()).safe_substitute(  # leaves nginx's own $variables
        AUTHZ_FRONT_PORT=f"127.0.0.1:{port}", AUTHZ_UPSTREAM=f"127.0.0.1:{upstream_port}"
    )
    (prefix / "authz.conf").write_text(site)
    # As root, nginx would drop its workers to a user who cannot read this test's files.
    user = "user root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(WRAPPER.format(prefix=prefix, user=user))
    process = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        from tests.integration.server import call

        wait_until(
            lambda: (process.poll() is None and call(base, "GET", "/healthz")[0] == 200) or process.poll(),
            "nginx to answer",
            log=prefix / "error.log",
        )
        assert process.poll() is None, (prefix / "error.log").read_text()
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
