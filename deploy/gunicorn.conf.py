"""gunicorn settings for the authz service. HOST, PORT and AUTHZ_WORKERS override.

Sync workers: pycasbin was seen failing under threads, and a check is CPU-bound
and short, so processes are the right unit. Each worker builds its own service."""

import os
import shutil
import tempfile

wsgi_app = "api.app:get_app()"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("AUTHZ_WORKERS", "2"))
# gunicorn's sync worker with a deadline on reading each request (api/worker.py).
worker_class = "api.worker.ReadDeadlineWorker"
timeout = 30
# The longest request line gunicorn reads (its maximum): a site number and a login id in the path,
# each up to 320 characters (12 bytes each once percent-encoded), fit; longer lines are 414.
limit_request_line = 8190
graceful_timeout = 10
accesslog = os.environ.get("AUTHZ_ACCESS_LOG") or None  # "-" for stdout; off by default for speed
errorlog = "-"
control_socket_disable = True  # gunicorn 27's control socket wants a writable $HOME; we don't use it

# Prometheus multiprocess mode: must be set before any worker imports prometheus_client.
_metrics_dir_owned = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _metrics_dir_owned:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="authz-metrics-")


# Shared by this server's workers: last good policy snapshots, per-worker status.
_state_dir_owned = "AUTHZ_STATE_DIR" not in os.environ
if _state_dir_owned:
    os.environ["AUTHZ_STATE_DIR"] = tempfile.mkdtemp(prefix="authz-state-")


def on_starting(server):
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):  # values of a previous run must not be summed in
        os.unlink(os.path.join(path, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    from authz.decisions.reload import forget_worker

    multiprocess.mark_process_dead(worker.pid)
    forget_worker(os.environ["AUTHZ_STATE_DIR"], worker.pid)


def on_exit(server):
    if _metrics_dir_owned:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    if _state_dir_owned:
        shutil.rmtree(os.environ["AUTHZ_STATE_DIR"], ignore_errors=True)
