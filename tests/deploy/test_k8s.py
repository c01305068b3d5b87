"""deploy/k8s: the Deployment, its Service, probes, PodDisruptionBudget and autoscaler; the
migrate Job and the notification CronJob; what they run and where their settings come from."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from tests.deploy.deployfiles import (
    DEPLOY,
    K8S,
    command_name,
    cpu_cores,
    dockerfile_stages,
    exec_form,
    k8s_object,
    k8s_objects,
    parse_cli,
    pod_labels,
    pod_spec,
    selects,
    yaml_documents,
)
from tests.deploy.environments import container_env, k8s_containers

CONTAINERS = k8s_containers()
CONTAINER_IDS = [label for label, _, _ in CONTAINERS]
APP_CONTAINERS = k8s_containers(app_only=True)
IMAGE_CMD = exec_form(next(i for i in dockerfile_stages(DEPLOY / "Dockerfile")[-1] if i.keyword == "CMD").args)
IMAGE_USER = next(i for i in reversed(dockerfile_stages(DEPLOY / "Dockerfile")[-1]) if i.keyword == "USER").args


def deployment():
    return k8s_object("Deployment")


def container_named(name: str):
    (container,) = [c for c in pod_spec(deployment())["containers"] if c["name"] == name]
    return container


def server_container():
    return container_named("authz")


def front_container():
    return container_named("front")


def http_port(container) -> int:
    """The port a container serves: the front's `http`, gunicorn's `app`."""
    ports = {p.get("name"): p["containerPort"] for p in container["ports"]}
    return ports["http"] if "http" in ports else ports["app"]


def resolve_port(container, port) -> int:
    """A probe's or Service's port, by number or by the container port's name."""
    if isinstance(port, int):
        return port
    return {p.get("name"): p["containerPort"] for p in container["ports"]}[port]


# -- files ---------------------------------------------------------------------


def test_every_manifest_is_a_kubernetes_object():
    for path in sorted(K8S.glob("*.yaml")):
        for obj in yaml_documents(path):
            assert {"apiVersion", "kind"} <= set(obj), path.name
            if obj["kind"] != "Kustomization":
                assert obj["metadata"].get("name"), path.name


