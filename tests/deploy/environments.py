"""The environments the deployment files give the application: one per container,
compose service or systemd unit, each merged the way its runtime merges it."""

from __future__ import annotations

from pathlib import PurePosixPath

from tests.deploy.deployfiles import (
    DEPLOY,
    SYSTEMD,
    environment_file,
    image_env,
    k8s_objects,
    pod_spec,
    unit_file,
    unit_values,
    yaml_documents,
)

WORKLOADS = ("Deployment", "Job", "CronJob")


def k8s_sources() -> dict[tuple[str, str], dict[str, str]]:
    """(kind, name) -> data, for the ConfigMaps and the example Secrets."""
    sources = {}
    for obj in k8s_objects():
        if obj["kind"] == "ConfigMap":
            sources[("ConfigMap", obj["metadata"]["name"])] = {k: str(v) for k, v in obj.get("data", {}).items()}
        elif obj["kind"] == "Secret":
            sources[("Secret", obj["metadata"]["name"])] = {k: str(v) for k, v in obj.get("stringData", {}).items()}
    return sources


def container_env(container: dict) -> tuple[dict[str, str], dict[str, str]]:
    """(environment, where each name comes from) of a container: the image's ENV, then
    envFrom in order, then env (Kubernetes' precedence)."""
    sources = k8s_sources()
    env = dict(image_env())
    origin = {name: "image" for name in env}
    for ref in container.get("envFrom", []):
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in ref:
                name = ref[key]["name"]
                assert (kind, name) in sources, f"{kind} {name} is referenced but not in deploy/k8s"
                for var, value in sources[(kind, name)].items():
                    env[var] = value
                    origin[var] = f"{kind}/{name}"
    for item in container.get("env", []):
        assert "value" in item, f"env {item['name']}: only literal values are used here"
        env[item["name"]] = str(item["value"])
        origin[item["name"]] = "env"
    return env, origin


def k8s_containers(app_only: bool = False) -> list[tuple[str, dict, dict]]:
    """(label, workload, container) of every container in a Deployment, Job or CronJob;
    APP_ONLY: those that run the application's image (not the nginx front)."""
    found = []
    for obj in k8s_objects():
        if obj["kind"] in WORKLOADS:
            for container in pod_spec(obj)["containers"]:
                if app_only and not container["image"].startswith("authz:"):
                    continue
                found.append((f"k8s {obj['kind']}/{obj['metadata']['name']} {container['name']}", obj, container))
    return found


def compose_file() -> dict:
    (doc,) = yaml_documents(DEPLOY / "compose.yaml")
    return doc


def compose_app_services() -> dict[str, dict]:
    """The compose services that run the image built from deploy/Dockerfile."""
    services = {}
    for name, service in compose_file()["services"].items():
        build = service.get("build")
        if isinstance(build, dict) and PurePosixPath(build.get("dockerfile", "")).name == "Dockerfile":
            services[name] = service
    return services


def compose_env(service: dict) -> dict[str, str]:
    env = dict(image_env())
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    env.update({k: str(v) for k, v in environment.items()})
    return env


def systemd_env(unit_name: str) -> dict[str, str]:
    """The environment a unit gets: its EnvironmentFile (the example in deploy/systemd)
    and Environment= lines."""
    unit = unit_file(SYSTEMD / unit_name)
    env: dict[str, str] = {}
    for path in unit_values(unit, "Service", "EnvironmentFile"):
        assert PurePosixPath(path.lstrip("-")).name == "authz.env", path
        env.update(environment_file(SYSTEMD / "authz.env.example"))
    for line in unit_values(unit, "Service", "Environment"):
        for pair in line.split():
            name, _, value = pair.partition("=")
            env[name] = value.strip("\"'")
    return env


def all_environments() -> list[tuple[str, dict[str, str]]]:
    """(where, environment) for everything that runs the application."""
    envs = [("image", image_env())]
    envs += [(label, container_env(c)[0]) for label, _, c in k8s_containers(app_only=True)]
    envs += [(f"compose {name}", compose_env(s)) for name, s in compose_app_services().items()]
    envs += [(f"systemd {p.name}", systemd_env(p.name)) for p in sorted(SYSTEMD.glob("*.service"))]
    return envs