def test_kustomization_applies_every_manifest_but_the_examples():
    (kustomization,) = yaml_documents(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    examples = {name for name in present if name.endswith(".example.yaml")}
    assert listed == present - examples, "kustomization.yaml resources vs the files in deploy/k8s"
    assert examples, "the example Secrets are there, and never applied"
    images = {image["name"] for image in kustomization["images"]}
    for label, _, container in CONTAINERS:
        assert container["image"].split(":")[0] in images, f"{label}: its image is not set by the kustomization"


def test_referenced_secrets_and_configmaps_exist():
    present = {(o["kind"], o["metadata"]["name"]) for o in k8s_objects()}
    for label, _, container in CONTAINERS:
        for ref in container.get("envFrom", []):
            if "secretRef" in ref:
                assert ("Secret", ref["secretRef"]["name"]) in present, f"{label}: no example for {ref}"
            if "configMapRef" in ref:
                assert ("ConfigMap", ref["configMapRef"]["name"]) in present, label


# -- commands ------------------------------------------------------------------


@pytest.mark.parametrize("label, workload, container", APP_CONTAINERS, ids=[c[0] for c in APP_CONTAINERS])
def test_each_container_runs_a_valid_authz_command(label, workload, container):
    argv = (container.get("command", []) + container.get("args", [])) or IMAGE_CMD
    expected = {"Deployment": "serve", "Job": "migrate", "CronJob": "notify deliver"}[workload["kind"]]
    assert command_name(parse_cli(argv)) == expected, f"{label}: {argv}"


# -- security ------------------------------------------------------------------


@pytest.mark.parametrize("label, workload, container", CONTAINERS, ids=CONTAINER_IDS)
def test_non_root_with_a_read_only_root_filesystem(label, workload, container):
    pod = pod_spec(workload)
    uid, _, gid = IMAGE_USER.partition(":")
    assert pod["securityContext"]["runAsNonRoot"] is True, label
    assert str(pod["securityContext"]["runAsUser"]) == uid, f"{label}: not the image's user"
    assert str(pod["securityContext"].get("runAsGroup", gid)) == gid, label
    assert "securityContext" not in container or "runAsUser" not in container["securityContext"], label
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True, label
    assert security["allowPrivilegeEscalation"] is False, label
    assert security["capabilities"]["drop"] == ["ALL"], label
    # the one writable place: /tmp, from an emptyDir
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    assert "/tmp" in mounts and "emptyDir" in volumes[mounts["/tmp"]], f"{label}: /tmp is not an emptyDir"


# -- the server: ports, probes, Service, PDB, HPA ----------------------------------


def test_container_port_is_gunicorns_port():
    env, _ = container_env(server_container())
    assert http_port(server_container()) == int(env["PORT"])
    annotations = deployment()["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == int(env["PORT"])


def test_the_front_listens_on_the_service_port_and_passes_to_gunicorn():
    """Clients reach gunicorn only through the buffering front (tests/integration/
    test_slow_clients.py shows why), which is rendered from the template in this pod."""
    front, server = front_container(), server_container()
    front_env = {item["name"]: str(item["value"]) for item in front["env"]}
    server_env, _ = container_env(server)
    assert int(front_env["AUTHZ_FRONT_PORT"]) == http_port(front)
    host, port = front_env["AUTHZ_UPSTREAM"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) == int(server_env["PORT"]) != http_port(front)
    mounts = {m["mountPath"]: m["name"] for m in front["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(deployment())["volumes"]}
    templates = volumes[mounts["/etc/nginx/templates"]]["configMap"]["name"]
    assert "emptyDir" in volumes[mounts["/etc/nginx/conf.d"]], "the rendered configuration needs a writable place"
    rendered = k8s_object("ConfigMap", templates)["data"]
    assert rendered == {"authz.conf.template": (DEPLOY / "nginx" / "authz.conf.template").read_text()}, (
        "front-configmap.yaml is not deploy/nginx/authz.conf.template word for word"
    )


def test_the_audit_key_is_a_file_from_its_own_secret():
    """Kept outside the database (whoever writes one must not hold the other), and a file,
    so keys can be rotated (newest first)."""
    env, _ = container_env(server_container())
    assert "AUTHZ_AUDIT_KEY" not in env
    path = PurePosixPath(env["AUTHZ_AUDIT_KEY_FILE"])
    mounts = {m["mountPath"]: m for m in server_container()["volumeMounts"]}
    mount = mounts[str(path.parent)]
    assert mount.get("readOnly") is True
    (volume,) = [v for v in pod_spec(deployment())["volumes"] if v["name"] == mount["name"]]
    secret = k8s_object("Secret", volume["secret"]["secretName"])
    assert path.name in secret["stringData"] and secret["metadata"]["name"] != "authz-db"


def test_probes_ask_real_routes_on_the_http_port(app_routes, client):
    container = server_container()
    probes = {kind: container[kind] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    for kind, probe in probes.items():
        path = probe["httpGet"]["path"]
        assert path in app_routes, f"{kind}: {path} is not a route of the application"
        assert resolve_port(container, probe["httpGet"]["port"]) == http_port(container), kind
        assert client.simulate_get(path).status_code == 200, f"{kind}: {path} on a healthy service"
    # liveness never depends on the database, so a database outage restarts nothing
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    metrics = deployment()["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"]
    assert metrics in app_routes and client.simulate_get(metrics).status_code == 200


def test_service_sends_traffic_to_the_server_pods_only():
    service = k8s_object("Service")
    labels = pod_labels(deployment())
    assert selects(service["spec"]["selector"], labels)
    for obj in k8s_objects():
        if obj["kind"] in ("Job", "CronJob"):
            assert not selects(service["spec"]["selector"], pod_labels(obj)), obj["metadata"]["name"]
    for port in service["spec"]["ports"]:  # to the front, never straight to gunicorn
        assert resolve_port(front_container(), port["targetPort"]) == http_port(front_container())


def test_deployment_selector_matches_its_pods():
    assert selects(deployment()["spec"]["selector"]["matchLabels"], pod_labels(deployment()))


def test_pdb_selects_the_deployment_pods():
    pdb = k8s_object("PodDisruptionBudget")
    selector = pdb["spec"]["selector"]["matchLabels"]
    assert selector == deployment()["spec"]["selector"]["matchLabels"]
    assert selects(selector, pod_labels(deployment()))
    for obj in k8s_objects():
        if obj["kind"] in ("Job", "CronJob"):
            assert not selects(selector, pod_labels(obj)), obj["metadata"]["name"]


def test_hpa_scales_the_deployment_on_cpu():
    hpa = k8s_object("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        "apps/v1",
        "Deployment",
        deployment()["metadata"]["name"],
    )
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
    resources = server_container()["resources"]
    goal = metric["resource"]["target"]
    if goal["type"] == "AverageValue":
        assert 0 < cpu_cores(goal["averageValue"]) < cpu_cores(resources["limits"]["cpu"]), (
            "a target at or above the CPU limit is never reached"
        )
    else:
        assert goal["type"] == "Utilization" and "cpu" in resources["requests"]
    assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_min_replicas_agree_with_the_pdb():
    """A drain never takes the last pods: min replicas less what the PDB lets go still serve,
    and the PDB never blocks a drain outright."""
    hpa = k8s_object("HorizontalPodAutoscaler")["spec"]
    pdb = k8s_object("PodDisruptionBudget")["spec"]
    minimum = hpa["minReplicas"]
    assert minimum >= 2
    if "maxUnavailable" in pdb:
        assert isinstance(pdb["maxUnavailable"], int) and 1 <= pdb["maxUnavailable"] < minimum
    else:
        assert isinstance(pdb["minAvailable"], int) and 1 <= pdb["minAvailable"] < minimum


def test_the_hpa_owns_the_replica_count():
    """With `replicas` in the manifest, every apply would reset what the HPA chose."""
    replicas = deployment()["spec"].get("replicas")
    assert replicas is None, "leave spec.replicas to the HorizontalPodAutoscaler"


def test_cpu_limit_is_one_core_per_worker():
    env, _ = container_env(server_container())
    limit = cpu_cores(server_container()["resources"]["limits"]["cpu"])
    assert limit == int(env["AUTHZ_WORKERS"]), "sync workers: change AUTHZ_WORKERS and the CPU limit together"


# -- notifications ----------------------------------------------------------------


def test_cronjob_delivers_every_minute_without_overlap():
    cronjob = k8s_object("CronJob")
    assert cronjob["apiVersion"] == "batch/v1"
    assert cronjob["spec"]["schedule"].split() == ["*"] * 5
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert pod_spec(cronjob)["restartPolicy"] in ("Never", "OnFailure")


def test_smtp_settings_come_from_the_smtp_secret():
    cronjob = k8s_object("CronJob")
    (container,) = pod_spec(cronjob)["containers"]
    _, origin = container_env(container)
    smtp = ("AUTHZ_SMTP_HOST", "AUTHZ_SMTP_PORT", "AUTHZ_MAIL_FROM")
    sources = {origin.get(name) for name in smtp}
    assert len(sources) == 1 and sources.pop().startswith("Secret/"), (
        f"SMTP settings from {[origin.get(n) for n in smtp]}"
    )
    assert origin["DATABASE_URL"] == "Secret/authz-db"
    secret_name = origin["AUTHZ_SMTP_HOST"].split("/", 1)[1]
    secret = k8s_object("Secret", secret_name)
    assert set(smtp) <= set(secret["stringData"])


def test_database_url_comes_from_the_database_secret():
    for label, _, container in APP_CONTAINERS:
        _, origin = container_env(container)
        assert origin.get("DATABASE_URL") == "Secret/authz-db", label
